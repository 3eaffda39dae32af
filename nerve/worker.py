"""`nerve worker`: the background jobs of `nerve serve`'s embedded worker, in their own process."""

from __future__ import annotations

import asyncio
import signal

import structlog

from nerve.flows.worker import FlowWorker
from nerve.identity.worker import IdentityWorker
from nerve.logging import configure_logging
from nerve.services import provide_services
from nerve.settings import Settings

log = structlog.get_logger(__name__)


async def _run(settings: Settings) -> None:
    with provide_services(settings) as services:
        identity = IdentityWorker(services.engine, services.consumers)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        flows = FlowWorker.configured(services.engine, settings)
        identity.on_resolved(flows.wake)
        identity.start()
        flows.start()
        log.info("worker_started", database=services.engine.url.render_as_string())
        await stop.wait()
        await identity.close()
        await flows.close()
        log.info("worker_stopped")


def run_worker(settings: Settings) -> None:
    configure_logging(settings.log_level, settings.log_format)
    asyncio.run(_run(settings))
