"""`nerve serve`, `nerve worker` and `nerve demo`: the long-running processes."""

from __future__ import annotations

from typing import Annotated

import typer

from nerve.cli.output import fail
from nerve.db import migrate
from nerve.db.engine import make_engine
from nerve.errors import NerveError
from nerve.server.config import server_options
from nerve.settings import get_settings


def serve(
    host: Annotated[str | None, typer.Option(help="Interface to bind.")] = None,
    port: Annotated[int | None, typer.Option(help="Port to listen on.")] = None,
    workers: Annotated[int, typer.Option(help="Server processes (PostgreSQL only).")] = 1,
) -> None:
    """Run the HTTP API."""
    import uvicorn

    settings = get_settings()
    if workers > 1 and settings.is_sqlite:
        fail(NerveError("several server processes need PostgreSQL; SQLite has one writer"))
    if settings.auto_migrate:
        engine = make_engine(settings)
        migrate.upgrade(engine)
        engine.dispose()
    uvicorn.run(
        "nerve.app:create_served_app",
        factory=True,
        host=host or settings.host,
        port=port or settings.port,
        workers=workers if workers > 1 else None,
        loop="uvloop",
        access_log=False,
        log_level=settings.log_level,
        timeout_graceful_shutdown=10,
        **server_options(settings),  # the HTTP protocol with its limits, keep-alive
    )


def worker(
    wake_fd: Annotated[
        int | None,
        typer.Option(hidden=True, help="A pipe `nerve serve` wakes its worker child through."),
    ] = None,
) -> None:
    """Run background work (identity resolution, flows) until stopped; run many on PostgreSQL."""
    from nerve.worker import run_worker

    run_worker(get_settings(), wake_fd)


def demo(
    host: Annotated[str, typer.Option(help="Interface to bind.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    customers: Annotated[int, typer.Option(help="Simulated customers.")] = 40,
    duration: Annotated[
        float | None, typer.Option(help="Stop after this many seconds (default: run until Ctrl-C).")
    ] = None,
    speed: Annotated[
        float | None, typer.Option(help="Run the simulated customers this many times faster.")
    ] = None,
) -> None:
    """Run a demo shop on SQLite with simulated customers on every head."""
    from nerve.demo.service import run_demo

    run_demo(host=host, port=port, customers=customers, duration=duration, speed=speed)
