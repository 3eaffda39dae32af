"""`nerve serve` runs its embedded worker as a child process: woken by event commits, restarted
when it dies, gone when the server is, and counted in the server's `/metrics`."""

from __future__ import annotations

import os
import re
import signal
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.acceptance.conftest import NerveProcess

pytestmark = pytest.mark.slow


def _children(pid: int) -> list[int]:
    return [int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]


def _until(check: Any, seconds: float = 20) -> Any:
    deadline = time.monotonic() + seconds
    while not (found := check()):
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)
    return found


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie (dead, not yet reaped by its parent) counts as gone.
    return Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0] != "Z"


def test_the_worker_child_is_restarted_and_counted(nerve: NerveProcess) -> None:
    nerve.start()
    assert nerve.process is not None
    write_key = nerve.cli("sources", "create", "web", "--kind", "web")["write_key"]
    headers = {"Authorization": f"Bearer {nerve.cli('keys', 'create')['secret_key']}"}

    def send(user: str) -> None:
        message = {"userId": user, "event": "Product Viewed", "properties": {"category": "Tea"}}
        response = httpx.post(f"{nerve.url}/v1/track", json=message, auth=(write_key, ""))
        assert response.status_code == 200

    def resolved(user: str) -> bool:
        found = httpx.get(
            f"{nerve.url}/api/v1/profiles", params={"identifier": f"user_id:{user}"},
            headers=headers,
        )  # fmt: skip
        return found.status_code == 200

    [child] = _until(lambda: _children(nerve.process.pid))  # type: ignore[union-attr]
    send("before")
    _until(lambda: resolved("before"))

    os.kill(child, signal.SIGKILL)
    send("after")  # stored by the server while no worker runs
    [restarted] = _until(lambda: [p for p in _children(nerve.process.pid) if p != child])  # type: ignore[union-attr]
    _until(lambda: resolved("after"))
    assert "worker_process_exited" in (nerve.workdir / "serve.log").read_text()

    # Both children's work in one scrape (Prometheus' multiprocess mode).
    scraped = httpx.get(f"{nerve.url}/metrics").text
    [count] = re.findall(r"^nerve_identity_events_resolved_total (\S+)$", scraped, re.M)
    assert float(count) == 2.0

    nerve.kill()  # kill -9: the child sees its wake pipe close and stops by itself
    _until(lambda: not _alive(restarted), seconds=15)
