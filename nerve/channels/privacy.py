"""Personal data of the channels: the message log — what was sent to whom, when — to the
person's profiles and to their addresses where a send named only the address (the transactional
API's `to.email`, a double opt-in's confirmation, a test send, an SMS to a number); what they
left on the preference page; and their push subscriptions."""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, Connection, and_, delete, or_, select, tuple_

from nerve.channels.models import Message, OptOut
from nerve.channels.push.models import PushSubscription
from nerve.privacy.subject import PersonalData, Subject


def _theirs(subject: Subject) -> ColumnElement[bool]:
    addresses = [email.lower() for email in subject.values("email")] + subject.values("phone")
    by_address = and_(
        Message.workspace_id == subject.workspace_id, Message.recipient.in_(addresses)
    )
    return or_(Message.profile_id.in_(subject.profile_ids), by_address)


def _export(conn: Connection, subject: Subject) -> list[dict[str, Any]]:
    rows = conn.execute(select(Message).where(_theirs(subject)).order_by(Message.created_at))
    return [dict(row._mapping) for row in rows]


def _erase(conn: Connection, subject: Subject) -> None:
    # The erased addresses stay suppressed by their keyed hashes (erased_identifiers).
    conn.execute(delete(Message).where(_theirs(subject)))


MESSAGES = PersonalData("messages", ("messages",), erase=_erase, export=_export)


def _opt_outs(subject: Subject) -> ColumnElement[bool]:
    return and_(
        OptOut.workspace_id == subject.workspace_id, OptOut.profile_id.in_(subject.profile_ids)
    )


def _export_opt_outs(conn: Connection, subject: Subject) -> list[dict[str, Any]]:
    rows = conn.execute(select(OptOut).where(_opt_outs(subject)).order_by(OptOut.created_at))
    return [dict(row._mapping) for row in rows]


def _erase_opt_outs(conn: Connection, subject: Subject) -> None:
    conn.execute(delete(OptOut).where(_opt_outs(subject)))


OPT_OUTS = PersonalData("opt_outs", ("opt_outs",), erase=_erase_opt_outs, export=_export_opt_outs)


def _subscriptions(subject: Subject) -> ColumnElement[bool]:
    pairs = [(kind, value) for kind, value in subject.identifiers]
    return and_(
        PushSubscription.workspace_id == subject.workspace_id,
        tuple_(PushSubscription.identifier_type, PushSubscription.identifier_value).in_(pairs),
    )


def _export_subscriptions(conn: Connection, subject: Subject) -> list[dict[str, Any]]:
    if not subject.identifiers:
        return []
    columns = (PushSubscription.kind, PushSubscription.endpoint, PushSubscription.user_agent,
               PushSubscription.identifier_type, PushSubscription.identifier_value,
               PushSubscription.created_at, PushSubscription.last_sent_at)  # fmt: skip
    rows = conn.execute(select(*columns).where(_subscriptions(subject)))
    return [dict(row._mapping) for row in rows]


def _erase_subscriptions(conn: Connection, subject: Subject) -> None:
    if subject.identifiers:
        conn.execute(delete(PushSubscription).where(_subscriptions(subject)))


PUSH_SUBSCRIPTIONS = PersonalData(
    "push_subscriptions", ("push_subscriptions",), erase=_erase_subscriptions,
    export=_export_subscriptions,
)  # fmt: skip
