"""What a `slack` node's `with` says beside the options every send has: the destination, a
name the workspace has (`nerve slack add NAME URL`)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection

from nerve.channels.slack import destinations

# The options of a `slack` node's `with` beside the ones every send has.
PARAMETERS: tuple[str, ...] = ("destination",)


def parameter_problems(params: dict[str, Any]) -> list[dict[str, str]]:
    """Problems of the node's own options, paths under `with` (no database needed)."""
    destination = params.get("destination")
    if destination is None:
        return [{"path": "destination", "reason": "name the Slack destination to post to "
                 "(destination: team-alerts; `nerve slack add NAME URL` makes one)"}]  # fmt: skip
    if not isinstance(destination, str) or not destinations.NAME.fullmatch(destination):
        return [{"path": "destination", "reason": f"a destination's name is "
                 f"{destinations.NAME_RULE}"}]  # fmt: skip
    return []


def unknown_references(
    conn: Connection, workspace_id: str, params: dict[str, Any]
) -> list[dict[str, str]]:
    """At publishing: the destination must exist in the workspace (paths under `with`)."""
    name = params.get("destination")
    if isinstance(name, str) and not destinations.exists(conn, workspace_id, name):
        return [{"path": "destination", "reason": f"no Slack destination named {name!r}: add "
                 f"it first (nerve slack add {name} URL)"}]  # fmt: skip
    return []
