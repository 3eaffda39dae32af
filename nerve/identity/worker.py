"""Runs the identity resolver next to the API: woken by each event commit, polling otherwise."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime

import structlog
from sqlalchemy import Engine

from nerve import metrics
from nerve.db.dialect import dialect_of
from nerve.identity.attached import Consumer
from nerve.identity.resolver import PeopleKeptMoving, resolve_pending

log = structlog.get_logger(__name__)
_POLL_SECONDS = 0.5
_SQLITE_GAP_SECONDS = 0.003


class BatchSize:
    """How many events to resolve per transaction: as many as fit in `target` seconds.

    A transaction holds SQLite's write lock (tracking commits wait meanwhile) and, on
    PostgreSQL, its people's locks; bigger batches share the commit and the per-statement
    costs over more events. A backlog grows the batch until one takes about `target`; a quiet
    shop resolves what arrived, a few events at a time."""

    def __init__(self, target: float = 0.2, smallest: int = 100, largest: int = 5000) -> None:
        self.target, self.smallest, self.largest = target, smallest, largest
        self.size = smallest

    def observe(self, resolved: int, seconds: float) -> None:
        if resolved < self.size:
            return  # the queue ran dry: the time says nothing about a full batch
        per_event = seconds / max(resolved, 1)
        wanted = int(self.target / per_event) if per_event > 0 else self.largest
        # Grow at most twice per batch, shrink at once: a slow batch holds locks now.
        self.size = max(self.smallest, min(self.largest, wanted, self.size * 2))


class IdentityWorker:
    def __init__(self, engine: Engine, consumers: Sequence[Consumer]) -> None:
        self._engine = engine
        self._consumers = consumers
        self._wakeup = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._stopping = False
        self._on_resolved: list[Callable[[], None]] = []
        self.batch = BatchSize()
        # SQLite has one writer: between two batches, a pause in which the server's event
        # commits (polling for the lock every millisecond, see nerve/db/sqlite.py) get their turn.
        self._gap = 0.0 if dialect_of(engine).concurrent_writers else _SQLITE_GAP_SECONDS

    def on_resolved(self, listener: Callable[[], None]) -> None:
        """Call `listener` (in the event loop) after events were attached (flows may be due)."""
        self._on_resolved.append(listener)

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run(), name="identity")

    def wake(self) -> None:
        self._wakeup.set()

    async def close(self) -> None:
        self._stopping = True
        self._wakeup.set()
        if self._task is not None:
            await self._task

    async def _run(self) -> None:
        while not self._stopping:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wakeup.wait(), _POLL_SECONDS)
            self._wakeup.clear()
            try:
                while not self._stopping:
                    resolved, asked = await asyncio.to_thread(self._resolve_batch)
                    if resolved:
                        for listener in self._on_resolved:
                            listener()
                    if resolved < asked:
                        break  # the queue is empty
                    if self._gap:
                        await asyncio.sleep(self._gap)
            except Exception:  # keep resolving after a bad moment (database restart, ...)
                log.exception("identity_resolution_failed")
                await asyncio.sleep(1)

    def _resolve_batch(self) -> tuple[int, int]:
        """(events resolved, events asked for)."""
        size = self.batch.size
        started = time.perf_counter()
        try:
            events = resolve_pending(self._engine, self._consumers, size)
        except PeopleKeptMoving:
            return 0, 0  # others are busy merging the same people: try again at once
        self.batch.observe(len(events), time.perf_counter() - started)
        now = datetime.now(UTC)
        for event in events:
            metrics.RESOLUTION_LAG.observe((now - event.received_at).total_seconds())
        metrics.EVENTS_RESOLVED.inc(len(events))
        return len(events), size
