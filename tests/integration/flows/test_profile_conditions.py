"""Conditions read the person as they are at the moment of each decision: traits and computed
attributes of every profile merged into them."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine
from starlette.testclient import TestClient

from tests.factories import Shop, make_shop
from tests.waiting import auth, until

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


def _send(client: TestClient, shop: Shop, path: str, message: dict[str, Any]) -> None:
    response = client.post(path, json=message, auth=(shop.write_keys["web"], ""))
    assert response.status_code == 200, response.text


def _tags(client: TestClient, shop: Shop, user: str) -> set[str]:
    found = client.get(
        "/api/v1/profiles", params={"identifier": f"user_id:{user}"}, headers=auth(shop)
    )
    traits = found.json().get("traits", {}) if found.status_code == 200 else {}
    return {name.removeprefix("tag:") for name in traits if name.startswith("tag:")}


def test_branches_and_triggers_read_the_person_as_they_are_now(
    client: TestClient, engine: Engine
) -> None:
    shop = make_shop(engine, kinds=("web",))
    response = client.post(
        "/api/v1/flows", params={"environment": "production"}, json=THANKS, headers=auth(shop)
    )
    assert response.status_code == 201, response.text
    _send(client, shop, "/v1/identify", {"userId": "tia", "traits": {"plan": "trial"}})

    def settled(count: int) -> bool:
        runs = client.get("/api/v1/flows/thanks/runs", headers=auth(shop)).json()["data"]
        return len(runs) == count and all(r["status"] == "completed" for r in runs)

    # Each decision sees the person when it is made: one order at a time, so that the first
    # run cannot see the second order (events resolved in one batch would).
    for count, (user, n) in enumerate((("ann", 0), ("ann", 1), ("bob", 0), ("tia", 0)), 1):
        properties = {"order_id": f"{user}-{n}", "total": 20}
        _send(client, shop, "/v1/track",
              {"userId": user, "event": "Order Completed", "properties": properties})  # fmt: skip
        until(lambda count=count: settled(min(count, 3)))  # type: ignore[misc]
    assert _tags(client, shop, "ann") == {"regular", "vip"}  # the second order saw two
    assert _tags(client, shop, "bob") == {"regular"}

    def tia_orders() -> int:
        found = client.get(
            "/api/v1/profiles", params={"identifier": "user_id:tia"}, headers=auth(shop)
        )
        return found.json()["computed"]["order_count"] if found.status_code == 200 else 0

    until(tia_orders)  # her order is resolved, and routed in the same transaction
    assert _tags(client, shop, "tia") == set()  # on trial: never entered
    assert settled(3)
