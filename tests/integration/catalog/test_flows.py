"""Flows triggered by catalog events: a price change and a stock drop below minimum each start
exactly one run (also when the same change is sent twice); runs belong to the shop, and a
catalog flow that would need a person is refused at publish."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import orjson
import pytest
from sqlalchemy import Engine, func, select
from starlette.testclient import TestClient

from nerve.flows.models import FlowRun
from tests.factories import Shop
from tests.receivers import Receiver
from tests.waiting import auth, until


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    receiver = Receiver()
    yield receiver
    receiver.close()


def _flow(name: str, event: str, url: str, **trigger: Any) -> dict[str, Any]:
    return {
        "name": name,
        "trigger": {"type": "catalog", "event": event, "key": "properties.sku",
                    "reentry": "always"} | trigger,
        "nodes": [{"id": "tell", "action": "webhook", "with": {"url": f"{url}/{name}"}}],
    }  # fmt: skip


def _publish(client: TestClient, shop: Shop, flow: dict[str, Any]) -> Any:
    return client.post("/api/v1/flows", params={"environment": "production"}, json=flow,
                       headers=auth(shop))  # fmt: skip


def _put(client: TestClient, shop: Shop, price: str) -> None:
    line = {"sku": "TEE-1", "name": "Tee", "price": price, "currency": "EUR"}
    answer = client.put("/api/v1/products", content=orjson.dumps(line),
                        headers=auth(shop) | {"Content-Type": "application/x-ndjson"})  # fmt: skip
    assert answer.status_code == 200, answer.text


def _runs(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(FlowRun)).scalar_one())


def test_a_price_change_and_a_stock_drop_each_start_exactly_one_run(
    client: TestClient, shop: Shop, engine: Engine, receiver: Receiver
) -> None:
    for flow in (_flow("price_watch", "price_changed", receiver.url),
                 _flow("reorder", "stock_below_minimum", receiver.url)):  # fmt: skip
        assert _publish(client, shop, flow).status_code == 201
    _put(client, shop, "19.99")  # new: no price change
    stock = {"on_hand": 10, "minimum": 5}
    assert client.patch("/api/v1/inventory/TEE-1", json=stock, headers=auth(shop)).is_success
    for _ in range(2):  # the same change twice: one event, one run
        _put(client, shop, "14.99")
        low = client.patch("/api/v1/inventory/TEE-1", json={"on_hand": 3}, headers=auth(shop))
        assert low.status_code == 200
    deliveries = until(lambda: len(receiver.deliveries) >= 2 and receiver.deliveries)
    time.sleep(1.0)  # room for a duplicate to show up
    assert len(receiver.deliveries) == 2 and _runs(engine) == 2
    by_path = {d.path: d.body for d in deliveries}
    price = by_path["/price_watch"]
    assert price["trigger"]["event"] == "price_changed" and price["person"] is None
    assert price["trigger"]["properties"]["old_price"] == "19.99"
    assert price["trigger"]["properties"]["new_price"] == "14.99"
    low_stock = by_path["/reorder"]["trigger"]["properties"]
    assert low_stock == {"sku": "TEE-1", "location": "default", "minimum": 5, "level": 3}


def test_a_catalog_flow_that_needs_a_person_is_refused_with_the_node_path(
    client: TestClient, shop: Shop
) -> None:
    flow = _flow("mail", "back_in_stock", "https://example.com")
    flow["nodes"].insert(0, {"id": "mail", "action": "send_email", "with": {"template": "x"}})
    answer = _publish(client, shop, flow)
    assert answer.status_code == 400
    paths = [p["path"] for p in answer.json()["error"]["details"]]
    assert "nodes[0].action" in paths
    unknown = _publish(client, shop, _flow("typo", "stock_low", "https://example.com"))
    assert unknown.status_code == 400
    assert [p["path"] for p in unknown.json()["error"]["details"]] == ["trigger.event"]


def test_a_person_event_of_the_same_name_starts_no_catalog_run(
    client: TestClient, shop: Shop, engine: Engine, receiver: Receiver
) -> None:
    assert _publish(client, shop, _flow("price_watch", "price_changed", receiver.url)).is_success
    sent = client.post("/v1/track", json={"userId": "u1", "event": "price_changed",
                                          "properties": {"sku": "TEE-1"}},
                       auth=(shop.write_keys["web"], ""))  # fmt: skip
    assert sent.status_code == 200
    time.sleep(1.5)
    assert _runs(engine) == 0 and receiver.deliveries == []
