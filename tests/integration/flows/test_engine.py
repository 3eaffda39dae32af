"""The durable flow engine against the real app, database and an HTTP receiver on loopback."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import Engine, func, select
from starlette.testclient import TestClient

from nerve.flows.models import Task
from tests.factories import Shop, make_shop
from tests.receivers import Receiver
from tests.waiting import auth, until


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    receiver = Receiver()
    yield receiver
    receiver.close()


def _cart_flow(url: str, wait: str = "1s") -> dict[str, Any]:
    return {
        "name": "abandoned_cart",
        "trigger": {"event": "Checkout Started", "key": "properties.cart_id"},
        "exit": [
            {
                "event": "Order Completed",
                "where": "properties.cart_id == trigger.properties.cart_id",
                "goal": True,
            }
        ],
        "nodes": [
            {"id": "wait_1", "wait": wait},
            {
                "id": "first",
                "action": "webhook",
                "with": {"url": f"{url}/remind", "body": {"step": 1}},
                "retries": 3,
            },
            {"id": "wait_2", "wait": wait},
            {
                "id": "second",
                "action": "webhook",
                "with": {"url": f"{url}/remind", "body": {"step": 2}},
                "retries": 3,
            },
        ],
    }


def _publish(
    client: TestClient, shop: Shop, flow: dict[str, Any], env: str = "production"
) -> dict[str, Any]:
    response = client.post(
        "/api/v1/flows", params={"environment": env}, json=flow, headers=auth(shop)
    )
    assert response.status_code == 201, response.text
    return response.json()  # type: ignore[no-any-return]


def _track(client: TestClient, shop: Shop, user: str, event: str, cart: str) -> None:
    message = {
        "userId": user,
        "event": event,
        "properties": {"cart_id": cart, "order_id": f"o-{cart}", "total": 10},
    }
    assert (
        client.post("/v1/track", json=message, auth=(shop.write_keys["web"], "")).status_code == 200
    )


def _runs(client: TestClient, shop: Shop, status: str | None = None) -> list[dict[str, Any]]:
    params: dict[str, Any] = {"limit": 1000} | ({"status": status} if status else {})
    return client.get(
        "/api/v1/flows/abandoned_cart/runs", params=params, headers=auth(shop)
    ).json()["data"]  # type: ignore[no-any-return]


def test_abandoned_cart_both_paths_with_real_waits(
    client: TestClient, engine: Engine, receiver: Receiver
) -> None:
    shop = make_shop(engine, kinds=("web",))
    _publish(client, shop, _cart_flow(receiver.url))
    _track(client, shop, "anna", "Checkout Started", "cart-a")
    _track(client, shop, "ben", "Checkout Started", "cart-b")
    _track(
        client, shop, "anna", "Checkout Started", "cart-a"
    )  # the same trigger again: still one run
    until(lambda: len(_runs(client, shop)) == 2)
    until(lambda: len(receiver.deliveries) >= 2)
    _track(client, shop, "ben", "Order Completed", "cart-b")  # Ben orders after the first reminder
    until(
        lambda: (
            len(_runs(client, shop, "completed")) == 1 and len(_runs(client, shop, "exited")) == 1
        )
    )
    steps = [d.body["data"]["step"] for d in receiver.deliveries]
    assert sorted(steps) == [1, 1, 2]
    assert len(receiver.unique_ids()) == 3
    [anna] = _runs(client, shop, "completed")
    assert anna["outcome"] == "completed"
    [ben] = _runs(client, shop, "exited")
    assert ben["outcome"] == "goal"
    run = client.get(f"/api/v1/runs/{anna['id']}", headers=auth(shop)).json()
    kinds = [s["kind"] for s in run["steps"]]
    assert kinds[0] == "entered" and kinds.count("action") == 2 and kinds[-1] == "completed"


def test_failing_receiver_retries_then_dead_letter_then_replay(
    client: TestClient, engine: Engine, receiver: Receiver
) -> None:
    shop = make_shop(engine, kinds=("web",))
    flow = _cart_flow(receiver.url, wait="1s")
    flow["nodes"] = flow["nodes"][:2]
    flow["nodes"][1]["retries"] = 2
    _publish(client, shop, flow)
    receiver.fail_with = 503
    _track(client, shop, "cleo", "Checkout Started", "cart-c")
    letters = until(
        lambda: client.get("/api/v1/dead-letters", headers=auth(shop)).json()["data"], seconds=30
    )
    assert receiver.attempts == 3  # the first try and two retries
    assert _runs(client, shop)[0]["status"] == "failed"
    receiver.fail_with = None
    replay = client.post(f"/api/v1/dead-letters/{letters[0]['id']}/replay", headers=auth(shop))
    assert replay.status_code == 200
    until(lambda: _runs(client, shop, "completed"))
    assert len(receiver.deliveries) == 1
    again = client.post(f"/api/v1/dead-letters/{letters[0]['id']}/replay", headers=auth(shop))
    assert again.status_code == 409


def test_a_refusing_receiver_goes_to_the_dead_letter_queue_at_once(
    client: TestClient, engine: Engine, receiver: Receiver
) -> None:
    shop = make_shop(engine, kinds=("web",))
    flow = _cart_flow(receiver.url)
    flow["nodes"] = [flow["nodes"][1]]
    _publish(client, shop, flow)
    receiver.fail_with = 422
    _track(client, shop, "dora", "Checkout Started", "cart-d")
    letters = until(lambda: client.get("/api/v1/dead-letters", headers=auth(shop)).json()["data"])
    assert receiver.attempts == 1 and letters[0]["error"]["permanent"] is True


def test_new_version_does_not_disturb_waiting_runs(
    client: TestClient, engine: Engine, receiver: Receiver
) -> None:
    shop = make_shop(engine, kinds=("web",))
    flow_v1 = _cart_flow(receiver.url, wait="3s")
    flow_v1["nodes"] = flow_v1["nodes"][:2]
    v1 = _publish(client, shop, flow_v1)
    batch = [
        {
            "type": "track",
            "userId": f"u{n}",
            "event": "Checkout Started",
            "properties": {"cart_id": f"c{n}"},
        }
        for n in range(100)
    ]
    assert (
        client.post(
            "/v1/batch", json={"batch": batch}, auth=(shop.write_keys["web"], "")
        ).status_code
        == 200
    )
    until(lambda: len(_runs(client, shop)) == 100)
    v2 = _publish(client, shop, _cart_flow(receiver.url + "/v2", wait="1s"))
    assert v2["version"] == v1["version"] + 1
    until(lambda: len(_runs(client, shop, "completed")) == 100, seconds=60)
    assert {r["version_id"] for r in _runs(client, shop)} == {v1["version_id"]}
    assert {d.path for d in receiver.deliveries} == {"/remind"} and len(receiver.deliveries) == 100


def test_staging_runs_deliver_nothing(
    client: TestClient, engine: Engine, receiver: Receiver
) -> None:
    shop = make_shop(engine, kinds=("web",))
    flow = _cart_flow(receiver.url)
    flow["nodes"] = [flow["nodes"][1]]
    _publish(client, shop, flow, env="staging")
    _track(client, shop, "eve", "Checkout Started", "cart-e")
    until(lambda: _runs(client, shop, "completed"))
    assert receiver.attempts == 0
    with engine.connect() as conn:
        assert (
            conn.scalar(select(func.count()).select_from(Task).where(Task.status == "pending")) == 0
        )


def test_invalid_flows_are_refused_with_paths(client: TestClient, engine: Engine) -> None:
    shop = make_shop(engine, kinds=("web",))
    bad = {"name": "x", "trigger": {"event": "E"}, "nodes": [{"id": "a", "action": "teleport"}]}
    response = client.post("/api/v1/flows", json=bad, headers=auth(shop))
    assert response.status_code == 400 and response.json()["error"]["code"] == "invalid_flow"
    assert "teleport" in str(response.json()["error"]["details"])
    assert client.get("/api/v1/flows/schema").json()["title"] == "Nerve flow definition"


def test_a_guest_who_signs_in_and_orders_gets_no_reminder(
    client: TestClient, engine: Engine, receiver: Receiver
) -> None:
    shop = make_shop(engine, kinds=("web",))
    flow = _cart_flow(receiver.url, wait="2s")
    _publish(client, shop, flow)
    basic = (shop.write_keys["web"], "")
    # Frida has an account already; as a guest she starts a checkout, then signs in and orders.
    assert (
        client.post(
            "/v1/identify",
            json={"userId": "frida", "traits": {"email": "frida@example.com"}},
            auth=basic,
        ).status_code
        == 200
    )
    until(
        lambda: (
            client.get(
                "/api/v1/profiles", params={"identifier": "user_id:frida"}, headers=auth(shop)
            ).status_code
            == 200
        )
    )
    checkout = {
        "anonymousId": "guest-1",
        "event": "Checkout Started",
        "properties": {"cart_id": "cart-f"},
    }
    assert client.post("/v1/track", json=checkout, auth=basic).status_code == 200
    until(lambda: len(_runs(client, shop)) == 1)
    assert (
        client.post(
            "/v1/identify", json={"userId": "frida", "anonymousId": "guest-1"}, auth=basic
        ).status_code
        == 200
    )
    _track(client, shop, "frida", "Order Completed", "cart-f")
    until(lambda: _runs(client, shop, "exited"))
    again = {"userId": "frida", "event": "Checkout Started", "properties": {"cart_id": "cart-f"}}
    assert (
        client.post("/v1/track", json=again, auth=basic).status_code == 200
    )  # same cart: no new run
    time.sleep(3)
    assert receiver.deliveries == [] and len(_runs(client, shop)) == 1


def test_an_exit_in_the_same_batch_as_the_trigger_ends_the_run(
    client: TestClient, engine: Engine, receiver: Receiver
) -> None:
    shop = make_shop(engine, kinds=("web",))
    _publish(client, shop, _cart_flow(receiver.url, wait="1s"))
    batch = [
        {
            "type": "track",
            "userId": "gus",
            "event": "Checkout Started",
            "properties": {"cart_id": "cart-g"},
        },
        {
            "type": "track",
            "userId": "gus",
            "event": "Order Completed",
            "properties": {"cart_id": "cart-g"},
        },
    ]
    assert (
        client.post(
            "/v1/batch", json={"batch": batch}, auth=(shop.write_keys["web"], "")
        ).status_code
        == 200
    )
    [run] = until(lambda: _runs(client, shop, "exited"))
    assert run["outcome"] == "goal"
    time.sleep(2)
    assert receiver.deliveries == []
