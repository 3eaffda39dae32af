"""Nerve's own events about a person: an order paid, a cart changed, a parcel delayed.

They go into the event store like a head's, from one of Nerve's own sources (its write key
revoked: no head can send as Nerve), in the caller's transaction — so the fact and its event
commit together — and then through identity resolution and the attached-event pipeline like
any other: on the timeline, to flows as triggers. A repeated `message_id` is stored once.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Connection

from nerve.db.dialect import dialect_of
from nerve.errors import InvalidInput
from nerve.tracking.normalize import Envelope, normalize_message
from nerve.workspaces import service as workspaces

# Nerve's own events are small; a bound keeps a runaway mapping from storing megabytes.
_MAX_EVENT_BYTES = 64 * 1024


@dataclass(frozen=True)
class Person:
    """How an own event names its person: a user id or an anonymous id (at least one, as
    the Segment spec asks), and traits that identity resolution links by (email, phone)."""

    user_id: str | None = None
    anonymous_id: str | None = None
    traits: dict[str, Any] = field(default_factory=dict)


def record(
    conn: Connection, workspace_id: str, source_name: str, person: Person, name: str,
    properties: dict[str, Any], at: datetime, message_id: str,
) -> None:  # fmt: skip
    """Store one track event `name` about `person` from the own source `source_name`
    ("Nerve orders"); a second call with the same `message_id` stores nothing."""
    message: dict[str, Any] = {
        "type": "track", "event": name, "messageId": message_id,
        "timestamp": at.isoformat(), "properties": properties,
        "context": {"library": {"name": "nerve", "version": source_name}},
    }  # fmt: skip
    if person.traits:
        message["context"]["traits"] = person.traits
    _store(conn, workspace_id, source_name, person, message, at)


def identify(
    conn: Connection, workspace_id: str, source_name: str, person: Person, at: datetime,
    message_id: str,
) -> None:  # fmt: skip
    """Store an identify of `person` setting `person.traits` (a shop's new customer: email,
    phone, name), from the own source `source_name`; a repeated `message_id` stores nothing."""
    message: dict[str, Any] = {
        "type": "identify", "messageId": message_id, "timestamp": at.isoformat(),
        "traits": person.traits,
        "context": {"library": {"name": "nerve", "version": source_name}},
    }  # fmt: skip
    _store(conn, workspace_id, source_name, person, message, at)


def _store(
    conn: Connection, workspace_id: str, source_name: str, person: Person,
    message: dict[str, Any], at: datetime,
) -> None:  # fmt: skip
    if not person.user_id and not person.anonymous_id:
        raise InvalidInput("an event needs a user id or an anonymous id")
    if person.user_id:
        message["userId"] = person.user_id
    if person.anonymous_id:
        message["anonymousId"] = person.anonymous_id
    source_id = workspaces.own_source(conn, workspace_id, source_name)
    row, _ = normalize_message(message, None, Envelope(workspace_id, source_id, at),
                               _MAX_EVENT_BYTES)  # fmt: skip
    dialect_of(conn).insert_events(conn, [row])
