"""Claims due tasks and executes them; rescues tasks of crashed workers. Embedded or standalone."""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

import structlog
from sqlalchemy import Engine

from nerve.flows.executor import Executor

log = structlog.get_logger(__name__)
_IDLE_POLL_SECONDS = 0.05
_RESCUE_EVERY_SECONDS = 1.0


class FlowWorker:
    def __init__(self, engine: Engine, *, concurrency: int = 4, lease_seconds: int = 60) -> None:
        owner = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"
        self.executor = Executor(engine, owner, lease_seconds=lease_seconds)
        self._pool = ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="nerve-flow")
        self._concurrency = concurrency
        self._wakeup = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._stopping = False

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run(), name="flows")

    def wake(self) -> None:
        self._wakeup.set()

    async def close(self) -> None:
        self._stopping = True
        self._wakeup.set()
        if self._task is not None:
            await self._task
        self._pool.shutdown(wait=True)
        self.executor.close()

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        rescued_at = 0.0
        while not self._stopping:
            try:
                if time.monotonic() - rescued_at > _RESCUE_EVERY_SECONDS:
                    rescued_at = time.monotonic()
                    if await loop.run_in_executor(self._pool, self.executor.rescue):
                        log.warning("flow_tasks_rescued")
                claimed = await loop.run_in_executor(
                    self._pool, self.executor.claim, self._concurrency * 32
                )
                if claimed:
                    # Timers in one transaction; actions one by one, concurrently (network).
                    actions = await loop.run_in_executor(
                        self._pool, self.executor.advance_many, claimed
                    )
                    await asyncio.gather(
                        *(
                            loop.run_in_executor(self._pool, self.executor.execute, t)
                            for t in actions
                        )
                    )
                    continue
            except Exception:  # keep working after a bad moment (database restart, ...)
                log.exception("flow_worker_error")
                await asyncio.sleep(1)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wakeup.wait(), _IDLE_POLL_SECONDS)
            self._wakeup.clear()
