"""The worker's part of broadcasts: claim one broadcast that has work, start it when it is due,
take its next chunk of members, start their runs and move its cursor — all in one transaction,
so a worker that dies midway leaves the chunk to be done again, and nobody is started twice.

Never all members in memory: a chunk at a time, in person-id order from the cursor. The
throttle (runs started per second) is kept on the broadcast row (`next_chunk_at`), so it holds
across every worker.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Engine, select, update

from nerve.db.dialect import Dialect, dialect_of
from nerve.db.engine import write_transaction
from nerve.flows.broadcasts import trigger as audience
from nerve.flows.broadcasts.models import Broadcast
from nerve.flows.broadcasts.starts import start_chunk
from nerve.flows.versions import loadable
from nerve.segments import membership

MAX_CHUNK = 500  # members per transaction: the SQLite writer is not held for long
LIVE = ("scheduled", "running")


class Fanout:
    """Moves broadcasts on, `runs_per_second` at most over all workers."""

    def __init__(self, runs_per_second: int = 500) -> None:
        self.runs_per_second = max(1, runs_per_second)
        self.chunk = min(self.runs_per_second, MAX_CHUNK)

    def step(self, engine: Engine) -> int:
        """Move one broadcast on by a chunk; how many members it handled (0: nothing due)."""
        with write_transaction(engine) as conn:
            dialect = dialect_of(conn)
            now = dialect.now(conn)
            row = _claim(conn, dialect, now)
            if row is None:
                return 0
            if row.status == "scheduled":
                return _begin(conn, row, now)
            return self._chunk(conn, dialect, row, now)

    def _chunk(self, conn: Connection, dialect: Dialect, row: Any, now: datetime) -> int:
        flow = loadable(conn, row.version_id)
        members = membership.members_after(conn, row.segment_id, row.cursor, self.chunk)
        if flow is None or not members:
            _finish(conn, row.id, "done" if flow is not None else "cancelled", now)
            return max(1, len(members))
        done = start_chunk(conn, dialect, row, flow, members, now)
        pause = timedelta(seconds=done.entered / self.runs_per_second)
        values: dict[str, Any] = {
            "cursor": members[-1],
            "entered": Broadcast.entered + done.entered,
            "skipped": Broadcast.skipped + done.skipped,
            "next_chunk_at": now + pause,
        }
        if len(members) < self.chunk:  # the last chunk: no turn needed to find out
            values |= {"status": "done", "finished_at": now}
        conn.execute(update(Broadcast).where(Broadcast.id == row.id).values(**values))
        return len(members)


def _claim(conn: Connection, dialect: Dialect, now: datetime) -> Any:
    """The broadcast whose turn it is, locked (SKIP LOCKED on PostgreSQL: workers share them)."""
    query = (
        select(Broadcast)
        .where(Broadcast.status.in_(LIVE), Broadcast.next_chunk_at <= now)
        .order_by(Broadcast.next_chunk_at, Broadcast.id)
        .limit(1)
    )
    return conn.execute(dialect.skip_locked(query)).first()


def _begin(conn: Connection, row: Any, now: datetime) -> int:
    """A scheduled broadcast is due: it runs on the flow's newest version (a fix published
    since it was scheduled counts), its audience is counted, and a recurring one schedules its
    next occurrence."""
    from nerve.flows.broadcasts import service

    current = service.current_version(conn, row.flow_id, row.environment)
    flow = None if current is None else loadable(conn, current)
    segment = None
    if flow is not None and flow.trigger.type == audience.AUDIENCE and flow.trigger.segment:
        segment = membership.segment_by_key(conn, row.workspace_id, flow.trigger.segment)
    if current is None or segment is None:
        _finish(conn, row.id, "cancelled", now)
        return 1
    assert flow is not None
    conn.execute(
        update(Broadcast)
        .where(Broadcast.id == row.id)
        .values(
            status="running",
            version_id=current,
            segment_id=segment.id,
            started_at=now,
            audience=membership.count(conn, segment.id),
        )
    )
    if row.cause.startswith(service.SCHEDULE_CAUSE) and flow.trigger.event == audience.SCHEDULE:
        # The next occurrence is scheduled as this one starts: each occurrence once.
        occurrence = audience.next_occurrence(flow.trigger, row.due_at, now)
        service.schedule(
            conn,
            row.workspace_id,
            row.flow_id,
            current,
            row.environment,
            segment.id,
            flow,
            occurrence,
        )
    return 1


def _finish(conn: Connection, broadcast_id: str, status: str, now: datetime) -> None:
    conn.execute(
        update(Broadcast).where(Broadcast.id == broadcast_id).values(status=status, finished_at=now)
    )
