"""Separate `nerve worker` processes do the background work when the server does not."""

from __future__ import annotations

import signal
import subprocess
import time
from pathlib import Path

import httpx
import pytest
from sqlalchemy import Engine, distinct, func, select

from nerve.db.engine import make_engine
from nerve.events.models import Event
from nerve.flows.models import FlowRun
from nerve.identity.models import Identifier, Profile
from nerve.settings import Settings
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


def test_killing_one_of_three_workers_mid_stream_loses_and_repeats_nothing(
    nerve: NerveProcess, database_url: str, tmp_path: Path
) -> None:
    nerve.env["NERVE_EMBEDDED_WORKER"] = "false"
    nerve.start()
    write_key = nerve.cli("sources", "create", "app", "--kind", "app")["write_key"]
    flow = tmp_path / "every_view.yaml"
    flow.write_text(
        "name: every_view\n"
        "trigger: {event: Product Viewed, reentry: always}\n"
        "nodes: [{id: pause, wait: 1d}]\n"
    )
    nerve.cli("flows", "apply", str(flow), "--env", "production")
    workers = [_worker(nerve) for _ in range(3)]
    sent = 0
    try:
        for round_ in range(30):
            batch = [
                message
                for n in range(round_ * 20, round_ * 20 + 20)
                for message in (
                    {"type": "track", "anonymousId": f"dev-{n % 150}", "event": "Product Viewed"},
                    {"type": "identify", "anonymousId": f"dev-{n % 150}", "userId": f"u-{n % 90}",
                     "traits": {"email": f"c{n % 90}@example.com"}},
                )
            ]  # fmt: skip
            response = httpx.post(
                f"{nerve.url}/v1/batch", json={"batch": batch}, auth=(write_key, "")
            )
            assert response.status_code == 200
            sent += len(batch)
            if round_ == 10:
                workers[0].send_signal(signal.SIGKILL)  # mid-stream, mid-batch if it can
            time.sleep(0.05)
        engine = make_engine(Settings(database_url=database_url, _env_file=None))  # type: ignore[call-arg]
        deadline = time.monotonic() + 60
        while _unresolved(engine) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert _unresolved(engine) == 0, "the two surviving workers resolve everything"
        with engine.connect() as conn:
            stored = conn.scalar(select(func.count()).select_from(Event))
            runs = conn.scalar(select(func.count()).select_from(FlowRun))
            people_by_user = conn.execute(
                select(Identifier.value, func.count(distinct(Profile.cluster_id)))
                .join(Profile, Profile.id == Identifier.profile_id)
                .where(Identifier.type == "user_id")
                .group_by(Identifier.value)
            ).all()
        engine.dispose()
    finally:
        for process in workers:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
                process.wait(timeout=20)
    assert stored == sent
    assert runs == sent // 2, "every Product Viewed started exactly one run"
    assert len(people_by_user) == 90 and all(count == 1 for _, count in people_by_user)


def _worker(nerve: NerveProcess) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [NERVE, "worker"], cwd=nerve.workdir, env=nerve.env, stderr=subprocess.DEVNULL
    )


def _unresolved(engine: Engine) -> int:
    with engine.connect() as conn:
        count = conn.scalar(select(func.count()).where(Event.profile_id.is_(None))) or 0
    return count
