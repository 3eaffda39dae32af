"""Comparing JSON documents by the values their numbers denote (`nerve.numbers`)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any


def exact_values(value: Any) -> Any:
    """Numbers as the exact values they denote, whatever their Python type (a float as its
    shortest digits, an int or a Decimal as itself)."""
    if isinstance(value, dict):
        return {key: exact_values(item) for key, item in value.items()}
    if isinstance(value, list):
        return [exact_values(item) for item in value]
    if isinstance(value, float | int | Decimal) and not isinstance(value, bool):
        return Decimal(repr(value)) if isinstance(value, float) else Decimal(value)
    return value
