"""Slack: team alerts through incoming-webhook URLs, with Block Kit messages from templates."""

from __future__ import annotations

from typing import Any

# The options of a `slack` node's `with` beside the ones every send has.
PARAMETERS: tuple[str, ...] = ()


def parameter_problems(params: dict[str, Any]) -> list[dict[str, str]]:
    return []
