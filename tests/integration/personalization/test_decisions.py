"""Decisions through the real API: bad input in the error shape, unknown slots, A/B tests and
their holdout, product-list slots for a listing, cart rules, and the impression log."""

from __future__ import annotations

from collections import Counter
from typing import Any

from sqlalchemy import Engine
from starlette.testclient import TestClient

from tests.factories import Shop
from tests.integration.carts.conftest import stock_catalog
from tests.integration.personalization.conftest import (
    BANNER,
    admin,
    personalize,
    save_slot,
    settle,
    stats,
    track,
    view,
)

AB: dict[str, Any] = BANNER | {
    "rules": [{"experiment": "spring"}],
    "experiments": [{"key": "spring", "holdout": 20, "arms": [
        {"key": "jacket", "variant": "winter_jacket", "weight": 40},
        {"key": "shoes", "variant": "running_shoes", "weight": 40}]}],
}  # fmt: skip


def _problem_paths(response: Any) -> list[str]:
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert error["code"] == "invalid_request"
    return [p["path"] for p in error["details"]]


def test_bad_input_is_refused_with_path_and_reason(client: TestClient, shop: Shop) -> None:
    auth = (shop.write_keys["web"], "")
    ask = "/v1/personalize"
    assert _problem_paths(client.get(ask, params={"slots": "home_banner"}, auth=auth)) == [
        "anonymousId"
    ]
    many = ",".join(f"slot_{i}" for i in range(21))
    assert _problem_paths(client.get(ask, params={"userId": "u", "slots": many}, auth=auth)) == [
        "slots"
    ]
    unknown_context = {"userId": "u", "context": "aisle:7"}
    assert _problem_paths(client.get(ask, params=unknown_context, auth=auth)) == ["context"]
    too_many = client.get(ask, params={"userId": "u", "recommendations": 999}, auth=auth)
    assert too_many.status_code == 400
    assert client.get(ask, params={"userId": "u"}).status_code == 401
    forged = client.get(ask, params={"userId": "u", "writeKey": "nope"})
    assert forged.status_code == 401


def test_unknown_slots_are_listed_and_the_query_key_works(client: TestClient, shop: Shop) -> None:
    save_slot(client, shop, BANNER)
    found = client.get("/v1/personalize", params={
        "anonymousId": "a1", "slots": "home_banner,nope,Bad Name", "writeKey": shop.write_keys["web"]
    }, headers={"Origin": "https://shop.example"})  # fmt: skip
    assert found.status_code == 200, found.text
    assert found.headers["access-control-allow-origin"] == "*"
    assert found.json()["unknown_slots"] == ["nope", "Bad Name"]
    assert list(found.json()["slots"]) == ["home_banner"]


def test_ab_assignment_is_stable_and_the_holdout_gets_the_default(
    client: TestClient, shop: Shop
) -> None:
    save_slot(client, shop, AB)
    key = shop.write_keys["web"]
    arms = {}
    for i in range(200):
        decision = personalize(client, key, anonymousId=f"v{i}", slots="home_banner")
        arms[f"v{i}"] = decision["slots"]["home_banner"]
    for visitor in ("v1", "v7", "v42"):
        again = personalize(client, key, anonymousId=visitor, slots="home_banner")
        assert again["slots"]["home_banner"] == arms[visitor]
    counts = Counter(d["experiment"]["arm"] for d in arms.values())
    assert set(counts) == {"jacket", "shoes", "holdout"}
    for decision in arms.values():
        if decision["experiment"]["arm"] == "holdout":
            assert decision["variant"] == "winter_jacket" and decision["reason"] == "holdout"
        elif decision["experiment"]["arm"] == "shoes":
            assert decision["variant"] == "running_shoes"
    rows = stats(client, shop, "home_banner", 203)
    by_arm = {row["arm"]: row["impressions"] for row in rows}
    assert by_arm["holdout"] == counts["holdout"] + sum(
        arms[v]["experiment"]["arm"] == "holdout" for v in ("v1", "v7", "v42")
    )
    assert {row["experiment"] for row in rows} == {"spring"}


LISTING: dict[str, Any] = {
    "key": "shoe_listing",
    "kind": "product_list",
    "variants": [
        {"key": "running_first", "pin": ["SHOE-1", "CAP-1"], "bury_out_of_stock": True,
         "boost": [{"collection": "New running", "weight": 2.5}, {"category": "Socks",
                                                                  "weight": -1}]},
        {"key": "caps", "pin": ["CAP-1"]},
    ],
    "rules": [
        {"context": ["category:Shoes"], "when": {"cart": {"has_lines": True}}, "variant": "caps"},
        {"context": ["category:Shoes", "query:running shoes"], "variant": "running_first"},
    ],
}  # fmt: skip


def test_a_product_list_slot_pins_and_boosts_for_its_listing(
    client: TestClient, engine: Engine, shop: Shop
) -> None:
    stock_catalog(engine, shop)
    sold_out = admin(client, shop.secret_key, "PATCH", "/api/v1/inventory/CAP-1",
                     json={"on_hand": 0})  # fmt: skip
    assert sold_out.status_code == 200, sold_out.text
    save_slot(client, shop, LISTING)
    key = shop.write_keys["web"]
    shoes = personalize(client, key, anonymousId="a1", slots="shoe_listing",
                        context="category:Apparel > Shoes")  # fmt: skip
    assert shoes["slots"] == {}
    assert shoes["product_lists"]["shoe_listing"] == {
        "variant": "running_first", "pinned": ["SHOE-1"], "bury_out_of_stock": True,
        "boosts": [{"sku": None, "category": None, "collection": "New running", "weight": 2.5},
                   {"sku": None, "category": "Socks", "collection": None, "weight": -1.0}],
        "reason": "rule:2", "experiment": None,
    }  # fmt: skip
    query = personalize(client, key, anonymousId="a1", slots="shoe_listing",
                        context="query:Running  Shoes")  # fmt: skip
    assert query["product_lists"]["shoe_listing"]["variant"] == "running_first"
    other = personalize(
        client, key, anonymousId="a1", slots="shoe_listing", context="category:Hats"
    )
    assert other["product_lists"]["shoe_listing"]["variant"] is None
    assert other["product_lists"]["shoe_listing"]["pinned"] == []

    # A visitor with something in the cart gets the rule above it.
    opened = admin(client, shop.secret_key, "POST", "/api/v1/carts",
                   json={"identifier": "anonymous_id:a2"})  # fmt: skip
    cart = opened.json()["id"]
    admin(client, shop.secret_key, "POST", f"/api/v1/carts/{cart}/lines",
          json={"sku": "SOCK-1", "quantity": 1})  # fmt: skip
    carted = personalize(client, key, anonymousId="a2", slots="shoe_listing",
                         context="category:Shoes")  # fmt: skip
    assert carted["product_lists"]["shoe_listing"]["variant"] == "caps"
    assert carted["product_lists"]["shoe_listing"]["pinned"] == ["CAP-1"]  # no bury: kept


def test_recommendations_are_the_persons_own(
    client: TestClient, engine: Engine, shop: Shop
) -> None:
    stock_catalog(engine, shop)
    key = shop.write_keys["web"]
    track(client, key, "identify", {"anonymousId": "a1", "userId": "u7"})
    view(client, key, "Running", userId="u7")
    settle(engine)
    assert personalize(client, key, userId="u7")["recommendations"] == []  # none asked
    asked = personalize(client, key, userId="u7", recommendations=3)["recommendations"]
    person = admin(client, shop.secret_key, "GET", "/api/v1/profiles",
                   params={"identifier": "user_id:u7"}).json()["id"]  # fmt: skip
    own = admin(client, shop.secret_key, "GET", f"/api/v1/profiles/{person}/recommendations",
                params={"limit": 3})  # fmt: skip
    assert own.status_code == 200, own.text
    assert asked == own.json()["items"]
