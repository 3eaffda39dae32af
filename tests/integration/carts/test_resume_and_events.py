"""Resume links restore a cart on another device; forged and expired ones fail cleanly. Head
events, orders and bad input keep the cart consistent."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
from sqlalchemy import Engine
from starlette.testclient import TestClient

from nerve.app import create_app
from nerve.carts import service
from nerve.db.base import utcnow
from nerve.db.engine import write_transaction
from nerve.settings import Settings
from tests.factories import Shop, make_shop
from tests.integration.carts.conftest import admin, head, settle, stock_catalog, track

CART_PAGE = "https://shop.example/cart?from=mail"


@pytest.fixture
def shop_client(settings: Settings) -> Iterator[TestClient]:
    configured = settings.model_copy(update={"shop_cart_url": CART_PAGE})
    with TestClient(create_app(configured), follow_redirects=False) as client:
        yield client


def test_a_resume_link_restores_the_cart_on_another_device(
    shop_client: TestClient, engine: Engine, shop: Shop
) -> None:
    client = shop_client
    stock_catalog(engine, shop)
    cart = admin(client, shop.secret_key, "POST", "/api/v1/carts",
                 json={"identifier": "anonymous_id:phone-9"}).json()  # fmt: skip
    admin(client, shop.secret_key, "POST", f"/api/v1/carts/{cart['id']}/lines",
          json={"sku": "SHOE-1", "quantity": 2})  # fmt: skip
    link = admin(client, shop.secret_key, "GET", f"/api/v1/carts/{cart['id']}/resume-link")
    assert link.status_code == 200, link.text
    url = link.json()["url"]
    assert "/r/" in url and cart["id"] not in url  # opaque

    laptop = TestClient(client.app, follow_redirects=False)  # no cookie, nothing of the phone's
    path = "/r/" + url.rsplit("/r/", 1)[1]
    opened = laptop.get(path)
    assert opened.status_code == 303, opened.text
    location = opened.headers["location"]
    assert location.startswith(CART_PAGE + "&cart_token=")
    token = location.rsplit("cart_token=", 1)[1]
    restored = head(laptop, shop.write_keys["web"], "GET", f"/v1/cart/{token}")
    assert restored.status_code == 200, restored.text
    assert [(line["sku"], line["quantity"]) for line in restored.json()["lines"]] == [("SHOE-1", 2)]

    forged = path[:-3] + ("AAA" if not path.endswith("AAA") else "BBB")
    for bad in (forged, "/r/not-a-token", "/r/" + "x" * 300):
        page = laptop.get(bad, headers={"Accept": "text/html"})
        assert page.status_code == 404 and page.headers["content-type"].startswith("text/html")
        assert cart["id"] not in page.text and "SHOE" not in page.text
        api = laptop.get(bad)
        assert api.status_code in (400, 404) and api.json()["error"]["code"] in (
            "not_found", "invalid_request")  # fmt: skip
    with write_transaction(engine) as conn:
        old = service.resume_link(conn, shop.workspace_id, cart["id"], "http://x",
                                  utcnow() - timedelta(seconds=1))["url"]  # fmt: skip
    expired = laptop.get("/r/" + old.rsplit("/r/", 1)[1], headers={"Accept": "text/html"})
    assert expired.status_code == 410 and "SHOE" not in expired.text
    assert laptop.get("/r/" + old.rsplit("/r/", 1)[1]).json()["error"]["code"] == "gone"


def test_a_cart_token_reaches_only_its_own_cart(
    client: TestClient, engine: Engine, shop: Shop
) -> None:
    other = make_shop(engine, workspace="other-shop")
    cart = admin(client, shop.secret_key, "POST", "/api/v1/carts",
                 json={"identifier": "anonymous_id:a-1"}).json()  # fmt: skip
    elsewhere = head(client, other.write_keys["web"], "GET", f"/v1/cart/{cart['token']}")
    assert elsewhere.status_code == 404 and elsewhere.json()["error"]["code"] == "not_found"
    assert head(client, shop.write_keys["web"], "GET", f"/v1/cart/{cart['token']}x").status_code \
        == 404  # fmt: skip
    assert client.get(f"/v1/cart/{cart['token']}").status_code == 401


def test_head_events_orders_and_bad_input_keep_one_state(
    client: TestClient, engine: Engine, shop: Shop
) -> None:
    stock_catalog(engine, shop)
    key = shop.secret_key
    cart = admin(client, key, "POST", "/api/v1/carts",
                 json={"identifier": "user_id:bo-1"}).json()  # fmt: skip
    again = admin(client, key, "POST", "/api/v1/carts", json={"identifier": "user_id:bo-1"})
    assert again.status_code == 200 and again.json()["id"] == cart["id"]
    admin(client, key, "POST", f"/api/v1/carts/{cart['id']}/lines",
          json={"sku": "SOCK-1", "quantity": 3})  # fmt: skip
    for bad in (
        {"sku": "SOCK-1", "quantity": 0},
        {"sku": "X", "price": "1.00001"},
        {"sku": "X", "price": "NaN"},
        {"sku": ""},
        {"sku": "X", "colour": "red"},
    ):
        refused = admin(client, key, "POST", f"/api/v1/carts/{cart['id']}/lines", json=bad)
        assert refused.status_code == 400, bad
        assert set(refused.json()["error"]) == {"code", "message", "details"}
    bad_identifier = admin(client, key, "GET", "/api/v1/carts", params={"identifier": "nocolon"})
    assert bad_identifier.status_code == 400
    # The head tracks removing one sock and adding a cap; Cart Viewed is on the timeline only.
    for event, properties in (
        ("Product Removed", {"sku": "SOCK-1", "quantity": 1}),
        ("Product Added", {"sku": "CAP-1", "cart_id": cart["id"]}),
        ("Cart Viewed", {"cart_id": cart["id"]}),
    ):
        track(client, shop.write_keys["web"], "track",
              {"userId": "bo-1", "event": event, "properties": properties})  # fmt: skip
    settle(engine)
    read = admin(client, key, "GET", f"/api/v1/carts/{cart['id']}").json()
    assert {line["sku"]: line["quantity"] for line in read["lines"]} == {"SOCK-1": 2, "CAP-1": 1}
    track(client, shop.write_keys["web"], "track", {"userId": "bo-1", "event": "Order Completed",
          "properties": {"order_id": "o-1", "cart_id": cart["id"], "total": 44.98}})  # fmt: skip
    settle(engine)
    closed = admin(client, key, "GET", f"/api/v1/carts/{cart['id']}").json()
    assert (closed["status"], closed["order_id"]) == ("ordered", "o-1")
    late = admin(client, key, "POST", f"/api/v1/carts/{cart['id']}/lines", json={"sku": "CAP-1"})
    assert late.status_code == 409 and late.json()["error"]["code"] == "conflict"
    assert admin(client, key, "GET", "/api/v1/carts",
                 params={"identifier": "user_id:bo-1"}).status_code == 404  # fmt: skip
