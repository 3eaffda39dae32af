"""A broadcast whose worker is killed (SIGKILL) halfway resumes in another worker and reaches
every member exactly once: each chunk commits with its cursor, and a member's entry is keyed by
the broadcast."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import Engine
from starlette.testclient import TestClient

from nerve.settings import Settings
from tests.factories import Shop
from tests.integration.broadcasts.steps import broadcast, people, publish, runs, seed_segment
from tests.integration.broadcasts.steps import sleeper as sleeper_flow
from tests.waiting import auth, until

pytestmark = pytest.mark.slow
NERVE = str(Path(sys.executable).parent / "nerve")
MEMBERS = 5000


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"embedded_worker": False})  # the subprocesses fan out


def _worker(database_url: str, workdir: Path) -> subprocess.Popen[bytes]:
    env = os.environ | {"NERVE_DATABASE_URL": database_url, "NERVE_LOG_LEVEL": "warning",
                        "NERVE_BROADCAST_RUNS_PER_SECOND": "2000"}  # fmt: skip
    return subprocess.Popen([NERVE, "worker"], cwd=workdir, env=env, stderr=subprocess.DEVNULL)


def test_a_killed_fan_out_resumes_and_reaches_each_member_once(
    client: TestClient, shop: Shop, settings: Settings, engine: Engine, tmp_path: Path
) -> None:
    seed_segment(engine, shop.workspace_id, "vip", people(MEMBERS))
    publish(client, shop, sleeper_flow("newsletter", "vip"))
    started = client.post("/api/v1/flows/newsletter/broadcasts", json={}, headers=auth(shop))
    broadcast_id = started.json()["id"]
    first = _worker(settings.database_url, tmp_path)
    try:
        until(lambda: broadcast(client, shop, broadcast_id)["entered"] >= 1000, seconds=30)
        first.send_signal(signal.SIGKILL)  # mid-broadcast, most likely mid-chunk
        first.wait(10)
    finally:
        if first.poll() is None:
            first.kill()
    halfway = broadcast(client, shop, broadcast_id)
    assert halfway["status"] == "running" and 1000 <= halfway["entered"] < MEMBERS
    assert runs(engine) == (halfway["entered"], halfway["entered"])  # the chunk it died in: gone
    second = _worker(settings.database_url, tmp_path)
    try:
        done = until(lambda: (b := broadcast(client, shop, broadcast_id))["status"] == "done"
                     and b, seconds=60)  # fmt: skip
    finally:
        second.send_signal(signal.SIGTERM)
        second.wait(20)
    assert (done["entered"], done["skipped"]) == (MEMBERS, 0)
    assert runs(engine) == (MEMBERS, MEMBERS)
