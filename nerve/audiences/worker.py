"""The audience worker: a small loop beside the flow worker (embedded or in `nerve worker`)
that sends the due syncs' batches on a thread of its own, so a slow receiver never holds up
flows or identity resolution."""

from __future__ import annotations

import asyncio
import contextlib

import structlog
from sqlalchemy import Engine

from nerve.audiences.sync import AudienceSyncer
from nerve.db.dialect import dialect_of
from nerve.outbound.policy import OutboundPolicy
from nerve.secrets.vault import Vault
from nerve.settings import Settings

log = structlog.get_logger(__name__)
_MIN_POLL_SECONDS = 0.2


class AudienceWorker:
    def __init__(self, engine: Engine, vault: Vault, outbound: OutboundPolicy,
                 poll_seconds: float | None = None) -> None:  # fmt: skip
        self._syncer = AudienceSyncer(engine, vault, outbound)
        poll = poll_seconds or dialect_of(engine).poll_seconds
        self._poll_seconds = max(poll, _MIN_POLL_SECONDS)
        self._wakeup = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._stopping = False

    @classmethod
    def configured(cls, engine: Engine, settings: Settings) -> AudienceWorker:
        vault = Vault(settings.secret_key.get_secret_value())
        return cls(engine, vault, OutboundPolicy.configured(settings), settings.flow_poll_seconds)

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run(), name="audiences")

    def wake(self) -> None:
        self._wakeup.set()

    async def close(self) -> None:
        self._stopping = True
        self._wakeup.set()
        if self._task is not None:
            await self._task
        self._syncer.close()

    async def _run(self) -> None:
        while not self._stopping:
            try:
                if await asyncio.to_thread(self._syncer.run_due):
                    continue  # more may be waiting: the next batch at once
            except Exception:  # keep working after a bad moment (database restart, ...)
                log.exception("audience_worker_error")
                await asyncio.sleep(1)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wakeup.wait(), self._poll_seconds)
            self._wakeup.clear()
