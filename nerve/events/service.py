"""Read the event store with filters and cursor pagination."""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, or_, select

from nerve.errors import InvalidInput
from nerve.events.models import Event
from nerve.workspaces.models import Source


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
        source_ids = select(Source.id).where(
            Source.workspace_id == workspace_id,
            or_(Source.id == where.source, Source.name == where.source),
        )
        query = query.where(Event.source_id.in_(source_ids))
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
