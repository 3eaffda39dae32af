"""A person's data export over HTTP shows their carts: the export answers through its typed
schema, which once lacked the carts section and dropped it silently."""

from __future__ import annotations

from sqlalchemy import Engine
from starlette.testclient import TestClient

from tests.factories import Shop
from tests.integration.carts.conftest import admin, settle, stock_catalog, track


def test_the_export_shows_the_persons_cart_with_its_lines(
    client: TestClient, engine: Engine, shop: Shop
) -> None:
    stock_catalog(engine, shop)
    track(client, shop.write_keys["web"], "track", {
        "userId": "anna-42", "event": "Product Added",
        "properties": {"cart_id": "web-cart-7", "sku": "SHOE-1", "quantity": 2, "price": 120},
    })  # fmt: skip
    settle(engine)
    person = admin(client, shop.secret_key, "GET", "/api/v1/profiles",
                   params={"identifier": "user_id:anna-42"}).json()["id"]  # fmt: skip
    export = admin(client, shop.secret_key, "GET", f"/api/v1/profiles/{person}/export")
    assert export.status_code == 200, export.text
    carts = export.json()["carts"]
    assert [c["identifier"] for c in carts] == ["user_id:anna-42"]
    assert [(line["sku"], line["quantity"], line["price"]) for line in carts[0]["lines"]] == [
        ("SHOE-1", 2, "120.00")
    ]
