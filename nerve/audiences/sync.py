"""The audience worker's step: for each due sync, read the next batch (members there were when
it was made, then the segment's change log after its cursor, and now and then a pass over the
people it sent to check they still allow it), send it, and advance the cursor only once the
destination took it — at least once to the destination, each change once when all goes well.

No HTTP call is made inside a transaction: the sync is leased (a write), the batch read, sent,
and the outcome written in a second transaction that checks the lease is still ours.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import structlog
from sqlalchemy import Connection, Engine, delete, or_, select, update

from nerve import numbers
from nerve.audiences import destinations
from nerve.audiences.destinations import Batch, DestinationContext, Refused, TryAgain
from nerve.audiences.hashing import HashedMember
from nerve.audiences.models import AudienceMember, AudienceSync
from nerve.audiences.people import Reach, reach
from nerve.audiences.service import RECHECK_EVERY
from nerve.db.base import utcnow
from nerve.db.dialect import dialect_of
from nerve.db.engine import write_transaction
from nerve.outbound.policy import OutboundPolicy
from nerve.secrets.vault import Vault
from nerve.segments import membership

log = structlog.get_logger(__name__)
BATCH = 500  # people per batch (Meta takes up to 10,000 records a request)
LEASE = timedelta(minutes=5)
MAX_BACKOFF_SECONDS = 3600
_DUE = 16  # syncs looked at per round


@dataclass
class Plan:
    """One batch: whom to add and remove (their records), whom to forget without a request
    (sent once, no identifier left to remove them by), what was skipped, and the cursor
    columns to write once the destination took it."""

    key: str
    adds: dict[str, list[HashedMember]] = field(default_factory=dict)
    removes: dict[str, list[HashedMember]] = field(default_factory=dict)
    forget: set[str] = field(default_factory=set)
    no_consent: int = 0
    no_identifier: int = 0
    cursor: dict[str, Any] = field(default_factory=dict)

    def decide(self, person: str, wanted: bool, seen: Reach, sent: bool) -> None:
        """`wanted`: the person is (or just entered) the segment."""
        if wanted and seen.allowed and seen.records:
            if not sent:
                self.adds[person] = seen.records
        elif sent:  # left, withdrew consent, or lost every identifier
            if seen.records:
                self.removes[person] = seen.records
            else:
                self.forget.add(person)
        elif wanted and not seen.allowed:
            self.no_consent += 1
        elif wanted:
            self.no_identifier += 1


class AudienceSyncer:
    def __init__(self, engine: Engine, vault: Vault, outbound: OutboundPolicy) -> None:
        self.engine = engine
        self._context = DestinationContext.open(engine, vault, outbound)

    def close(self) -> None:
        self._context.close()

    def run_due(self) -> int:
        """One batch for each due sync that has one; how many batches were handled."""
        handled = 0
        for sync_id in self._due():
            if not self._has_work(sync_id):
                continue  # read only: an idle sync costs no write
            lease = self._claim(sync_id)
            if lease is not None:
                handled += self._step(sync_id, lease)
        return handled

    def _due(self) -> list[str]:
        with self.engine.connect() as conn, conn.begin():
            now = utcnow()
            return list(conn.scalars(
                select(AudienceSync.id).where(
                    AudienceSync.status == "active", AudienceSync.next_attempt_at <= now,
                    AudienceSync.destination.not_in(destinations.EXPORT_ONLY),
                    or_(AudienceSync.leased_until.is_(None), AudienceSync.leased_until < now),
                ).order_by(AudienceSync.next_attempt_at).limit(_DUE)
            ))  # fmt: skip

    def _claim(self, sync_id: str) -> datetime | None:
        """Hold the sync while its batch is sent; None when another worker holds it."""
        now = utcnow()
        lease = now + LEASE
        with write_transaction(self.engine) as conn:
            taken = conn.execute(
                update(AudienceSync)
                .where(AudienceSync.id == sync_id, AudienceSync.status == "active",
                       or_(AudienceSync.leased_until.is_(None), AudienceSync.leased_until < now))
                .values(leased_until=lease)
            ).rowcount  # fmt: skip
        return lease if taken else None

    def _has_work(self, sync_id: str) -> bool:
        with self.engine.connect() as conn, conn.begin():
            row = conn.execute(select(AudienceSync).where(AudienceSync.id == sync_id)).first()
            if row is None:
                return False
            return (
                row.phase == "initial"
                or row.recheck_at <= utcnow()
                or bool(membership.changes_after(conn, row.segment_id, row.change_cursor, 1))
                or not _segment_alive(conn, row)
            )

    def _step(self, sync_id: str, lease: datetime) -> int:
        with self.engine.connect() as conn, conn.begin():
            row = conn.execute(select(AudienceSync).where(AudienceSync.id == sync_id)).one()
            plan = _plan(conn, row) if _segment_alive(conn, row) else None
        if plan is None:
            return self._finish(sync_id, lease, status="failed",
                                error="the segment was archived or deleted")  # fmt: skip
        try:
            destination = destinations.build(row.destination, row.workspace_id, row.config,
                                             self._context)  # fmt: skip
        except Refused as exc:  # its configuration cannot work: the sync stops, loses nothing
            return self._finish(sync_id, lease, status="failed", error=str(exc))
        assert destination is not None  # export-only syncs are never due
        try:
            _send(destination, row, plan)
        except TryAgain as exc:
            backoff = min(MAX_BACKOFF_SECONDS, 2**row.attempts)
            return self._finish(sync_id, lease, error=str(exc), attempts=row.attempts + 1,
                                next_attempt_at=utcnow() + timedelta(seconds=backoff))  # fmt: skip
        except Refused as exc:
            log.warning("audience_batch_refused", audience=sync_id, error=str(exc))
            return self._finish(sync_id, lease, error=f"batch dead-lettered: {exc}",
                                dead_batches=row.dead_batches + 1, **plan.cursor)  # fmt: skip
        return self._commit(row, lease, plan)

    def _commit(self, row: Any, lease: datetime, plan: Plan) -> int:
        now = utcnow()
        with write_transaction(self.engine) as conn:
            if not _still_ours(conn, row.id, lease):
                return 0
            _write_members(conn, row, plan, now)
            conn.execute(update(AudienceSync).where(AudienceSync.id == row.id).values(
                added=AudienceSync.added + len(plan.adds),
                removed=AudienceSync.removed + len(plan.removes),
                skipped_no_consent=AudienceSync.skipped_no_consent + plan.no_consent,
                skipped_no_identifier=AudienceSync.skipped_no_identifier + plan.no_identifier,
                attempts=0, next_attempt_at=now, leased_until=None, last_error=None,
                last_synced_at=now if plan.adds or plan.removes else row.last_synced_at,
                updated_at=now, **plan.cursor,
            ))  # fmt: skip
        return 1

    def _finish(self, sync_id: str, lease: datetime, error: str, **values: Any) -> int:
        """The batch was not taken (retry, dead letter) or the sync cannot go on (failed)."""
        with write_transaction(self.engine) as conn:
            if _still_ours(conn, sync_id, lease):
                values |= {"leased_until": None, "last_error": error[:1000], "updated_at": utcnow()}
                conn.execute(
                    update(AudienceSync).where(AudienceSync.id == sync_id).values(**values)
                )
        log.info("audience_batch_not_taken", audience=sync_id, error=error)
        return 1


def _send(destination: destinations.AudienceDestination, row: Any, plan: Plan) -> None:
    for action, people in (("add", plan.adds), ("remove", plan.removes)):
        if not people:
            continue
        members = [record for person in sorted(people) for record in people[person]]
        # The cursors name the batch; the digest tells a retry whose people changed meanwhile
        # (a consent given) from a repeat, which the receiver may drop by its id.
        digest = hashlib.sha256(numbers.dumps(members)).hexdigest()[:16]
        batch = Batch(row.name, row.id, row.segment_key, f"{plan.key}:{digest}", members)
        if action == "add":
            destination.add(batch)
        else:
            destination.remove(batch)


def _write_members(conn: Connection, row: Any, plan: Plan, now: datetime) -> None:
    if plan.adds:
        rows = [{"sync_id": row.id, "person_id": person, "workspace_id": row.workspace_id,
                 "added_at": now} for person in plan.adds]  # fmt: skip
        statement = dialect_of(conn).insert_ignoring_duplicates(
            AudienceMember.__table__, ["sync_id", "person_id"]
        )
        conn.execute(statement, rows)
    gone = set(plan.removes) | plan.forget
    if gone:
        conn.execute(
            delete(AudienceMember).where(
                AudienceMember.sync_id == row.id, AudienceMember.person_id.in_(gone)
            )
        )


def _still_ours(conn: Connection, sync_id: str, lease: datetime) -> bool:
    """Whether this worker's lease still holds (the row locked till the end of the commit)."""
    query = select(AudienceSync.leased_until).where(AudienceSync.id == sync_id)
    return bool(conn.scalar(dialect_of(conn).for_update(query)) == lease)


def _segment_alive(conn: Connection, row: Any) -> bool:
    found = membership.segment_by_key(conn, row.workspace_id, row.segment_key)
    return found is not None and found.id == row.segment_id


def _plan(conn: Connection, row: Any) -> Plan:
    if row.phase == "initial":
        return _initial(conn, row)
    plan = _following(conn, row)
    if not plan.cursor and row.recheck_at <= utcnow():  # nothing new: check consent again
        return _recheck(conn, row)
    return plan


def _initial(conn: Connection, row: Any) -> Plan:
    """The next page of the members the segment had when the sync was made."""
    people = membership.members_after(conn, row.segment_id, row.member_cursor, BATCH)
    plan = Plan(_key(row, "m", row.member_cursor, people[-1] if people else None))
    if not people:
        plan.cursor = {"phase": "following", "member_cursor": None}
        return plan
    _decide_all(conn, row, plan, {person: True for person in people})
    plan.cursor = {"member_cursor": people[-1]}
    return plan


def _following(conn: Connection, row: Any) -> Plan:
    """The next changes of the log; within a batch each person's last change counts."""
    changes = membership.changes_after(conn, row.segment_id, row.change_cursor, BATCH)
    plan = Plan(_key(row, "c", row.change_cursor, changes[-1].id if changes else None))
    if changes:
        latest = {change.person_id: change.change == "entered" for change in changes}
        _decide_all(conn, row, plan, latest)
        plan.cursor = {"change_cursor": changes[-1].id}
    return plan


def _recheck(conn: Connection, row: Any) -> Plan:
    """The next page of the people sent as members: whoever withdrew consent (or is no member
    any more, a change missed) is removed."""
    query = select(AudienceMember.person_id).where(AudienceMember.sync_id == row.id)
    if row.recheck_cursor is not None:
        query = query.where(AudienceMember.person_id > row.recheck_cursor)
    people = list(conn.scalars(query.order_by(AudienceMember.person_id).limit(BATCH)))
    plan = Plan(_key(row, "r", row.recheck_cursor, people[-1] if people else None))
    if not people:
        plan.cursor = {"recheck_cursor": None, "recheck_at": utcnow() + RECHECK_EVERY}
        return plan
    wanted = {p: membership.is_member(conn, row.segment_id, p) for p in people}
    _decide_all(conn, row, plan, wanted)
    plan.cursor = {"recheck_cursor": people[-1]}
    return plan


def _decide_all(conn: Connection, row: Any, plan: Plan, wanted: dict[str, bool]) -> None:
    seen = reach(conn, row.workspace_id, wanted, row.consent_topic)
    sent = set(conn.scalars(select(AudienceMember.person_id).where(
        AudienceMember.sync_id == row.id, AudienceMember.person_id.in_(list(wanted)))))  # fmt: skip
    for person, want in wanted.items():
        plan.decide(person, want, seen[person], person in sent)


def _key(row: Any, phase: str, start: object, end: object) -> str:
    """The batch's idempotency key: the same on every attempt of the same batch (the receiver
    drops a repeat by it), another for another batch."""
    return f"{row.id}:{phase}:{start or ''}-{end or ''}"
