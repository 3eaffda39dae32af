"""The queue of stored events waiting for identity resolution, and their attachment (the SQL is
the dialect's: it is the resolver's hottest)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection

from nerve.db.dialect import Dialect


@dataclass(frozen=True)
class PendingEvent:
    id: int
    workspace_id: str
    source_id: str
    timestamp: datetime
    received_at: datetime
    payload: dict[str, Any]


def claim_unresolved(conn: Connection, dialect: Dialect, limit: int) -> list[PendingEvent]:
    """The oldest events not attached to a profile yet that no other resolver holds, locked
    for this transaction."""
    return [PendingEvent(*row) for row in dialect.claim_unresolved_events(conn, limit)]


def attach(conn: Connection, dialect: Dialect, profile_of: dict[int, str]) -> None:
    """Attach each event (by id) to its (leaf) profile: it leaves the queue."""
    if profile_of:
        dialect.attach_events(conn, [(profile, event) for event, profile in profile_of.items()])
