"""kill -9 of a worker between an action's call and its commit: the step is done exactly once."""

from __future__ import annotations

import signal
import subprocess
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from tests.acceptance.conftest import NERVE, NerveProcess

pytestmark = pytest.mark.slow


class _SlowReceiver:
    """Holds the first delivery open until told to answer; records every webhook-id."""

    def __init__(self) -> None:
        self.ids: list[str] = []
        self.first_arrived = threading.Event()
        self.release = threading.Event()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                self.rfile.read(int(self.headers["Content-Length"]))
                receiver.ids.append(self.headers["webhook-id"])
                if len(receiver.ids) == 1:
                    receiver.first_arrived.set()
                    receiver.release.wait(30)
                try:
                    self.send_response(200)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                except OSError:
                    pass  # the worker that asked is dead

            def log_message(self, *args: Any) -> None:
                """Quiet: the test reads what arrived, not the access log."""

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.release.set()
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver() -> Iterator[_SlowReceiver]:
    receiver = _SlowReceiver()
    yield receiver
    receiver.close()


def _worker(nerve: NerveProcess) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [NERVE, "worker"], cwd=nerve.workdir, env=nerve.env, stderr=subprocess.DEVNULL
    )


def test_killed_worker_mid_action_the_receiver_sees_the_same_key_and_the_run_completes_once(
    nerve: NerveProcess, tmp_path: Path, receiver: _SlowReceiver
) -> None:
    nerve.env |= {"NERVE_EMBEDDED_WORKER": "false", "NERVE_FLOW_LEASE_SECONDS": "3"}
    nerve.start()
    write_key = nerve.cli("sources", "create", "web", "--kind", "web")["write_key"]
    secret = nerve.cli("keys", "create")["secret_key"]
    flow = {
        "name": "crash_test",
        "trigger": {"event": "Checkout Started", "key": "properties.cart_id"},
        "nodes": [{"id": "notify", "action": "webhook", "with": {"url": f"{receiver.url}/hook"}}],
    }
    (tmp_path / "flow.yaml").write_text(yaml.safe_dump(flow))
    assert (
        nerve.cli("flows", "apply", str(tmp_path / "flow.yaml"), "--env", "production")["version"]
        == 1
    )

    first = _worker(nerve)
    try:
        message = {"userId": "u1", "event": "Checkout Started", "properties": {"cart_id": "c1"}}
        assert (
            httpx.post(f"{nerve.url}/v1/track", json=message, auth=(write_key, "")).status_code
            == 200
        )
        assert receiver.first_arrived.wait(30), "the action was never called"
        first.send_signal(signal.SIGKILL)  # called, not yet committed
        first.wait(10)
    finally:
        if first.poll() is None:
            first.kill()
    receiver.release.set()

    second = _worker(nerve)
    try:
        headers = {"Authorization": f"Bearer {secret}"}
        deadline = time.monotonic() + 40
        runs: list[dict[str, Any]] = []
        while time.monotonic() < deadline:
            runs = httpx.get(f"{nerve.url}/api/v1/flows/crash_test/runs", headers=headers).json()[
                "data"
            ]
            if runs and runs[0]["status"] == "completed":
                break
            time.sleep(0.2)
    finally:
        second.send_signal(signal.SIGTERM)
        second.wait(20)
    assert len(runs) == 1 and runs[0]["status"] == "completed"
    assert len(receiver.ids) == 2 and receiver.ids[0] == receiver.ids[1]
    detail = httpx.get(f"{nerve.url}/api/v1/runs/{runs[0]['id']}", headers=headers).json()
    assert [s["kind"] for s in detail["steps"]].count("action") == 1
