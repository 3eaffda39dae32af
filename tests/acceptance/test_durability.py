"""Every event answered 200 survives a `kill -9` of the server."""

from __future__ import annotations

import threading
import time
import uuid

import httpx
import pytest

from tests.acceptance.conftest import NerveProcess

pytestmark = pytest.mark.slow


def _sender(url: str, write_key: str, acked: list[str], stop: threading.Event, batch: int) -> None:
    with httpx.Client(auth=(write_key, ""), timeout=10) as client:
        while not stop.is_set():
            ids = [str(uuid.uuid4()) for _ in range(batch)]
            items = [
                {"type": "track", "anonymousId": "dev-1", "event": "Product Viewed", "messageId": i}
                for i in ids
            ]
            try:
                response = client.post(f"{url}/v1/batch", json={"batch": items})
            except httpx.HTTPError:
                continue  # server gone: these were never acknowledged
            if response.status_code == 200:
                acked.extend(ids)


def test_acknowledged_events_survive_kill_9(nerve: NerveProcess) -> None:
    nerve.start()
    write_key = nerve.cli("sources", "create", "app", "--kind", "app")["write_key"]
    secret_key = nerve.cli("keys", "create")["secret_key"]
    acked: list[str] = []
    stop = threading.Event()
    senders = [
        threading.Thread(target=_sender, args=(nerve.url, write_key, acked, stop, size))
        for size in (1, 5, 20, 50)
    ]
    for sender in senders:
        sender.start()
    deadline = time.monotonic() + 20
    while len(acked) < 500 and time.monotonic() < deadline:
        time.sleep(0.05)
    nerve.kill()  # SIGKILL while the senders are mid-flight
    stop.set()
    for sender in senders:
        sender.join()
    assert len(acked) >= 500, "the server should have acknowledged events before the kill"

    nerve.start()
    stored = [e["messageId"] for e in nerve.events(secret_key)]
    assert len(stored) == len(set(stored))
    missing = set(acked) - set(stored)
    assert not missing, f"{len(missing)} acknowledged events lost"
