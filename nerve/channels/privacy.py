"""Personal data in the message log: what was sent to whom, when — to the person's profiles,
and to their addresses where a send named only the address (the transactional API's `to.email`,
a double opt-in's confirmation, a test send)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, Connection, and_, delete, or_, select

from nerve.channels.models import Message
from nerve.privacy.subject import PersonalData, Subject


def _theirs(subject: Subject) -> ColumnElement[bool]:
    by_address = and_(
        Message.workspace_id == subject.workspace_id,
        Message.recipient.in_([email.lower() for email in subject.values("email")]),
    )
    return or_(Message.profile_id.in_(subject.profile_ids), by_address)


def _export(conn: Connection, subject: Subject) -> list[dict[str, Any]]:
    rows = conn.execute(select(Message).where(_theirs(subject)).order_by(Message.created_at))
    return [dict(row._mapping) for row in rows]


def _erase(conn: Connection, subject: Subject) -> None:
    # The erased addresses stay suppressed by their keyed hashes (erased_identifiers).
    conn.execute(delete(Message).where(_theirs(subject)))


MESSAGES = PersonalData("messages", ("messages",), erase=_erase, export=_export)
