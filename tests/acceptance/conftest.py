"""Drive the real `nerve` CLI and server as subprocesses, as a user would."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import LOOPBACK_RECEIVERS

NERVE = str(Path(sys.executable).parent / "nerve")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class NerveProcess:
    """A `nerve serve` subprocess plus the CLI, sharing one database."""

    def __init__(self, database_url: str, workdir: Path) -> None:
        self.workdir = workdir
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = {
            **os.environ,
            "NERVE_DATABASE_URL": database_url,
            "NERVE_LOG_LEVEL": "warning",
            # The tests' webhook receivers listen on loopback: allowed here, never by default.
            "NERVE_OUTBOUND_ALLOW": LOOPBACK_RECEIVERS,
        }
        self.process: subprocess.Popen[bytes] | None = None

    def cli(self, *args: str) -> dict[str, Any]:
        result = self._run_json(*args)
        assert result.returncode == 0, result.stderr
        return json.loads(result.stdout)  # type: ignore[no-any-return]

    def cli_error(self, *args: str, **env: str) -> dict[str, Any]:
        """The error of a command that must fail: one `{"error": ...}` object on stdout."""
        result = self._run_json(*args, **env)
        assert result.returncode == 1, result.stdout + result.stderr
        [line] = result.stdout.splitlines()
        return json.loads(line)["error"]  # type: ignore[no-any-return]

    def _run_json(self, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [NERVE, *args, "--json"],
            cwd=self.workdir,
            env=self.env | env,
            capture_output=True,
            text=True,
            timeout=60,
        )

    def start(self) -> None:
        with open(self.workdir / "serve.log", "ab") as log:
            self.process = subprocess.Popen(
                [NERVE, "serve", "--port", str(self.port)],
                cwd=self.workdir,
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            assert self.process.poll() is None, (self.workdir / "serve.log").read_text()
            try:
                if httpx.get(f"{self.url}/healthz", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass  # not listening yet: ask again
            time.sleep(0.1)
        raise AssertionError("nerve serve did not become healthy")

    def kill(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def events(self, secret_key: str, **params: Any) -> list[dict[str, Any]]:
        """Every stored event, following the cursor."""
        found: list[dict[str, Any]] = []
        cursor = None
        while True:
            query = {"limit": 1000, **params} | ({"cursor": cursor} if cursor else {})
            response = httpx.get(
                f"{self.url}/api/v1/events",
                params=query,
                headers={"Authorization": f"Bearer {secret_key}"},
                timeout=30,
            )
            assert response.status_code == 200, response.text
            page = response.json()
            found += page["data"]
            cursor = page["next_cursor"]
            if cursor is None:
                return found


@pytest.fixture
def nerve(database_url: str, tmp_path: Path) -> Iterator[NerveProcess]:
    server = NerveProcess(database_url, tmp_path)
    yield server
    server.stop()
