"""Duplicate triggers from several processes start one run; several workers share the work."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
import yaml

from tests.acceptance.conftest import NERVE, NerveProcess
from tests.receivers import Receiver

pytestmark = pytest.mark.slow

_SEND = """
import sys, httpx
url, key, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
for cart in range(n):
    message = {"userId": f"shopper-{cart}", "event": "Checkout Started", "properties": {"cart_id": f"cart-{cart}"}}
    assert httpx.post(url + "/v1/track", json=message, auth=(key, "")).status_code == 200
"""


def test_same_triggers_from_three_processes_start_one_run_each(
    nerve: NerveProcess, tmp_path: Path
) -> None:
    receiver = Receiver()
    postgres = "postgresql" in nerve.env["NERVE_DATABASE_URL"]
    if postgres:  # the scale-out shape: API without background work, two workers
        nerve.env["NERVE_EMBEDDED_WORKER"] = "false"
    nerve.start()
    key = nerve.cli("sources", "create", "web", "--kind", "web")["write_key"]
    secret = nerve.cli("keys", "create")["secret_key"]
    flow = {
        "name": "once_per_cart",
        "trigger": {"event": "Checkout Started", "key": "properties.cart_id"},
        "nodes": [{"id": "notify", "action": "webhook", "with": {"url": f"{receiver.url}/hook"}}],
    }
    (tmp_path / "flow.yaml").write_text(yaml.safe_dump(flow))
    nerve.cli("flows", "apply", str(tmp_path / "flow.yaml"), "--env", "production")
    workers = [
        subprocess.Popen(
            [NERVE, "worker"], cwd=nerve.workdir, env=nerve.env, stderr=subprocess.DEVNULL
        )
        for _ in range(2 if postgres else 0)
    ]
    carts = 20
    try:
        senders = [
            subprocess.Popen([sys.executable, "-c", _SEND, nerve.url, key, str(carts)])
            for _ in range(3)
        ]
        assert all(sender.wait(60) == 0 for sender in senders)
        deadline = time.monotonic() + 60
        while len(receiver.deliveries) < carts and time.monotonic() < deadline:
            time.sleep(0.2)
        time.sleep(1.0)  # would a duplicate still arrive?
        runs = httpx.get(
            f"{nerve.url}/api/v1/flows/once_per_cart/runs",
            params={"limit": 1000},
            headers={"Authorization": f"Bearer {secret}"},
        ).json()["data"]
    finally:
        for worker in workers:
            worker.send_signal(signal.SIGTERM)
        for worker in workers:
            worker.wait(20)
        receiver.close()
    assert len(runs) == carts and {r["status"] for r in runs} == {"completed"}
    assert len(receiver.deliveries) == carts and len(receiver.unique_ids()) == carts


def test_a_replay_in_the_api_wakes_a_worker_on_another_process_at_once(
    nerve: NerveProcess, tmp_path: Path
) -> None:
    """LISTEN/NOTIFY: work made due by one process (here a dead-letter replay in the API)
    wakes the workers elsewhere at once; their own polling is set to 30 s."""
    if "postgresql" not in nerve.env["NERVE_DATABASE_URL"]:
        # LISTEN/NOTIFY exists only on PostgreSQL; on SQLite one process does all the work and
        # wakes its own worker (covered by every other flow test).
        pytest.skip("LISTEN/NOTIFY is PostgreSQL's; SQLite runs one process")
    receiver = Receiver()
    receiver.fail_with = 422  # refused: dead-lettered at the first attempt
    nerve.env |= {"NERVE_EMBEDDED_WORKER": "false", "NERVE_FLOW_POLL_SECONDS": "30"}
    nerve.start()
    key = nerve.cli("sources", "create", "web", "--kind", "web")["write_key"]
    secret = nerve.cli("keys", "create")["secret_key"]
    flow = {
        "name": "notify",
        "trigger": {"event": "Checkout Started"},
        "nodes": [{"id": "call", "action": "webhook", "with": {"url": f"{receiver.url}/hook"}}],
    }
    (tmp_path / "flow.yaml").write_text(yaml.safe_dump(flow))
    nerve.cli("flows", "apply", str(tmp_path / "flow.yaml"), "--env", "production")
    worker = subprocess.Popen(
        [NERVE, "worker"], cwd=nerve.workdir, env=nerve.env, stderr=subprocess.DEVNULL
    )
    headers = {"Authorization": f"Bearer {secret}"}
    try:
        message = {"userId": "ann", "event": "Checkout Started"}
        assert httpx.post(f"{nerve.url}/v1/track", json=message, auth=(key, "")).status_code == 200
        deadline = time.monotonic() + 30
        letters: list[dict[str, object]] = []
        while not letters and time.monotonic() < deadline:
            time.sleep(0.2)
            letters = httpx.get(f"{nerve.url}/api/v1/dead-letters", headers=headers).json()["data"]
        assert letters, "the refused call never reached the dead-letter queue"
        time.sleep(1.0)  # the worker is idle now, its next poll 30 s away
        receiver.fail_with = None
        replay = httpx.post(
            f"{nerve.url}/api/v1/dead-letters/{letters[0]['id']}/replay", headers=headers
        )
        assert replay.status_code == 200
        replayed_at = time.monotonic()
        while not receiver.deliveries and time.monotonic() < replayed_at + 20:
            time.sleep(0.05)
        waited = time.monotonic() - replayed_at
    finally:
        worker.send_signal(signal.SIGTERM)
        worker.wait(20)
        receiver.close()
    assert len(receiver.deliveries) == 1
    assert waited < 10, f"delivered {waited:.1f} s after the replay: woken by polling, not NOTIFY"
