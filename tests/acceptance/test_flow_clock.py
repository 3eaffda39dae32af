"""A worker whose own clock is 10 minutes fast fires no timer early: due times use the
database clock. The worker runs under libfaketime (Debian package `faketime`)."""

from __future__ import annotations

import signal
import subprocess
import time
from pathlib import Path

import httpx
import pytest
import yaml

from tests.acceptance.conftest import NERVE, NerveProcess
from tests.receivers import Receiver

pytestmark = pytest.mark.slow


def test_a_fast_worker_clock_fires_no_timer_early(nerve: NerveProcess, tmp_path: Path) -> None:
    library = next(Path("/usr/lib").glob("*/faketime/libfaketime.so.1"), None)
    assert library, "scripts/test installs the Debian package faketime"
    receiver = Receiver()
    nerve.env["NERVE_EMBEDDED_WORKER"] = "false"
    nerve.start()
    key = nerve.cli("sources", "create", "web", "--kind", "web")["write_key"]
    flow = {
        "name": "clock_test",
        "trigger": {"event": "Checkout Started"},
        "nodes": [
            {"id": "wait", "wait": "4s"},
            {"id": "notify", "action": "webhook", "with": {"url": f"{receiver.url}/hook"}},
        ],
    }
    (tmp_path / "flow.yaml").write_text(yaml.safe_dump(flow))
    nerve.cli("flows", "apply", str(tmp_path / "flow.yaml"), "--env", "production")
    # LD_PRELOAD directly, not the `faketime` wrapper: it forks, and a SIGTERM to it would
    # leave the worker running.
    fast = nerve.env | {"LD_PRELOAD": str(library), "FAKETIME": "+10m"}
    worker = subprocess.Popen(
        [NERVE, "worker"], cwd=nerve.workdir, env=fast, stderr=subprocess.DEVNULL
    )
    try:
        time.sleep(3)  # let the worker start (imports) before the clock starts counting
        sent = time.monotonic()
        message = {"userId": "u1", "event": "Checkout Started"}
        assert httpx.post(f"{nerve.url}/v1/track", json=message, auth=(key, "")).status_code == 200
        deadline = sent + 60  # a loaded machine starts the worker slowly; early is the fault
        while not receiver.deliveries and time.monotonic() < deadline:
            time.sleep(0.05)
        elapsed = time.monotonic() - sent
    finally:
        worker.send_signal(signal.SIGTERM)
        worker.wait(20)
        receiver.close()
    assert receiver.deliveries, "the timer never fired"
    assert elapsed >= 4.0, f"fired after {elapsed:.2f}s: early"
