"""The impression log: every decision the personalization API answers, kept so conversions
can be attributed to a variant or an experiment arm later.

Writing a row per request would put a write on every page render. Instead decisions wait in a
bounded in-memory buffer and one background task writes them in batches every
FLUSH_SECONDS (and on shutdown). The trade-off is deliberate: a crash loses at most the
impressions since the last flush, and a full buffer (the database far behind) drops new ones,
counted in `nerve_slot_impressions_dropped_total`, rather than slow the heads down.
"""

from __future__ import annotations

import asyncio
from collections import deque
from contextlib import suppress
from typing import Any

import structlog
from prometheus_client import Counter
from sqlalchemy import Connection, Engine, delete, func, or_, select
from starlette.concurrency import run_in_threadpool

from nerve.db.base import insert_rows
from nerve.db.engine import write_transaction
from nerve.personalization.models import SlotImpression
from nerve.privacy.subject import Subject

log = structlog.get_logger(__name__)
FLUSH_SECONDS = 1.0
MAX_BUFFERED = 100_000
MAX_BATCH = 5_000

IMPRESSIONS_WRITTEN = Counter(
    "nerve_slot_impressions_written_total", "Personalization decisions written to the log"
)
IMPRESSIONS_DROPPED = Counter(
    "nerve_slot_impressions_dropped_total",
    "Personalization decisions not logged: the buffer was full or a write failed",
)


class ImpressionLog:
    """Buffers impression rows from request handlers; a task in the event loop writes them."""

    def __init__(self, engine: Engine, flush_seconds: float = FLUSH_SECONDS,
                 max_buffered: int = MAX_BUFFERED) -> None:  # fmt: skip
        self._engine = engine
        self._seconds = flush_seconds
        self._max = max_buffered
        self._buffer: deque[dict[str, Any]] = deque()
        self._task: asyncio.Task[None] | None = None
        self._stopping = asyncio.Event()

    def add(self, rows: list[dict[str, Any]]) -> None:
        room = self._max - len(self._buffer)
        if room < len(rows):
            IMPRESSIONS_DROPPED.inc(len(rows) - max(room, 0))
            rows = rows[: max(room, 0)]
        self._buffer.extend(rows)

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run(), name="impressions")

    async def close(self) -> None:
        """Write what is buffered, then stop."""
        self._stopping.set()
        if self._task is not None:
            await self._task

    async def flush(self) -> None:
        while self._buffer:
            batch = [self._buffer.popleft() for _ in range(min(MAX_BATCH, len(self._buffer)))]
            try:
                await run_in_threadpool(self._write, batch)
            except Exception:  # the database is away: these are lost, the API keeps answering
                IMPRESSIONS_DROPPED.inc(len(batch))
                log.exception("impressions_not_written", count=len(batch))
                return

    async def _run(self) -> None:
        while not self._stopping.is_set():
            with suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), self._seconds)
            await self.flush()

    def _write(self, rows: list[dict[str, Any]]) -> None:
        with write_transaction(self._engine) as conn:
            insert_rows(conn, SlotImpression, rows)
        IMPRESSIONS_WRITTEN.inc(len(rows))


def stats(conn: Connection, workspace_id: str, slot_key: str) -> list[dict[str, Any]]:
    """Impressions per variant and experiment arm, with the distinct people and visitors."""
    rows = conn.execute(
        select(
            SlotImpression.variant, SlotImpression.experiment, SlotImpression.arm,
            func.count().label("impressions"),
            func.count(func.distinct(SlotImpression.person_id)).label("people"),
            func.min(SlotImpression.at).label("first_at"),
            func.max(SlotImpression.at).label("last_at"),
        )
        .where(SlotImpression.workspace_id == workspace_id, SlotImpression.slot_key == slot_key)
        .group_by(SlotImpression.variant, SlotImpression.experiment, SlotImpression.arm)
        .order_by(SlotImpression.variant, SlotImpression.experiment, SlotImpression.arm)
    )  # fmt: skip
    return [dict(row._mapping) for row in rows]


def _of(subject: Subject) -> Any:
    return (SlotImpression.workspace_id == subject.workspace_id) & or_(
        SlotImpression.person_id.in_(subject.profile_ids),
        SlotImpression.anonymous_id.in_(subject.values("anonymous_id")),
        SlotImpression.user_id.in_(subject.values("user_id")),
    )


def export(conn: Connection, subject: Subject) -> list[dict[str, Any]]:
    rows = conn.execute(
        select(SlotImpression.slot_key, SlotImpression.variant, SlotImpression.experiment,
               SlotImpression.arm, SlotImpression.anonymous_id, SlotImpression.user_id,
               SlotImpression.at)
        .where(_of(subject))
        .order_by(SlotImpression.at, SlotImpression.id)
    )  # fmt: skip
    return [dict(row._mapping) for row in rows]


def erase(conn: Connection, subject: Subject) -> None:
    conn.execute(delete(SlotImpression).where(_of(subject)))
