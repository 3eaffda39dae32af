"""Read the event store with filters and cursor pagination."""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from datetime import UTC, datetime
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


# Event ids are 64-bit; a larger one in a forged cursor could not even be bound to the query.
MAX_EVENT_ID = 2**63 - 1


def decode_cursor(cursor: str) -> int:
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        kind, _, value = text.partition(":")
        last_id = int(value)
        if kind != "e" or not 0 <= last_id <= MAX_EVENT_ID:
            raise ValueError(kind)
        return last_id
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise InvalidInput("invalid cursor", details={"cursor": cursor}) from None


def in_utc(moment: datetime, name: str) -> datetime:
    """A time from a query in UTC; without a zone it is taken as UTC, as the Tracking API takes
    a message's time."""
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    try:
        return moment.astimezone(UTC)
    except OverflowError:  # 0001-01-01T00:00:00+01:00 lies in year 0
        raise InvalidInput(f"{name} is out of range", details={name: str(moment)}) from None


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
        query = query.where(Event.timestamp >= in_utc(where.since, "since"))
    if where.until:
        query = query.where(Event.timestamp < in_utc(where.until, "until"))
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


def named_of_profiles(
    conn: Connection, profile_ids: list[str], names: list[str], since: datetime | None
) -> list[tuple[str, str, datetime, dict[str, Any]]]:
    """(profile id, event name, timestamp, properties) of the track events named `names`
    attached to these profiles, at or after `since` when given (segments count them)."""
    found: list[tuple[str, str, datetime, dict[str, Any]]] = []
    if not profile_ids or not names:
        return found
    for start in range(0, len(profile_ids), 2000):
        query = select(Event.profile_id, Event.event, Event.timestamp, Event.payload).where(
            Event.profile_id.in_(profile_ids[start : start + 2000]), Event.event.in_(names)
        )
        if since is not None:
            query = query.where(Event.timestamp >= since)
        for row in conn.execute(query):
            properties = row.payload.get("properties") if isinstance(row.payload, dict) else None
            found.append((row.profile_id, row.event, row.timestamp,
                          properties if isinstance(properties, dict) else {}))  # fmt: skip
    return found


def unresolved_count(conn: Connection) -> int:
    """Events not yet attached to a profile, in every workspace (counted on the small index of
    unresolved events)."""
    return (
        conn.scalar(select(func.count()).select_from(Event).where(Event.profile_id.is_(None))) or 0
    )
