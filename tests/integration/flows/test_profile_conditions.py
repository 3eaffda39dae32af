"""Conditions read the person as they are at the moment of each decision: traits and computed
attributes of every profile merged into them."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from sqlalchemy import Engine
from starlette.testclient import TestClient

from tests.factories import Shop, make_shop

THANKS = {
    "name": "thanks",
    "trigger": {"event": "Order Completed", "reentry": "always",
                "where": "profile.traits.plan != 'trial'"},
    "nodes": [
        {"id": "loyal", "branch": [{"when": "profile.computed.order_count >= 2", "goto": "vip"}]},
        {"id": "regular", "action": "add_tag", "with": {"tag": "regular"}, "next": "end"},
        {"id": "vip", "action": "add_tag", "with": {"tag": "vip"}},
    ],
}  # fmt: skip


def _auth(shop: Shop) -> dict[str, str]:
    return {"Authorization": f"Bearer {shop.secret_key}"}


def _send(client: TestClient, shop: Shop, path: str, message: dict[str, Any]) -> None:
    response = client.post(path, json=message, auth=(shop.write_keys["web"], ""))
    assert response.status_code == 200, response.text


def _until(check: Callable[[], Any], seconds: float = 20) -> Any:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if value := check():
            return value
        time.sleep(0.05)
    raise AssertionError("condition not reached in time")


def _tags(client: TestClient, shop: Shop, user: str) -> set[str]:
    found = client.get(
        "/api/v1/profiles", params={"identifier": f"user_id:{user}"}, headers=_auth(shop)
    )
    traits = found.json().get("traits", {}) if found.status_code == 200 else {}
    return {name.removeprefix("tag:") for name in traits if name.startswith("tag:")}


def test_branches_and_triggers_read_the_person_as_they_are_now(
    client: TestClient, engine: Engine
) -> None:
    shop = make_shop(engine, kinds=("web",))
    response = client.post(
        "/api/v1/flows", params={"environment": "production"}, json=THANKS, headers=_auth(shop)
    )
    assert response.status_code == 201, response.text
    _send(client, shop, "/v1/identify", {"userId": "tia", "traits": {"plan": "trial"}})

    def settled(count: int) -> bool:
        runs = client.get("/api/v1/flows/thanks/runs", headers=_auth(shop)).json()["data"]
        return len(runs) == count and all(r["status"] == "completed" for r in runs)

    # Each decision sees the person when it is made: one order at a time, so that the first
    # run cannot see the second order (events resolved in one batch would).
    for count, (user, n) in enumerate((("ann", 0), ("ann", 1), ("bob", 0), ("tia", 0)), 1):
        properties = {"order_id": f"{user}-{n}", "total": 20}
        _send(client, shop, "/v1/track",
              {"userId": user, "event": "Order Completed", "properties": properties})  # fmt: skip
        _until(lambda count=count: settled(min(count, 3)))  # type: ignore[misc]
    assert _tags(client, shop, "ann") == {"regular", "vip"}  # the second order saw two
    assert _tags(client, shop, "bob") == {"regular"}

    def tia_orders() -> int:
        found = client.get(
            "/api/v1/profiles", params={"identifier": "user_id:tia"}, headers=_auth(shop)
        )
        return found.json()["computed"]["order_count"] if found.status_code == 200 else 0

    _until(tia_orders)  # her order is resolved, and routed in the same transaction
    assert _tags(client, shop, "tia") == set()  # on trial: never entered
    assert settled(3)
