"""`nerve worker`: identity resolution, flows and the bounce mailbox in a process of their own.

Run by hand (any number on PostgreSQL), or by `nerve serve` as its child (`WorkerProcess`): the
server's event commits wake the child through a pipe, and the child stops when the pipe closes
(the server is gone, however it ended).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
import time

import structlog

from nerve.audiences.worker import AudienceWorker
from nerve.channels.bounce_mailbox import BounceMailbox
from nerve.flows.worker import FlowWorker
from nerve.identity.worker import IdentityWorker
from nerve.logging import configure_logging
from nerve.recommendations.trainer import RecommendationTrainer
from nerve.segments.worker import SegmentWorker
from nerve.services import provide_services
from nerve.settings import Settings

log = structlog.get_logger(__name__)
_RESTART_SECONDS = (1, 2, 5, 10, 30)  # backoff after a child's exits close together


async def _run(settings: Settings, wake_fd: int | None) -> None:
    with provide_services(settings) as services:
        identity = IdentityWorker(services.engine, services.consumers)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        if wake_fd is not None:
            loop.add_reader(wake_fd, _woken, wake_fd, identity, stop)
        flows = FlowWorker.configured(services.engine, settings)
        identity.on_resolved(flows.wake)
        audiences = AudienceWorker.configured(services.engine, settings)
        identity.on_resolved(audiences.wake)  # a segment may have changed
        bounces = BounceMailbox.configured(services.engine, settings)
        recommendations = RecommendationTrainer.configured(services.engine, settings)
        segments = SegmentWorker(services.engine)  # window timers and builds
        identity.start()
        flows.start()
        audiences.start()
        recommendations.start()
        segments.start()
        if bounces is not None:
            bounces.start()
        log.info("worker_started", database=services.engine.url.render_as_string())
        await stop.wait()
        if wake_fd is not None:
            loop.remove_reader(wake_fd)
        await identity.close()
        await flows.close()
        await audiences.close()
        await recommendations.close()
        await segments.close()
        if bounces is not None:
            await bounces.close()
        log.info("worker_stopped")


def _woken(wake_fd: int, identity: IdentityWorker, stop: asyncio.Event) -> None:
    try:
        received = os.read(wake_fd, 4096)
    except BlockingIOError:
        return
    if received:
        identity.wake()
    else:  # the server closed its end: it has stopped (or died)
        stop.set()


def run_worker(settings: Settings, wake_fd: int | None = None) -> None:
    configure_logging(settings.log_level, settings.log_format)
    if wake_fd is not None:
        os.set_blocking(wake_fd, False)
    asyncio.run(_run(settings, wake_fd))


class WorkerProcess:
    """`nerve worker` as a child of `nerve serve`: resolution and flows get a core of their own
    instead of sharing the server's (one GIL). The child reads its settings from the same
    environment as the server; `wake` after each event commit; a child that dies is restarted.
    """

    def __init__(self) -> None:
        self._process: subprocess.Popen[bytes] | None = None
        self._wake_fd: int | None = None
        self._supervisor: asyncio.Task[None] | None = None
        self._exits: list[float] = []

    def start(self) -> None:
        self._spawn()
        self._supervisor = asyncio.get_running_loop().create_task(
            self._supervise(), name="worker-process"
        )

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process else None

    def wake(self) -> None:
        if self._wake_fd is None:
            return
        # A full pipe wakes it anyway; a dead child is restarted by the supervisor.
        with contextlib.suppress(BlockingIOError, BrokenPipeError):
            os.write(self._wake_fd, b"\x01")

    async def close(self) -> None:
        if self._supervisor is not None:
            self._supervisor.cancel()
        process = self._process
        if process is None:
            return
        process.terminate()  # finishes the batch in hand, then stops
        try:
            await asyncio.to_thread(process.wait, 30)
        except subprocess.TimeoutExpired:
            log.warning("worker_process_killed", pid=process.pid)
            process.kill()
            await asyncio.to_thread(process.wait)
        self._close_pipe()

    def _spawn(self) -> None:
        read_end, write_end = os.pipe()
        os.set_blocking(write_end, False)
        command = [sys.executable, "-m", "nerve", "worker", "--wake-fd", str(read_end)]
        self._process = subprocess.Popen(command, pass_fds=(read_end,))
        os.close(read_end)
        self._close_pipe()
        self._wake_fd = write_end
        log.info("worker_process_started", pid=self._process.pid)

    def _close_pipe(self) -> None:
        if self._wake_fd is not None:
            os.close(self._wake_fd)
            self._wake_fd = None

    async def _supervise(self) -> None:
        while True:
            await asyncio.sleep(0.5)
            assert self._process is not None
            code = self._process.poll()
            if code is None:
                continue
            now = time.monotonic()
            self._exits = [at for at in self._exits if now - at < 300] + [now]
            delay = _RESTART_SECONDS[min(len(self._exits), len(_RESTART_SECONDS)) - 1]
            log.error("worker_process_exited", code=code, restart_in_seconds=delay)
            await asyncio.sleep(delay)
            self._spawn()
