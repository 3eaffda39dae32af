"""Audience syncs: make one for a segment and a destination, read its status, pause, resume,
delete. The worker that sends the batches is nerve/audiences/sync.py."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, delete, func, select, update

from nerve.audiences import destinations
from nerve.audiences.models import AudienceMember, AudienceSync
from nerve.audit import service as audit
from nerve.consent import topics
from nerve.db.base import new_id, utcnow
from nerve.db.dialect import dialect_of
from nerve.errors import Conflict, InvalidInput, NotFound
from nerve.segments import membership
from nerve.webhooks import service as webhook_endpoints

NAME = re.compile(r"[a-z0-9][a-z0-9_-]{0,63}")
NAME_RULE = "1-64 lower-case letters, digits, dashes and underscores, from a letter or digit"
LAG_CAP = 10_000  # pending changes are counted up to this many
# How often the people sent are checked again (consent withdrawn since, an exit missed); the
# first check a period after the initial sync, which checked everyone as it sent them.
RECHECK_EVERY = timedelta(hours=24)
_PAGE = 5_000


@dataclass(frozen=True)
class NewAudience:
    name: str
    segment: str  # the segment's key
    destination: str
    endpoint: str | None = None
    consent_topic: str | None = None


@dataclass(frozen=True)
class AudienceInfo:
    id: str
    name: str
    segment: str
    destination: str
    endpoint: str | None
    consent_topic: str | None
    status: str
    phase: str
    members: int  # people the destination holds as members, as far as Nerve sent
    pending_changes: int  # segment changes not yet read (at most LAG_CAP)
    added: int
    removed: int
    skipped_no_consent: int
    skipped_no_identifier: int
    dead_batches: int
    attempts: int
    next_attempt_at: datetime | None
    last_synced_at: datetime | None
    last_error: str | None
    created_at: datetime


def create(conn: Connection, workspace_id: str, new: NewAudience, *, actor: str) -> AudienceInfo:
    """A new, active sync: it first sends every member the segment has now, then follows its
    changes. 409 when the name is taken."""
    _check(conn, workspace_id, new)
    segment = membership.segment_by_key(conn, workspace_id, new.segment)
    if segment is None:
        raise InvalidInput(f"no segment with key {new.segment!r}", details={"path": "segment"})
    now = utcnow()
    sync_id = new_id("aud")
    row: dict[str, Any] = {
        "id": sync_id, "workspace_id": workspace_id, "name": new.name,
        "segment_id": segment.id, "segment_key": segment.key, "destination": new.destination,
        "config": {"endpoint": new.endpoint} if new.endpoint else {},
        "consent_topic": new.consent_topic, "status": "active", "phase": "initial",
        "member_cursor": None, "change_cursor": latest_change_id(conn, segment.id),
        "recheck_at": now + RECHECK_EVERY, "recheck_cursor": None, "added": 0, "removed": 0,
        "skipped_no_consent": 0, "skipped_no_identifier": 0, "dead_batches": 0, "attempts": 0,
        "next_attempt_at": now, "created_at": now, "updated_at": now,
    }  # fmt: skip
    statement = (
        dialect_of(conn)
        .insert_ignoring_duplicates(AudienceSync.__table__, ["workspace_id", "name"])
        .returning(AudienceSync.id)
    )
    if conn.execute(statement, row).first() is None:
        raise Conflict(f"there is already an audience named {new.name!r}")
    audit.record(conn, workspace_id, actor, "audience.created", sync_id)
    return get(conn, workspace_id, sync_id)


def _check(conn: Connection, workspace_id: str, new: NewAudience) -> None:
    if not NAME.fullmatch(new.name):
        raise InvalidInput(f"an audience's name is {NAME_RULE}", details={"path": "name"})
    if new.destination not in destinations.kinds():
        raise InvalidInput(f"unknown destination {new.destination!r}; known: "
                           f"{', '.join(destinations.kinds())}",
                           details={"path": "destination"})  # fmt: skip
    if new.destination == "webhook":
        if new.endpoint is None:
            raise InvalidInput("a webhook audience names a webhook endpoint (nerve webhooks "
                               "create NAME URL)", details={"path": "endpoint"})  # fmt: skip
        if not webhook_endpoints.exists(conn, workspace_id, new.endpoint):
            raise InvalidInput(f"no webhook endpoint named {new.endpoint!r}",
                               details={"path": "endpoint"})  # fmt: skip
    elif new.endpoint is not None:
        raise InvalidInput(f"a {new.destination} audience takes no endpoint",
                           details={"path": "endpoint"})  # fmt: skip
    if new.consent_topic is not None:
        problems = [topics.problem(conn, workspace_id, channel, new.consent_topic)
                    for channel in ("email", "sms")]  # fmt: skip
        if all(problems):
            raise InvalidInput(f"{problems[0]} (and none on sms)",
                               details={"path": "consent_topic"})  # fmt: skip


def latest_change_id(conn: Connection, segment_id: str) -> int:
    """The id of the segment's latest logged change (0: none): where following the log starts
    once the members there are now have been sent. Pages through the log, once per sync."""
    latest = 0
    while page := membership.changes_after(conn, segment_id, latest, _PAGE):
        latest = page[-1].id
    return latest


def listed(conn: Connection, workspace_id: str) -> list[AudienceInfo]:
    ids = conn.scalars(
        select(AudienceSync.id)
        .where(AudienceSync.workspace_id == workspace_id)
        .order_by(AudienceSync.name)
    )
    return [get(conn, workspace_id, sync_id) for sync_id in ids]


def get(conn: Connection, workspace_id: str, sync_id: str) -> AudienceInfo:
    row = row_of(conn, workspace_id, sync_id)
    members = conn.scalar(
        select(func.count()).select_from(AudienceMember).where(AudienceMember.sync_id == row.id)
    )
    pending = len(membership.changes_after(conn, row.segment_id, row.change_cursor, LAG_CAP))
    return AudienceInfo(
        id=row.id, name=row.name, segment=row.segment_key, destination=row.destination,
        endpoint=row.config.get("endpoint"), consent_topic=row.consent_topic,
        status=row.status, phase=row.phase, members=int(members or 0), pending_changes=pending,
        added=row.added, removed=row.removed, skipped_no_consent=row.skipped_no_consent,
        skipped_no_identifier=row.skipped_no_identifier, dead_batches=row.dead_batches,
        attempts=row.attempts,
        next_attempt_at=row.next_attempt_at if row.status == "active" else None,
        last_synced_at=row.last_synced_at, last_error=row.last_error, created_at=row.created_at,
    )  # fmt: skip


def row_of(conn: Connection, workspace_id: str, sync_id: str) -> Any:
    row = conn.execute(
        select(AudienceSync).where(
            AudienceSync.workspace_id == workspace_id, AudienceSync.id == sync_id
        )
    ).first()
    if row is None:
        raise NotFound(f"no audience with id {sync_id!r}")
    return row


def pause(conn: Connection, workspace_id: str, sync_id: str, *, actor: str) -> AudienceInfo:
    """Stop sending; the cursors stay, so a resume goes on where it stopped."""
    row_of(conn, workspace_id, sync_id)
    if _set_status(conn, sync_id, "paused", ("active", "failed")):
        audit.record(conn, workspace_id, actor, "audience.paused", sync_id)
    return get(conn, workspace_id, sync_id)


def resume(conn: Connection, workspace_id: str, sync_id: str, *, actor: str) -> AudienceInfo:
    """Send again, at once (a failed sync too, after its cause was fixed)."""
    row_of(conn, workspace_id, sync_id)
    if _set_status(conn, sync_id, "active", ("paused", "failed")):
        audit.record(conn, workspace_id, actor, "audience.resumed", sync_id)
    return get(conn, workspace_id, sync_id)


def remove(conn: Connection, workspace_id: str, sync_id: str, *, actor: str) -> None:
    """Forget the sync and whom it sent; the platform's audience itself is left as it is."""
    deleted = conn.execute(
        delete(AudienceSync).where(
            AudienceSync.workspace_id == workspace_id, AudienceSync.id == sync_id
        )
    ).rowcount
    if not deleted:
        raise NotFound(f"no audience with id {sync_id!r}")
    audit.record(conn, workspace_id, actor, "audience.deleted", sync_id)


def _set_status(conn: Connection, sync_id: str, status: str, current: tuple[str, ...]) -> bool:
    now = utcnow()
    values: dict[str, Any] = {"status": status, "updated_at": now}
    if status == "active":
        values |= {"attempts": 0, "next_attempt_at": now, "last_error": None}
    return bool(
        conn.execute(
            update(AudienceSync)
            .where(AudienceSync.id == sync_id, AudienceSync.status.in_(current))
            .values(**values)
        ).rowcount
    )
