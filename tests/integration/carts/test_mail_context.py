"""What an abandoned-cart mail sees of the cart its event names: the stored lines with their
flags and a resume link that works."""

from __future__ import annotations

from sqlalchemy import Engine
from starlette.testclient import TestClient

from nerve.channels import context
from nerve.db.engine import write_transaction
from tests.factories import Shop
from tests.integration.carts.conftest import admin, stock_catalog


def test_liquid_sees_the_stored_cart_and_its_resume_url(
    client: TestClient, engine: Engine, shop: Shop
) -> None:
    stock_catalog(engine, shop)
    cart = admin(client, shop.secret_key, "POST", "/api/v1/carts",
                 json={"identifier": "anonymous_id:mail-1"}).json()  # fmt: skip
    admin(client, shop.secret_key, "POST", f"/api/v1/carts/{cart['id']}/lines",
          json={"sku": "CAP-1", "quantity": 2})  # fmt: skip
    event = {"event": "Cart Viewed", "properties": {"cart_id": cart["id"], "coupon": "X"}}
    with write_transaction(engine) as conn:
        found = context.with_stored_cart(conn, shop.workspace_id, context.of_event(event),
                                         "https://nerve.example")  # fmt: skip
        unknown = context.with_stored_cart(
            conn,
            shop.workspace_id,
            context.of_event({"properties": {"cart_id": "web-7"}}),
            "https://nerve.example",
        )
    seen = found["cart"]
    assert seen["coupon"] == "X" and seen["subtotal"] == 50 and "token" not in seen
    assert [(line["sku"], line["quantity"], line["name"]) for line in seen["lines"]] == [
        ("CAP-1", 2, "Cap")]  # fmt: skip
    assert seen["resume_url"].startswith("https://nerve.example/r/")
    opened = client.get(seen["resume_url"].removeprefix("https://nerve.example"),
                        follow_redirects=False)  # fmt: skip
    assert opened.status_code == 503  # a real link; this shop has no cart page configured
    assert unknown["cart"] == {"id": "web-7", "cart_id": "web-7", "products": []}
