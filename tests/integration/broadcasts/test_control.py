"""Pause stops new entries, resume goes on where it stopped, cancel stops for good and ends the
runs still waiting; the throttle holds the pace."""

from __future__ import annotations

import time

import pytest
from sqlalchemy import Engine, func, select
from starlette.testclient import TestClient

from nerve.audit import service as audit
from nerve.flows.models import FlowRun
from nerve.settings import Settings
from tests.factories import Shop
from tests.integration.broadcasts.steps import broadcast, people, publish, seed_segment, sleeper
from tests.waiting import auth, until


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"broadcast_runs_per_second": 100})  # 100 a chunk, 1 s


def _live_runs(engine: Engine) -> int:
    with engine.connect() as conn:
        query = select(func.count()).select_from(FlowRun).where(FlowRun.status == "active")
        return int(conn.execute(query).scalar_one())


def test_pause_resume_and_cancel(client: TestClient, shop: Shop, engine: Engine) -> None:
    seed_segment(engine, shop.workspace_id, "vip", people(1000))
    publish(client, shop, sleeper("newsletter", "vip"))
    started = client.post("/api/v1/flows/newsletter/broadcasts", json={}, headers=auth(shop))
    path = f"/api/v1/broadcasts/{started.json()['id']}"
    until(lambda: broadcast(client, shop, started.json()["id"])["entered"] > 0)
    paused = client.post(f"{path}/pause", headers=auth(shop))
    assert paused.status_code == 200 and paused.json()["status"] == "paused"
    held = paused.json()["entered"]
    assert 0 < held < 1000  # throttled: not everyone at once
    time.sleep(1.5)
    assert client.get(path, headers=auth(shop)).json()["entered"] == held
    assert client.post(f"{path}/pause", headers=auth(shop)).status_code == 409
    assert client.post(f"{path}/resume", headers=auth(shop)).json()["status"] == "running"
    until(lambda: client.get(path, headers=auth(shop)).json()["entered"] > held)
    cancelled = client.post(f"{path}/cancel", headers=auth(shop)).json()
    assert cancelled["status"] == "cancelled" and cancelled["entered"] < 1000
    time.sleep(1.5)
    final = client.get(path, headers=auth(shop)).json()
    assert (final["status"], final["entered"]) == ("cancelled", cancelled["entered"])
    assert client.post(f"{path}/resume", headers=auth(shop)).status_code == 409
    assert _live_runs(engine) == 0  # its waiting runs ended with it
    with engine.connect() as conn:
        outcomes = conn.execute(select(FlowRun.outcome, func.count()).group_by(FlowRun.outcome))
        assert dict(outcomes.all()) == {"cancelled": final["entered"]}
        actions = [e["action"] for e in audit.entries(conn, shop.workspace_id)]
    assert actions[:4] == ["broadcast.cancelled", "broadcast.resumed", "broadcast.paused",
                           "broadcast.started"]  # fmt: skip
