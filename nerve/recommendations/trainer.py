"""Retrains recommendations in the background: each workspace with orders on its schedule
(NERVE_RECOMMENDATIONS_RETRAIN_MINUTES) and soon after `POST /api/v1/recommendations/train`.
Runs in every worker; the schedule row makes one of them train each due time. Training is CPU
work on a thread of its own, so the event loop (and the flows beside it) keeps going."""

from __future__ import annotations

import asyncio
import contextlib
import time
from datetime import timedelta

import structlog
from sqlalchemy import Engine

from nerve.db.base import utcnow
from nerve.db.engine import write_transaction
from nerve.orders import purchases
from nerve.recommendations import store, training
from nerve.settings import Settings

log = structlog.get_logger(__name__)
_LOOK_SECONDS = 5.0  # how often a worker looks for a due (or requested) training
_SEED_SECONDS = 60.0  # how often it looks for workspaces that got their first order


class RecommendationTrainer:
    def __init__(self, engine: Engine, every: timedelta) -> None:
        self.engine = engine
        self.every = every
        self._look = min(_LOOK_SECONDS, every.total_seconds())
        self._wakeup = asyncio.Event()
        self._stopping = False
        self._task: asyncio.Task[None] | None = None
        self._seeded_at = float("-inf")

    @classmethod
    def configured(cls, engine: Engine, settings: Settings) -> RecommendationTrainer:
        return cls(engine, timedelta(minutes=settings.recommendations_retrain_minutes))

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run(), name="recommendations")

    def wake(self) -> None:
        """Nothing to do on an event commit: training follows its schedule."""

    async def close(self) -> None:
        self._stopping = True
        self._wakeup.set()
        if self._task is not None:
            await self._task

    async def _run(self) -> None:
        while not self._stopping:
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._wakeup.wait(), timeout=self._look)
            if self._stopping:
                return
            try:
                await asyncio.to_thread(self.train_due)
            except Exception:  # a failed run is recorded; keep the schedule going
                log.exception("recommendations_training_error")

    def train_due(self) -> list[str]:
        """Train every workspace that is due; the ones trained."""
        now = utcnow()
        if time.monotonic() - self._seeded_at > _SEED_SECONDS:
            self._seeded_at = time.monotonic()
            with self.engine.connect() as conn:
                known = {w for w in purchases.workspaces_with_orders(conn)
                         if store.schedule(conn, w) is None}  # fmt: skip
            if known:
                with write_transaction(self.engine) as conn:
                    store.ensure_scheduled(conn, sorted(known), now)
        with write_transaction(self.engine) as conn:
            claimed = store.claim_due(conn, now, now + self.every)
        for workspace_id in claimed:
            if self._stopping:
                break
            run = training.train(self.engine, workspace_id)
            log.info("recommendations_trained", workspace_id=workspace_id, run=run["id"],
                     seconds=run["metrics"]["seconds"]["total"], **run["counts"])  # fmt: skip
        return claimed
