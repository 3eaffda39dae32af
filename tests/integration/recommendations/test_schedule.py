"""Recommendations retrain in the background: a training asked for over the API runs within
seconds, and on a (short) schedule each run replaces what the one before stored."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from sqlalchemy import Engine
from starlette.testclient import TestClient

from nerve.app import create_app
from nerve.settings import Settings
from tests.factories import Shop
from tests.integration.recommendations.conftest import admin, order, settle, skus, stock


@pytest.fixture
def fast_client(settings: Settings) -> Iterator[TestClient]:
    quick = settings.model_copy(update={"recommendations_retrain_minutes": 0.02})  # 1.2 s
    with TestClient(create_app(quick)) as client:
        yield client


def _eventually(check: Callable[[], Any], seconds: float = 10) -> Any:
    deadline = time.monotonic() + seconds
    while True:
        found = check()
        if found:
            return found
        assert time.monotonic() < deadline, "not within time"
        time.sleep(0.1)


def _runs(client: TestClient, shop: Shop) -> list[dict[str, Any]]:
    answer = admin(client, shop.secret_key, "GET", "/api/v1/recommendations/training")
    assert answer.status_code == 200, answer.text
    return list(answer.json()["runs"])


def test_training_runs_when_asked_and_then_on_its_schedule(
    fast_client: TestClient, engine: Engine, shop: Shop
) -> None:
    client = fast_client
    stock(engine, shop)
    # No orders yet, so nothing is scheduled: the run comes from the request.
    queued = admin(client, shop.secret_key, "POST", "/api/v1/recommendations/train")
    assert queued.status_code == 202, queued.text
    assert queued.json()["requested_at"] is not None
    first = _eventually(lambda: _runs(client, shop))
    assert first[0]["status"] == "trained" and first[0]["counts"]["orders"] == 0
    for n in range(2):
        order(client, shop, f"runner-{n}", f"R-{n}", ["SHOE-1", "SOCK-1"])
    settle(engine)

    def together() -> list[str]:
        return skus(admin(client, shop.secret_key, "GET",
                          "/api/v1/products/SHOE-1/recommendations"))  # fmt: skip

    assert _eventually(lambda: together() == ["SOCK-1"])
    for n in range(5):
        order(client, shop, f"hiker-{n}", f"H-{n}", ["SHOE-1", "BOTTLE-1"])
    settle(engine)
    # A later scheduled run replaces the neighbours: bottles now lead.
    assert _eventually(lambda: together() == ["BOTTLE-1", "SOCK-1"])
    runs = _runs(client, shop)
    assert runs[0]["counts"]["orders"] == 7 and len(runs) >= 3
    assert all(run["status"] == "trained" for run in runs)
