"""The message log: one row per send, keyed by its idempotency key, moved through its states."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, func, insert, literal, select, update

from nerve.channels.models import Message
from nerve.db.base import new_id, utcnow

STATUSES = ("queued", "deferred", "sent", "skipped", "failed", "bounced")
# A send in one of these is not over: its next attempt goes on with the same row.
OPEN = ("queued", "deferred")
# Where a later attempt of a send goes on with its row: an open one, or one that failed (never
# delivered: the provider refused it, or its step was dead-lettered) — a replay after the cause
# was fixed.
AGAIN = (*OPEN, "failed")
# Where a sent message goes when it is read: opened, then clicked (never back, never from
# bounced or a later complaint).
ENGAGED = {"opened": ("sent",), "clicked": ("sent", "opened")}
# Every status a logged message can have (feedback adds complained).
ALL_STATUSES = (*STATUSES, "opened", "clicked", "complained")


@dataclass(frozen=True)
class Logged:
    id: str
    message_id: str
    status: str
    reason: str | None
    recipient: str | None = None


def message_id(idempotency_key: str, domain: str) -> str:
    """The RFC 5322 Message-ID of a send: the same for every attempt of the same send, so a
    message delivered twice after a crash is recognisably one message."""
    digest = hashlib.sha256(idempotency_key.encode()).hexdigest()[:40]
    return f"<{digest}@{domain}>"


def channel_message_id(channel: str, idempotency_key: str) -> str:
    """The id of a send on a channel other than email, the same on every attempt (providers
    get it to drop a copy where they can)."""
    return f"{channel}-{hashlib.sha256(idempotency_key.encode()).hexdigest()[:32]}"


def find(conn: Connection, workspace_id: str, idempotency_key: str) -> Logged | None:
    return _find(conn, workspace_id, idempotency_key)


def found_many(conn: Connection, workspace_id: str, keys: list[str]) -> dict[str, Logged]:
    """The sends already logged under these idempotency keys, in one query."""
    if not keys:
        return {}
    rows = conn.execute(
        select(Message.idempotency_key, Message.id, Message.message_id, Message.status,
               Message.reason)
        .where(Message.workspace_id == workspace_id, Message.idempotency_key.in_(keys))
    )  # fmt: skip
    return {r.idempotency_key: Logged(r.id, r.message_id, r.status, r.reason) for r in rows}


def begin(
    conn: Connection,
    workspace_id: str,
    idempotency_key: str,
    logged_id: str | None = None,
    **values: Any,
) -> Logged:
    """The send's row: the existing one for this key, else a new `queued` one."""
    found = _find(conn, workspace_id, idempotency_key)
    if found is not None:
        return found
    logged_id = logged_id or new_id("msg")
    row = {"id": logged_id, "workspace_id": workspace_id, "idempotency_key": idempotency_key,
           "status": "queued", **values}  # fmt: skip
    conn.execute(insert(Message), row)
    return Logged(logged_id, values["message_id"], "queued", None)


def finish(
    conn: Connection, logged_id: str, status: str, reason: str | None = None,
    details: dict[str, Any] | None = None,
) -> None:  # fmt: skip
    assert status in STATUSES
    now = utcnow()
    values: dict[str, Any] = {"status": status, "reason": reason and reason[:1000],
                              "updated_at": now}  # fmt: skip
    if details is not None:
        values["details"] = details
    if status == "sent":
        values["sent_at"] = now
    conn.execute(update(Message).where(Message.id == logged_id).values(**values))


def dead_lettered(conn: Connection, workspace_id: str, idempotency_key: str, error: str) -> None:
    """The flow step behind a send gave up (out of retries, or it never could): its row,
    still waiting to be retried, says so instead of `will retry` for ever. A replay of the
    dead letter takes it up again (the same key)."""
    conn.execute(
        update(Message)
        .where(Message.workspace_id == workspace_id, Message.idempotency_key == idempotency_key,
               Message.status.in_(OPEN))
        .values(status="failed", reason=f"dead-lettered: {error}"[:1000], updated_at=utcnow())
    )  # fmt: skip


def never_sent(conn: Connection, keys: list[tuple[str, str]], reason: str) -> None:
    """Sends held back (deferred) whose steps will not come again: skipped, saying why."""
    for workspace_id in {workspace for workspace, _ in keys}:
        mine = [key for workspace, key in keys if workspace == workspace_id and key]
        conn.execute(
            update(Message)
            .where(Message.workspace_id == workspace_id, Message.idempotency_key.in_(mine),
                   Message.status == "deferred")
            .values(status="skipped", reason=reason, updated_at=utcnow())
        )  # fmt: skip


def engaged(conn: Connection, logged_id: str, status: str) -> None:
    """The message was opened or clicked: its first time is kept, its status moves on."""
    now = utcnow()
    at = literal(now, Message.__table__.c.opened_at.type)
    stamps: dict[str, Any] = {"opened_at": func.coalesce(Message.opened_at, at)}
    if status == "clicked":
        stamps["clicked_at"] = func.coalesce(Message.clicked_at, at)
    where = Message.id == logged_id
    conn.execute(update(Message).where(where).values(**stamps))
    conn.execute(
        update(Message)
        .where(where, Message.status.in_(ENGAGED[status]))
        .values(status=status, updated_at=now)
    )


@dataclass(frozen=True)
class MessageFilter:
    profile_ids: list[str] | None = None
    status: str | None = None
    flow: str | None = None
    template: str | None = None
    topic: str | None = None
    kind: str | None = None
    recipient: str | None = None
    since: datetime | None = None
    channel: str | None = None


def listed(
    conn: Connection, workspace_id: str, found: MessageFilter | None = None, *, limit: int = 100
) -> list[dict[str, Any]]:
    found = found or MessageFilter()
    query = select(Message).where(Message.workspace_id == workspace_id)
    if found.profile_ids is not None:
        query = query.where(Message.profile_id.in_(found.profile_ids))
    equal = ((Message.status, found.status), (Message.flow, found.flow),
             (Message.template, found.template), (Message.topic, found.topic),
             (Message.kind, found.kind), (Message.recipient, found.recipient),
             (Message.channel, found.channel))  # fmt: skip
    for column, value in equal:
        if value is not None:
            query = query.where(column == value)
    if found.since is not None:
        query = query.where(Message.created_at >= found.since)
    rows = conn.execute(query.order_by(Message.created_at.desc(), Message.id).limit(limit))
    return [dict(row._mapping) for row in rows]


def _find(conn: Connection, workspace_id: str, key: str) -> Logged | None:
    row = conn.execute(
        select(Message.id, Message.message_id, Message.status, Message.reason).where(
            Message.workspace_id == workspace_id, Message.idempotency_key == key
        )
    ).first()
    return None if row is None else Logged(row.id, row.message_id, row.status, row.reason)


def marketing_flows(conn: Connection, workspace_id: str, profile_ids: list[str]) -> set[str]:
    """The flows that sent these profiles marketing messages (on any channel)."""
    if not profile_ids:
        return set()
    rows = conn.scalars(
        select(Message.flow)
        .where(Message.workspace_id == workspace_id, Message.profile_id.in_(profile_ids),
               Message.kind == "marketing", Message.flow.is_not(None))
        .distinct()
    )  # fmt: skip
    return {flow for flow in rows if flow}
