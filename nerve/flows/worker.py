"""Claims due tasks and executes them; rescues tasks of crashed workers. Embedded or standalone.

Database work runs on one thread, receivers are called on a pool: the loop keeps claiming and
advancing timers while actions wait on the network, and settles finished actions in batches.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from typing import Any, TypeVar

import structlog
from sqlalchemy import Engine

from nerve.channels.delivery import Delivery
from nerve.channels.email import EmailService, email_service
from nerve.channels.registry import deliveries
from nerve.db.dialect import TaskListener, dialect_of
from nerve.flows import shop_events
from nerve.flows.broadcasts.fanout import Fanout
from nerve.flows.budget import StepBudget
from nerve.flows.executor import Attempt, Executor, TaskExecutor
from nerve.flows.retention import Retention
from nerve.outbound.policy import OutboundPolicy
from nerve.secrets.vault import Vault
from nerve.settings import Settings

log = structlog.get_logger(__name__)
_RESCUE_EVERY_SECONDS = 1.0
_CLAIM_BATCH = 128
_PRUNE_EVERY_SECONDS = 600
T = TypeVar("T")


class FlowWorker:
    def __init__(
        self,
        engine: Engine,
        *,
        concurrency: int = 16,
        lease_seconds: int = 60,
        retention: Retention | None = None,
        poll_seconds: float | None = None,
        executor: TaskExecutor | None = None,
        budget: StepBudget | None = None,
        outbound: OutboundPolicy | None = None,
        email: EmailService | None = None,
        vault: Vault | None = None,
        channels: dict[str, Delivery] | None = None,
        fanout: Fanout | None = None,
    ) -> None:
        owner = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"
        self.executor = executor or Executor(
            engine, owner, lease_seconds=lease_seconds, budget=budget, outbound=outbound,
            email=email, vault=vault, channels=channels,
        )  # fmt: skip
        self._database = ThreadPoolExecutor(max_workers=1, thread_name_prefix="nerve-flow-db")
        self._senders = ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="nerve-send")
        self._concurrency = concurrency
        self._lease_seconds = lease_seconds
        self._retention = retention or Retention()
        self._fanout = fanout or Fanout()
        self._dialect = dialect_of(engine)
        self._poll_seconds = poll_seconds or self._dialect.poll_seconds
        self._listener: TaskListener | None = None
        self._wakeup = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._stopping = False
        self._in_flight: dict[asyncio.Future[Attempt], int] = {}  # → task id

    @classmethod
    def configured(cls, engine: Engine, settings: Settings) -> FlowWorker:
        retention = Retention(
            runs=timedelta(days=settings.flow_run_retention_days),
            tasks=timedelta(days=settings.flow_task_retention_days),
        )
        vault = Vault(settings.secret_key.get_secret_value())
        outbound = OutboundPolicy.configured(settings)
        return cls(
            engine,
            lease_seconds=settings.flow_lease_seconds,
            retention=retention,
            poll_seconds=settings.flow_poll_seconds,
            budget=StepBudget(settings.flow_run_steps_per_hour, settings.flow_run_steps_total),
            outbound=outbound,
            email=email_service(engine, settings),
            vault=vault,
            channels=deliveries(engine, settings, vault, outbound),
            fanout=Fanout(settings.broadcast_runs_per_second),
        )

    def start(self) -> None:
        loop = asyncio.get_running_loop()
        self._task = loop.create_task(self._run(), name="flows")

        def wake_from_listener() -> None:
            loop.call_soon_threadsafe(self.wake)

        self._listener = self._dialect.task_listener(self.executor.engine, wake_from_listener)
        if self._listener is not None:
            self._listener.start()

    def wake(self) -> None:
        self._wakeup.set()

    async def close(self) -> None:
        self._stopping = True
        self._wakeup.set()
        if self._listener is not None:
            await asyncio.to_thread(self._listener.stop)
        if self._task is not None:
            await self._task
        self._database.shutdown(wait=True)
        self._senders.shutdown(wait=True)
        self.executor.close()

    async def _db(self, work: Callable[..., T], *args: Any) -> T:
        return await asyncio.get_running_loop().run_in_executor(self._database, work, *args)

    async def _run(self) -> None:
        rescued_at = extended_at = time.monotonic()
        pruned_at = 0.0
        with contextlib.suppress(Exception):  # advice only; the loop below reports outages
            for warning in await self._db(self._dialect.maintenance_warnings, self.executor.engine):
                log.warning("database_maintenance", problem=warning)
        while not self._stopping:
            try:
                if time.monotonic() - pruned_at > _PRUNE_EVERY_SECONDS:
                    pruned_at = time.monotonic()
                    pruned = await self._db(self._retention.prune, self.executor.engine)
                    if pruned.runs or pruned.tasks:
                        log.info("flows_pruned", **vars(pruned))
                if time.monotonic() - rescued_at > _RESCUE_EVERY_SECONDS:
                    rescued_at = time.monotonic()
                    if await self._db(self.executor.rescue):
                        log.warning("flow_tasks_rescued")
                if time.monotonic() - extended_at > self._lease_seconds / 3:
                    extended_at = time.monotonic()
                    pending = [task for f, task in self._in_flight.items() if not f.done()]
                    await self._db(self.executor.extend, pending)
                routed = await self._db(shop_events.route_pending, self.executor.engine)
                fanned = await self._db(self._fanout.step, self.executor.engine)
                claimed = await self._claim()
                settled = await self._settle_finished()
                if claimed or settled or routed or fanned:
                    continue
            except Exception:  # keep working after a bad moment (database restart, ...)
                log.exception("flow_worker_error")
                await asyncio.sleep(1)
            await self._idle()
        while self._in_flight:  # let started actions finish and record them
            await asyncio.wait(self._in_flight)
            await self._settle_finished()

    async def _claim(self) -> int:
        """Claim due tasks: timers advance at once (one transaction), actions start sending."""
        room = self._concurrency * 8 - len(self._in_flight)
        if room <= 0 or self._stopping:
            return 0
        claimed = await self._db(self.executor.claim, min(room, _CLAIM_BATCH))
        if not claimed:
            return 0
        action_ids = await self._db(self.executor.advance_many, claimed)
        if action_ids:
            loop = asyncio.get_running_loop()
            for attempt in await self._db(self.executor.prepare, action_ids):
                future = loop.run_in_executor(self._senders, self.executor.attempt, attempt)
                self._in_flight[future] = attempt.task.id
        return len(claimed)

    async def _settle_finished(self) -> int:
        finished = {f for f in self._in_flight if f.done()}
        if not finished:
            return 0
        for future in finished:
            del self._in_flight[future]
        await self._db(self.executor.settle, [f.result() for f in finished])
        return len(finished)

    async def _idle(self) -> None:
        """Sleep until woken, an action finishes, or the poll interval passes."""
        woken: asyncio.Future[Any] = asyncio.ensure_future(self._wakeup.wait())
        waiting: set[asyncio.Future[Any]] = {woken, *self._in_flight}
        await asyncio.wait(
            waiting,
            timeout=self._poll_seconds,
            return_when=asyncio.FIRST_COMPLETED,
        )
        woken.cancel()
        self._wakeup.clear()
