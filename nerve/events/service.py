"""Read the event store with filters and cursor pagination."""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, func, or_, select

from nerve.errors import InvalidInput
from nerve.events.models import Event
from nerve.workspaces import service as workspaces


@dataclass(frozen=True)
class EventFilter:
    source: str | None = None
    type: str | None = None
    event: str | None = None
    user_id: str | None = None
    anonymous_id: str | None = None
    since: datetime | None = None
    until: datetime | None = None


def encode_cursor(last_id: int) -> str:
    return base64.urlsafe_b64encode(f"e:{last_id}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> int:
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        kind, _, value = text.partition(":")
        if kind != "e":
            raise ValueError(kind)
        return int(value)
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise InvalidInput("invalid cursor", details={"cursor": cursor}) from None


def list_events(
    conn: Connection, workspace_id: str, where: EventFilter, limit: int, cursor: str | None
) -> tuple[list[dict[str, Any]], str | None]:
    query = select(Event.id, Event.source_id, Event.payload).where(
        Event.workspace_id == workspace_id
    )
    if where.source:
        query = query.where(
            Event.source_id.in_(workspaces.source_ids(conn, workspace_id, where.source))
        )
    if where.type:
        query = query.where(Event.type == where.type)
    if where.event:
        query = query.where(Event.event == where.event)
    if where.user_id:
        query = query.where(Event.user_id == where.user_id)
    if where.anonymous_id:
        query = query.where(Event.anonymous_id == where.anonymous_id)
    if where.since:
        query = query.where(Event.timestamp >= where.since)
    if where.until:
        query = query.where(Event.timestamp < where.until)
    if cursor:
        query = query.where(Event.id > decode_cursor(cursor))
    rows = conn.execute(query.order_by(Event.id).limit(limit + 1)).all()
    page = rows[:limit]
    events = [{"id": row.id, "sourceId": row.source_id, **row.payload} for row in page]
    next_cursor = encode_cursor(page[-1].id) if len(rows) > limit else None
    return events, next_cursor


def of_profiles(
    conn: Connection, profile_ids: list[str], limit: int, after: tuple[datetime, int] | None
) -> tuple[list[dict[str, Any]], tuple[datetime, int] | None]:
    """Events attached to any of `profile_ids` (a person's timeline), in event-time order,
    a page after the cursor `after` (timestamp, id)."""
    query = select(Event.id, Event.source_id, Event.timestamp, Event.payload).where(
        Event.profile_id.in_(profile_ids)
    )
    if after is not None:
        at, event_id = after
        query = query.where(
            or_(Event.timestamp > at, (Event.timestamp == at) & (Event.id > event_id))
        )
    rows = conn.execute(query.order_by(Event.timestamp, Event.id).limit(limit + 1)).all()
    page = rows[:limit]
    events = [{"id": r.id, "sourceId": r.source_id, **r.payload} for r in page]
    last = (page[-1].timestamp, page[-1].id) if len(rows) > limit else None
    return events, last


def unresolved_count(conn: Connection) -> int:
    """Events not yet attached to a profile, in every workspace (counted on the small index of
    unresolved events)."""
    return (
        conn.scalar(select(func.count()).select_from(Event).where(Event.profile_id.is_(None))) or 0
    )
