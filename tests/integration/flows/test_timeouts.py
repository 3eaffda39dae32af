"""Per-action timeouts and retryable answers, against a real receiver on loopback."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import Engine
from starlette.testclient import TestClient

from tests.factories import Shop, make_shop
from tests.receivers import Receiver
from tests.waiting import auth, until


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    receiver = Receiver()
    yield receiver
    receiver.close()


def _order_flow(url: str, **node: Any) -> dict[str, Any]:
    """One webhook per order, retried once."""
    return {
        "name": "order_notice",
        "trigger": {"event": "Order Completed", "key": "properties.order_id"},
        "nodes": [
            {
                "id": "notify",
                "action": "webhook",
                "with": {"url": f"{url}/orders"},
                "retries": 1,
                **node,
            }
        ],
    }


def _publish(client: TestClient, shop: Shop, flow: dict[str, Any]) -> None:
    response = client.post(
        "/api/v1/flows", params={"environment": "production"}, json=flow, headers=auth(shop)
    )
    assert response.status_code == 201, response.text


def _order(client: TestClient, shop: Shop, order: str) -> None:
    message = {"userId": "anna", "event": "Order Completed", "properties": {"order_id": order}}
    response = client.post("/v1/track", json=message, auth=(shop.write_keys["web"], ""))
    assert response.status_code == 200, response.text


def _the_run(client: TestClient, shop: Shop) -> dict[str, Any]:
    """The one run of the flow, with its steps and tasks."""
    runs = until(
        lambda: client.get("/api/v1/flows/order_notice/runs", headers=auth(shop)).json()["data"]
    )
    response = client.get(f"/api/v1/runs/{runs[0]['id']}", headers=auth(shop))
    assert response.status_code == 200, response.text
    return response.json()  # type: ignore[no-any-return]


def _steps(run: dict[str, Any], *kinds: str) -> list[dict[str, Any]]:
    return [s for s in run["steps"] if s["kind"] in kinds]


def _dead_letters(client: TestClient, shop: Shop) -> list[dict[str, Any]]:
    return client.get("/api/v1/dead-letters", headers=auth(shop)).json()["data"]  # type: ignore[no-any-return]


def _first_outcome(client: TestClient, shop: Shop, seconds: float) -> tuple[dict[str, Any], float]:
    """The first attempt's recorded step (error or action) and when it was seen."""
    step = until(
        lambda: _steps(_the_run(client, shop), "error", "action"), seconds=seconds, every=0.02
    )[0]
    return step, time.monotonic()


def test_a_slow_receiver_is_cut_off_at_the_timeout_retried_then_dead_lettered(
    client: TestClient, engine: Engine, receiver: Receiver
) -> None:
    shop = make_shop(engine, kinds=("web",))
    receiver.delay = 3.0  # answers 200, but only after three seconds
    _publish(client, shop, _order_flow(receiver.url, timeout="1s"))
    _order(client, shop, "o-1")
    first, seen_at = _first_outcome(client, shop, seconds=10)
    waited = seen_at - receiver.arrivals[0]
    assert first["kind"] == "error", first  # not the late 200
    assert 0.9 <= waited < 2.5, f"the attempt was given up after {waited:.2f}s, not ~1s"
    assert first["detail"]["attempt"] == 1 and first["detail"]["will_retry"] is True
    assert "timeout" in first["detail"]["error"].lower()

    [letter] = until(lambda: _dead_letters(client, shop), seconds=15)
    assert receiver.attempts == 2  # the first try and one retry, each cut off
    assert letter["attempts"] == 2 and letter["node"] == "notify"
    assert letter["error"]["permanent"] is False
    assert "timeout" in letter["error"]["message"].lower()
    run = _the_run(client, shop)
    assert run["status"] == "failed"
    errors = [(s["detail"]["attempt"], s["detail"]["will_retry"]) for s in _steps(run, "error")]
    assert errors == [(1, True), (2, False)]
    assert _steps(run, "action", "completed") == []
    [task] = run["tasks"]
    assert task["status"] == "dead" and "timeout" in task["last_error"]["message"].lower()


def test_a_receiver_trickling_its_answer_is_cut_off_at_the_timeout_too(
    client: TestClient, engine: Engine, receiver: Receiver
) -> None:
    shop = make_shop(engine, kinds=("web",))
    receiver.delay, receiver.trickle = 3.0, True  # headers at once, the body over three seconds
    _publish(client, shop, _order_flow(receiver.url, timeout="1s"))
    _order(client, shop, "o-1")
    first, seen_at = _first_outcome(client, shop, seconds=10)
    waited = seen_at - receiver.arrivals[0]
    assert first["kind"] == "error" and waited < 2.5, (first, waited)


def test_a_429_answer_is_retried_and_then_delivered_with_the_same_idempotency_key(
    client: TestClient, engine: Engine, receiver: Receiver
) -> None:
    shop = make_shop(engine, kinds=("web",))
    receiver.answers = [429]  # "too many requests": the first attempt is to be retried later
    _publish(client, shop, _order_flow(receiver.url))
    _order(client, shop, "o-1")
    run = until(
        lambda: (run := _the_run(client, shop))["status"] == "completed" and run,
        seconds=15,
    )
    assert receiver.attempts == 2
    [delivery] = receiver.deliveries
    assert [s["kind"] for s in run["steps"]] == ["entered", "error", "action", "completed"]
    error, action = _steps(run, "error")[0]["detail"], _steps(run, "action")[0]["detail"]
    assert error["attempt"] == 1 and error["will_retry"] is True and "429" in error["error"]
    assert action["attempt"] == 2 and action["result"] == {"status": 200}
    assert action["idempotency_key"] == delivery.headers["webhook-id"]
    assert _dead_letters(client, shop) == []


@pytest.mark.parametrize("timeout", ["soon", "0s", "-1s"])
def test_a_timeout_that_is_not_a_duration_is_refused_at_publish(
    client: TestClient, engine: Engine, timeout: str
) -> None:
    shop = make_shop(engine, kinds=("web",))
    response = client.post(
        "/api/v1/flows",
        json=_order_flow("http://127.0.0.1:9", timeout=timeout),
        headers=auth(shop),
    )
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert error["code"] == "invalid_flow"
    assert [p["path"] for p in error["details"]] == ["nodes[0].timeout"]
