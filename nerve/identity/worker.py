"""Runs the identity resolver next to the API: woken by each event commit, polling otherwise."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Sequence
from datetime import UTC, datetime

import structlog
from sqlalchemy import Engine

from nerve import metrics
from nerve.identity.attached import Consumer
from nerve.identity.resolver import PeopleKeptMoving, resolve_pending

log = structlog.get_logger(__name__)
_POLL_SECONDS = 0.5
# Each batch holds SQLite's write lock; small batches keep tracking commits waiting briefly.
_BATCH = 250


class IdentityWorker:
    def __init__(self, engine: Engine, consumers: Sequence[Consumer]) -> None:
        self._engine = engine
        self._consumers = consumers
        self._wakeup = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._stopping = False
        self._on_resolved: list[Callable[[], None]] = []

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
                    resolved = await asyncio.to_thread(self._resolve_batch)
                    if resolved:
                        for listener in self._on_resolved:
                            listener()
                    if resolved < _BATCH:
                        break
            except Exception:  # keep resolving after a bad moment (database restart, ...)
                log.exception("identity_resolution_failed")
                await asyncio.sleep(1)

    def _resolve_batch(self) -> int:
        try:
            events = resolve_pending(self._engine, self._consumers, _BATCH)
        except PeopleKeptMoving:
            return _BATCH  # others are busy merging the same people: try again at once
        now = datetime.now(UTC)
        for event in events:
            metrics.RESOLUTION_LAG.observe((now - event.received_at).total_seconds())
        metrics.EVENTS_RESOLVED.inc(len(events))
        return len(events)
