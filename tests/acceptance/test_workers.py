"""Separate `nerve worker` processes do the background work when the server does not."""

from __future__ import annotations

import signal
import subprocess
import time

import httpx
import pytest

from tests.acceptance.conftest import NERVE, NerveProcess

pytestmark = pytest.mark.slow


def test_two_workers_resolve_every_event_once(nerve: NerveProcess) -> None:
    nerve.env["NERVE_EMBEDDED_WORKER"] = "false"
    nerve.start()
    write_key = nerve.cli("sources", "create", "app", "--kind", "app")["write_key"]
    secret = nerve.cli("keys", "create")["secret_key"]
    customers = 30
    batch = []
    for n in range(customers):
        batch += [
            {"type": "track", "anonymousId": f"dev-{n}", "event": "Product Viewed"},
            {"type": "identify", "anonymousId": f"dev-{n}", "userId": f"user-{n}"},
            {"type": "identify", "anonymousId": f"tab-{n}", "userId": f"user-{n}"},
        ]
    assert (
        httpx.post(f"{nerve.url}/v1/batch", json={"batch": batch}, auth=(write_key, "")).status_code
        == 200
    )
    headers = {"Authorization": f"Bearer {secret}"}
    time.sleep(1.0)
    # Nothing resolves without a worker.
    lookup = httpx.get(
        f"{nerve.url}/api/v1/profiles", params={"identifier": "user_id:user-0"}, headers=headers
    )
    assert lookup.status_code == 404

    workers = [
        subprocess.Popen(
            [NERVE, "worker"], cwd=nerve.workdir, env=nerve.env, stderr=subprocess.DEVNULL
        )
        for _ in range(2)
    ]
    try:
        deadline = time.monotonic() + 30
        people: dict[str, dict[str, object]] = {}
        while len(people) < customers and time.monotonic() < deadline:
            for n in range(customers):
                response = httpx.get(
                    f"{nerve.url}/api/v1/profiles",
                    params={"identifier": f"user_id:user-{n}"},
                    headers=headers,
                )
                if response.status_code == 200 and len(response.json()["identifiers"]) == 3:
                    people[f"user-{n}"] = response.json()
            time.sleep(0.2)
    finally:
        for process in workers:
            process.send_signal(signal.SIGTERM)
        codes = [process.wait(timeout=20) for process in workers]
    assert codes == [0, 0], "workers stop cleanly on SIGTERM"
    assert len(people) == customers
    assert len({p["id"] for p in people.values()}) == customers
    for n in range(customers):
        timeline = httpx.get(
            f"{nerve.url}/api/v1/profiles/{people[f'user-{n}']['id']}/timeline", headers=headers
        )
        assert len(timeline.json()["data"]) == 3
