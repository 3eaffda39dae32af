"""Group commit: events from many concurrent requests share one transaction.

A request is acknowledged only after the transaction holding its events has committed, so the
200 the SDKs wait for means "durable". While one commit runs, new requests queue up and go
together in the next, so a busy server commits rarely and a quiet one commits at once.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import structlog
from sqlalchemy import Engine

from nerve import metrics
from nerve.db.dialect import dialect_of
from nerve.db.engine import write_transaction
from nerve.errors import Unavailable

log = structlog.get_logger(__name__)


@dataclass
class _Pending:
    rows: list[dict[str, Any]]
    done: asyncio.Future[int] = field(repr=False)


class EventWriter:
    """Queues rows from request handlers and commits them in groups on one writer thread."""

    def __init__(self, engine: Engine, max_commit_events: int = 20_000) -> None:
        self._engine = engine
        self._dialect = dialect_of(engine)
        self._max = max_commit_events
        self._queue: deque[_Pending] = deque()
        self._wakeup = asyncio.Event()
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="nerve-event-writer")
        self._task: asyncio.Task[None] | None = None
        self._closing = False
        self._on_commit: list[Callable[[], None]] = []

    def on_commit(self, listener: Callable[[], None]) -> None:
        """Call `listener` (in the event loop) after every commit."""
        self._on_commit.append(listener)

    def announce(self) -> None:
        """Events were committed by another path (Nerve's own, such as a mail's opens): tell
        the listeners as after a commit of ours."""
        for listener in self._on_commit:
            listener()

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run(), name="event-writer")

    async def close(self) -> None:
        """Commit what is queued, then stop."""
        self._closing = True
        self._wakeup.set()
        if self._task is not None:
            await self._task
        self._thread.shutdown(wait=True)

    async def write(self, rows: list[dict[str, Any]]) -> int:
        """Store `rows` durably; returns how many were new (not duplicates)."""
        if not rows:
            return 0
        if self._closing:
            raise Unavailable("the server is shutting down")
        done: asyncio.Future[int] = asyncio.get_running_loop().create_future()
        self._queue.append(_Pending(rows, done))
        self._wakeup.set()
        return await done

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            await self._wakeup.wait()
            self._wakeup.clear()
            while self._queue:
                group = self._take_group()
                await self._commit_group(loop, group)
            if self._closing:
                return

    def _take_group(self) -> list[_Pending]:
        group: list[_Pending] = []
        count = 0
        while self._queue and (not group or count + len(self._queue[0].rows) <= self._max):
            pending = self._queue.popleft()
            group.append(pending)
            count += len(pending.rows)
        return group

    async def _commit_group(self, loop: asyncio.AbstractEventLoop, group: list[_Pending]) -> None:
        rows = [row for pending in group for row in pending.rows]
        try:
            await loop.run_in_executor(self._thread, self._commit, rows)
        except Exception as exc:
            if len(group) > 1:
                # One request's rows must not fail the others': retry each on its own.
                for pending in group:
                    await self._commit_group(loop, [pending])
                return
            log.error("event_commit_failed", error=str(exc), events=len(rows))
            _fail(group[0], Unavailable("the events could not be stored; retry"))
            return
        for pending in group:
            if not pending.done.done():
                pending.done.set_result(len(pending.rows))
        for listener in self._on_commit:
            listener()

    def _commit(self, rows: list[dict[str, Any]]) -> None:
        started = time.perf_counter()
        with write_transaction(self._engine) as conn:
            self._dialect.insert_events(conn, rows)
        metrics.COMMIT_SECONDS.observe(time.perf_counter() - started)
        metrics.COMMIT_BATCH_EVENTS.observe(len(rows))


def _fail(pending: _Pending, error: Exception) -> None:
    if not pending.done.done():
        pending.done.set_exception(error)
