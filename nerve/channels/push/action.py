"""What a `send_push` node's `with` may say beside the options every send has."""

from __future__ import annotations

from typing import Any

PARAMETERS: tuple[str, ...] = ()


def parameter_problems(params: dict[str, Any]) -> list[dict[str, str]]:
    return []
