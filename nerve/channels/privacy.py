"""Personal data in the message log: what was sent to whom, when."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, delete, select

from nerve.channels.models import Message
from nerve.privacy.subject import PersonalData, Subject


def _export(conn: Connection, subject: Subject) -> list[dict[str, Any]]:
    rows = conn.execute(
        select(Message)
        .where(Message.profile_id.in_(subject.profile_ids))
        .order_by(Message.created_at)
    )
    return [dict(row._mapping) for row in rows]


def _erase(conn: Connection, subject: Subject) -> None:
    # The erased addresses stay suppressed by their keyed hashes (erased_identifiers).
    conn.execute(delete(Message).where(Message.profile_id.in_(subject.profile_ids)))


MESSAGES = PersonalData("messages", ("messages",), erase=_erase, export=_export)
