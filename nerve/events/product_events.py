"""Product events (`Product Viewed`, `Product Added`, ...) as the recommendations read them:
every one of a workspace since a time (training streams them) and one person's latest."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, select

from nerve.events.models import Event

_STREAM = 5000


def since(
    conn: Connection, workspace_id: str, names: Sequence[str], moment: datetime
) -> Iterator[tuple[str, str, dict[str, Any]]]:
    """(profile id, event name, properties) of the attached events named `names` since
    `moment`."""
    query = select(Event.profile_id, Event.event, Event.payload).where(
        Event.workspace_id == workspace_id, Event.event.in_(list(names)),
        Event.timestamp >= moment, Event.profile_id.is_not(None),
    )  # fmt: skip
    for profile_id, name, payload in conn.execution_options(yield_per=_STREAM).execute(query):
        properties = payload.get("properties") if isinstance(payload, dict) else None
        yield profile_id, name, properties if isinstance(properties, dict) else {}


def latest(
    conn: Connection, profile_ids: Sequence[str], names: Sequence[str], limit: int
) -> list[tuple[str, datetime, dict[str, Any]]]:
    """(event name, time, properties) of these profiles' (one person's) latest `limit` events
    named `names`, newest first."""
    if not profile_ids:
        return []
    query = (
        select(Event.event, Event.timestamp, Event.payload)
        .where(Event.profile_id.in_(list(profile_ids)), Event.event.in_(list(names)))
        .order_by(Event.timestamp.desc())
        .limit(limit)
    )
    found = []
    for name, at, payload in conn.execute(query):
        properties = payload.get("properties") if isinstance(payload, dict) else None
        found.append((name, at, properties if isinstance(properties, dict) else {}))
    return found
