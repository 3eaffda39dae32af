"""Reading a shop's payload: each field that a mapping needs, or a `MappingError` saying
which one is missing or wrong (the dead letter's reason)."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from nerve.db.money import MoneyError, money


class MappingError(ValueError):
    """The payload cannot be mapped: an unknown topic, a missing or malformed field."""


def required(document: Any, *path: str) -> Any:
    value = optional(document, *path)
    if value is None or value == "":
        raise MappingError(f"{'.'.join(path)} is missing")
    return value


def optional(document: Any, *path: str) -> Any:
    for key in path:
        if not isinstance(document, dict):
            return None
        document = document.get(key)
    return document


def identifier(document: Any, *path: str) -> str:
    """An id (Shopify's are numbers, Shopware's hex strings) as text."""
    value = required(document, *path)
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise MappingError(f"{'.'.join(path)} is not an id: {value!r}")
    return str(value)[:255]


def text(document: Any, *path: str) -> str | None:
    value = optional(document, *path)
    if value is None or value == "":
        return None
    if isinstance(value, bool) or not isinstance(value, str | int | Decimal):
        raise MappingError(f"{'.'.join(path)} is not text: {value!r}")
    return str(value)


def amount(document: Any, *path: str, default: Decimal | None = None) -> Decimal:
    """Exact money: Shopify and WooCommerce send strings ("19.99"), Shopware numbers (read as
    Decimal, never as float)."""
    value = optional(document, *path)
    if value is None or value == "":
        if default is not None:
            return default
        raise MappingError(f"{'.'.join(path)} is missing")
    try:
        return money(value)
    except MoneyError as exc:
        raise MappingError(f"{'.'.join(path)}: {exc}") from None


def quantity(document: Any, *path: str) -> int:
    value = required(document, *path)
    if isinstance(value, bool) or not isinstance(value, int | str | Decimal):
        raise MappingError(f"{'.'.join(path)} is not a whole number: {value!r}")
    try:
        number = Decimal(str(value))
    except ArithmeticError:
        raise MappingError(f"{'.'.join(path)} is not a whole number: {value!r}") from None
    if number != number.to_integral_value():
        raise MappingError(f"{'.'.join(path)} is not a whole number: {value!r}")
    return int(number)


def moment(document: Any, *path: str, default: datetime | None = None) -> datetime:
    """An ISO 8601 time; one without an offset is UTC (WooCommerce's `date_created_gmt`)."""
    value = optional(document, *path)
    if value is None or value == "":
        if default is not None:
            return default
        raise MappingError(f"{'.'.join(path)} is missing")
    if isinstance(value, int) and not isinstance(value, bool):
        return datetime.fromtimestamp(value, UTC)
    if not isinstance(value, str):
        raise MappingError(f"{'.'.join(path)} is not a time: {value!r}")
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise MappingError(f"{'.'.join(path)} is not an ISO 8601 time: {value!r}") from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def currency(document: Any, *path: str) -> str:
    value = required(document, *path)
    if not isinstance(value, str) or not (3 <= len(value) <= 8):
        raise MappingError(f"{'.'.join(path)} is not a currency code: {value!r}")
    return value.upper()


def listed(document: Any, *path: str) -> list[Any]:
    value = optional(document, *path)
    if value is None:
        return []
    if not isinstance(value, list):
        raise MappingError(f"{'.'.join(path)} is not a list")
    return value


def first_moment(document: Any, *keys: str) -> datetime:
    """The first of these top-level times that the payload has."""
    for key in keys:
        if optional(document, key) not in (None, ""):
            return moment(document, key)
    raise MappingError(f"{' or '.join(keys)} is missing")
