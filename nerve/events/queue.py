"""The queue of stored events waiting for identity resolution, and their attachment."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, bindparam, update

from nerve.db.dialect import Dialect
from nerve.events.models import Event


@dataclass(frozen=True)
class PendingEvent:
    id: int
    workspace_id: str
    source_id: str
    timestamp: datetime
    received_at: datetime
    payload: dict[str, Any]


_COLUMNS = (Event.id, Event.workspace_id, Event.source_id, Event.timestamp, Event.received_at,
            Event.payload)  # fmt: skip


def claim_unresolved(conn: Connection, dialect: Dialect, limit: int) -> list[PendingEvent]:
    """The oldest events not attached to a profile yet that no other resolver holds, locked
    for this transaction."""
    return [PendingEvent(*row) for row in dialect.claim_unresolved_events(conn, _COLUMNS, limit)]


def attach(conn: Connection, profile_of: dict[int, str]) -> None:
    """Attach each event (by id) to its (leaf) profile: it leaves the queue."""
    if profile_of:
        conn.execute(
            update(Event)
            .where(Event.id == bindparam("b_id"))
            .values(profile_id=bindparam("b_profile")),
            [{"b_id": event, "b_profile": profile} for event, profile in profile_of.items()],
        )
