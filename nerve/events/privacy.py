"""Personal data in the event store: every event attached to the person or sent with their ids."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, delete, or_, select

from nerve.events.models import Event
from nerve.privacy.subject import PersonalData, Subject


def _export(conn: Connection, subject: Subject) -> list[dict[str, Any]]:
    rows = conn.execute(
        select(Event.id, Event.source_id, Event.payload)
        .where(Event.profile_id.in_(subject.profile_ids))
        .order_by(Event.timestamp, Event.id)
    )
    return [{"id": r.id, "sourceId": r.source_id, **r.payload} for r in rows]


def _erase(conn: Connection, subject: Subject) -> None:
    # Also events not yet attached that carry the person's ids: they would bring them back.
    conn.execute(
        delete(Event).where(
            Event.workspace_id == subject.workspace_id,
            or_(
                Event.profile_id.in_(subject.profile_ids),
                Event.user_id.in_(subject.values("user_id")),
                Event.anonymous_id.in_(subject.values("anonymous_id")),
            ),
        )
    )


EVENTS = PersonalData("events", ("events",), erase=_erase, export=_export)
