"""The segments' background work: window timers that came due, and builds of new versions
over existing people.

A due timer is claimed (SKIP LOCKED on PostgreSQL), its person re-evaluated at the database's
clock and the timer replaced, in one transaction: a crash in between rolls the claim back and
the timer stays due. A build takes the next chunk of people after its cursor, evaluates them
and moves the cursor in one transaction, so a restarted build resumes where it was.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import structlog
from sqlalchemy import Engine, delete, select, tuple_, update

from nerve.db.dialect import dialect_of
from nerve.db.engine import write_transaction
from nerve.identity import service as identity
from nerve.identity.rules import load_rules
from nerve.segments.active import active_segments, with_dependents
from nerve.segments.engine import reevaluate
from nerve.segments.models import Segment, SegmentBuild, SegmentTimer

log = structlog.get_logger(__name__)
TIMER_BATCH = 500
BUILD_CHUNK = 2000


def fire_due_timers(engine: Engine, limit: int = TIMER_BATCH) -> int:
    """Re-evaluate the people whose windows came due; returns how many timers fired."""
    with write_transaction(engine) as conn:
        dialect = dialect_of(conn)
        now = dialect.now(conn)
        timers = select(SegmentTimer.segment_id, SegmentTimer.person_id, SegmentTimer.workspace_id)
        query = timers.where(SegmentTimer.due_at <= now).order_by(SegmentTimer.due_at).limit(limit)
        claimed = conn.execute(dialect.skip_locked(query)).all()  # type: ignore[arg-type]
        if not claimed:
            return 0
        conn.execute(delete(SegmentTimer).where(
            tuple_(SegmentTimer.segment_id, SegmentTimer.person_id).in_(
                [(c.segment_id, c.person_id) for c in claimed])
        ))  # fmt: skip
        by_workspace: dict[str, list[Any]] = defaultdict(list)
        for row in claimed:
            by_workspace[row.workspace_id].append(row)
        for workspace_id, rows in by_workspace.items():
            segments = active_segments(conn, workspace_id)
            keys = {s.id: s.key for s in segments}
            wanted: dict[str, set[str]] = defaultdict(set)
            for row in rows:
                if row.segment_id in keys:  # an archived segment's timer just goes
                    wanted[row.person_id] |= with_dependents(segments, [keys[row.segment_id]])
            people = identity.members_of(conn, list(wanted))
            alive = {p: w for p, w in wanted.items() if people.get(p)}  # erased meanwhile
            reevaluate(conn, workspace_id, segments, alive, people, load_rules(conn, workspace_id),
                       now)  # fmt: skip
        return len(claimed)


def build_next_chunk(engine: Engine, chunk: int = BUILD_CHUNK) -> int:
    """Evaluate the next chunk of people of the oldest pending build; returns how many."""
    with write_transaction(engine) as conn:
        dialect = dialect_of(conn)
        query = select(SegmentBuild).where(SegmentBuild.status == "pending")
        build = conn.execute(
            dialect.skip_locked(query.order_by(SegmentBuild.created_at).limit(1))
        ).first()
        if build is None:
            return 0
        now = dialect.now(conn)
        people = identity.people_after(conn, build.workspace_id, build.cursor, chunk)
        where = (SegmentBuild.segment_id == build.segment_id,
                 SegmentBuild.version == build.version)  # fmt: skip
        if not people:
            conn.execute(update(SegmentBuild).where(*where).values(status="done", finished_at=now))
            conn.execute(update(Segment).where(Segment.id == build.segment_id,
                                               Segment.active_version == build.version)
                         .values(status="ready"))  # fmt: skip
            return 0
        segments = active_segments(conn, build.workspace_id)
        mine = next((s for s in segments if s.id == build.segment_id), None)
        if mine is not None and mine.version == build.version:
            keys = with_dependents(segments, [mine.key])
            members = identity.members_of(conn, people)
            reevaluate(conn, build.workspace_id, segments, {p: set(keys) for p in people},
                       members, load_rules(conn, build.workspace_id), now,
                       announce=mine.definition.trigger_on_build)  # fmt: skip
        conn.execute(update(SegmentBuild).where(*where).values(
            cursor=people[-1], done=SegmentBuild.done + len(people)))  # fmt: skip
        return len(people)


class SegmentWorker:
    """Runs timers and builds beside the flow worker (`nerve worker`, the embedded worker)."""

    def __init__(self, engine: Engine, poll_seconds: float | None = None) -> None:
        self.engine = engine
        self._poll = poll_seconds or min(dialect_of(engine).poll_seconds, 1.0)
        self._database = ThreadPoolExecutor(max_workers=1, thread_name_prefix="nerve-segments")
        self._wakeup = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._stopping = False

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run(), name="segments")

    def wake(self) -> None:
        self._wakeup.set()

    async def close(self) -> None:
        self._stopping = True
        self._wakeup.set()
        if self._task is not None:
            await self._task
        self._database.shutdown(wait=True)

    async def _db(self, work: Any, *args: Any) -> int:
        return int(await asyncio.get_running_loop().run_in_executor(self._database, work, *args))

    async def _run(self) -> None:
        while not self._stopping:
            try:
                fired = await self._db(fire_due_timers, self.engine)
                built = await self._db(build_next_chunk, self.engine)
                if fired or built:
                    continue
            except Exception:  # keep working after a bad moment (database restart, ...)
                log.exception("segment_worker_error")
                await asyncio.sleep(1)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wakeup.wait(), self._poll)
            self._wakeup.clear()
