"""The demo's HTTP server: Nerve's API and the demo's pages (mail, phones, Slack), run in-process
on its own thread and stopped gracefully.

On a thread uvicorn installs no signal handlers, so the demo decides what Ctrl-C and SIGTERM do.
"""

from __future__ import annotations

import threading
import time

import httpx
import uvicorn
from fastapi import APIRouter

from nerve.app import create_app
from nerve.errors import DemoError as DemoError  # the demo's errors, listed with the others
from nerve.server.config import server_options
from nerve.settings import Settings


class DemoServer:
    def __init__(self, settings: Settings, routers: list[APIRouter]) -> None:
        app = create_app(settings)
        for router in routers:  # the demo's own pages
            app.include_router(router)
        config = uvicorn.Config(
            app,
            host=settings.host,
            port=settings.port,
            loop="uvloop",
            lifespan="on",
            access_log=False,
            # The demo's own screen shows what happens; uvicorn speaks up only about problems.
            log_level="warning",
            timeout_graceful_shutdown=5,
            **server_options(settings),
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, name="nerve-demo-server")

    def start(self, base_url: str, timeout: float = 30.0) -> None:
        """Start serving and return once `/healthz` answers."""
        self._thread.start()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not self._thread.is_alive():
                raise DemoError(
                    f"the server could not start on {base_url}; is the port taken?"
                    " Try another with --port."
                )
            # `started` first: another process on the same port would answer /healthz too.
            if self._server.started and _healthy(base_url):
                return
            time.sleep(0.05)
        raise DemoError(f"the server at {base_url} did not become healthy in {timeout:.0f} s")

    def stop(self) -> None:
        """Finish the requests in flight, commit queued events, then stop."""
        self._server.should_exit = True
        if self._thread.is_alive():
            self._thread.join()

    def hurry(self) -> None:
        """Stop without waiting for open connections (a second Ctrl-C)."""
        self._server.force_exit = True


def _healthy(base_url: str) -> bool:
    try:
        return httpx.get(f"{base_url}/healthz", timeout=1.0).status_code == 200
    except httpx.HTTPError:
        return False
