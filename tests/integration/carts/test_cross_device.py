"""The issue's cross-device cart: the app adds two items anonymously, the laptop (signed in)
has one, signing in on the app leaves one cart with three lines — visible and editable with the
store tablet's `staff` key, every staff change audited — and reading it flags a price change and
a sold-out sku. Real app, real database, both backends."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from sqlalchemy import Engine
from starlette.testclient import TestClient

from nerve.audit import service as audit
from nerve.auth.service import list_keys
from nerve.catalog import service as catalog
from nerve.catalog.schemas import ProductIn
from nerve.db.engine import write_transaction
from tests.factories import Shop, make_key
from tests.integration.carts.conftest import admin, head, settle, stock_catalog, track


def _lines(cart: dict[str, Any]) -> dict[str, int]:
    return {line["sku"]: line["quantity"] for line in cart["lines"]}


def _timeline(client: TestClient, shop: Shop, identifier: str) -> list[dict[str, Any]]:
    found = admin(client, shop.secret_key, "GET", "/api/v1/profiles",
                  params={"identifier": identifier})  # fmt: skip
    assert found.status_code == 200, found.text
    page = admin(client, shop.secret_key, "GET", f"/api/v1/profiles/{found.json()['id']}/timeline")
    assert page.status_code == 200, page.text
    return list(page.json()["data"])


def test_login_merges_the_app_cart_into_the_laptop_cart(
    client: TestClient, engine: Engine, shop: Shop
) -> None:
    stock_catalog(engine, shop)
    # The shop's backend opens the app's cart before the app ever tracked anything.
    opened = admin(client, shop.secret_key, "POST", "/api/v1/carts",
                   json={"identifier": "anonymous_id:phone-1"})  # fmt: skip
    assert opened.status_code == 201, opened.text
    app_token = opened.json()["token"]
    for sku, quantity in (("SHOE-1", 1), ("SOCK-1", 2)):
        added = head(client, shop.write_keys["app"], "POST", f"/v1/cart/{app_token}/lines",
                     json={"sku": sku, "quantity": quantity})  # fmt: skip
        assert added.status_code == 200, added.text
    # The laptop, signed in, tracks its own Product Added: the pipeline keeps its cart.
    track(client, shop.write_keys["web"], "track", {
        "userId": "anna-42", "anonymousId": "laptop-1", "event": "Product Added",
        "properties": {"cart_id": "web-cart-7", "sku": "CAP-1", "quantity": 1, "price": 25},
    })  # fmt: skip
    settle(engine)
    laptop = admin(client, shop.secret_key, "GET", "/api/v1/carts",
                   params={"identifier": "user_id:anna-42"}).json()  # fmt: skip
    assert _lines(laptop) == {"CAP-1": 1}
    assert _lines(head(client, shop.write_keys["app"], "GET", f"/v1/cart/{app_token}").json()) \
        == {"SHOE-1": 1, "SOCK-1": 2}  # fmt: skip

    track(client, shop.write_keys["app"], "identify",
          {"userId": "anna-42", "anonymousId": "phone-1", "traits": {"name": "Anna"}})  # fmt: skip
    settle(engine)

    one = {"SHOE-1": 1, "SOCK-1": 2, "CAP-1": 1}
    for identifier in ("anonymous_id:phone-1", "user_id:anna-42", "anonymous_id:laptop-1"):
        cart = admin(client, shop.secret_key, "GET", "/api/v1/carts",
                     params={"identifier": identifier}).json()  # fmt: skip
        assert cart["id"] == laptop["id"] and _lines(cart) == one, identifier
        assert cart["item_count"] == 4 and cart["subtotal"] == "164.98"
    # The app's token follows its cart into the account's.
    through_app = head(client, shop.write_keys["app"], "GET", f"/v1/cart/{app_token}").json()
    assert through_app["id"] == laptop["id"] and _lines(through_app) == one
    settle(engine)  # the Cart Merged event recorded by the merge
    names = [e["event"] for e in _timeline(client, shop, "user_id:anna-42") if e["type"] == "track"]
    assert names.count("Cart Merged") == 1
    assert names.count("Product Added") == 3  # two through the API, one tracked by the laptop

    # The store tablet: staff see and edit the cart; each change is audited with the key.
    staff = make_key(engine, shop.workspace_id, "staff")
    seen = admin(client, staff, "GET", "/api/v1/carts", params={"identifier": "user_id:anna-42"})
    assert seen.status_code == 200 and _lines(seen.json()) == one
    changed = admin(client, staff, "PUT", f"/api/v1/carts/{laptop['id']}/lines/SOCK-1",
                    json={"quantity": 3})  # fmt: skip
    assert changed.status_code == 200, changed.text
    removed = admin(client, staff, "DELETE", f"/api/v1/carts/{laptop['id']}/lines/CAP-1")
    assert _lines(removed.json()) == {"SHOE-1": 1, "SOCK-1": 3}
    analyst = make_key(engine, shop.workspace_id, "analyst")
    refused = admin(client, analyst, "DELETE", f"/api/v1/carts/{laptop['id']}/lines/SOCK-1")
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "forbidden"
    with engine.connect() as conn:
        staff_key = next(k.id for k in list_keys(conn, shop.workspace_id) if k.role == "staff")
        entries = audit.entries(conn, shop.workspace_id)
    staff_entries = [(e["action"], e["target"]) for e in entries if e["actor"] == staff_key]
    assert sorted(staff_entries) == [("cart.line_added", laptop["id"]),
                                     ("cart.line_removed", laptop["id"])]  # fmt: skip
    settle(engine)
    assert _lines(admin(client, staff, "GET", f"/api/v1/carts/{laptop['id']}").json()) == {
        "SHOE-1": 1,
        "SOCK-1": 3,
    }  # the API's own events are not applied a second time


def test_reading_flags_a_price_change_and_a_sold_out_sku(
    client: TestClient, engine: Engine, shop: Shop
) -> None:
    stock_catalog(engine, shop)
    cart = admin(client, shop.secret_key, "POST", "/api/v1/carts",
                 json={"identifier": "email:Anna@Example.com"}).json()  # fmt: skip
    for sku in ("SHOE-1", "SOCK-1", "CAP-1"):
        admin(client, shop.secret_key, "POST", f"/api/v1/carts/{cart['id']}/lines",
              json={"sku": sku, "price": "1.00", "name": "what the head says"})  # fmt: skip
    admin(
        client,
        shop.secret_key,
        "POST",
        f"/api/v1/carts/{cart['id']}/lines",
        json={"sku": "GIFT-CARD", "price": "50", "currency": "EUR", "name": "Gift card"},
    )
    with write_transaction(engine) as conn:
        catalog.upsert_products(conn, shop.workspace_id, [
            ProductIn(sku="SHOE-1", name="Trail shoe", price=Decimal("99.00"), currency="EUR"),
            ProductIn(sku="CAP-1", name="Cap", price=Decimal("25.00"), currency="EUR",
                      status="archived"),
        ])  # fmt: skip
        catalog.set_inventory(conn, shop.workspace_id, "SOCK-1", on_hand=0)
    read = admin(client, shop.secret_key, "GET", "/api/v1/carts",
                 params={"identifier": "email:anna@example.com"})  # fmt: skip
    assert read.status_code == 200, read.text
    lines = {line["sku"]: line for line in read.json()["lines"]}
    shoe, sock, cap, gift = lines["SHOE-1"], lines["SOCK-1"], lines["CAP-1"], lines["GIFT-CARD"]
    # A known sku took the catalog's price and name when added, not the head's.
    assert (shoe["price"], shoe["name"]) == ("120.00", "Trail shoe")
    assert shoe["flags"] == ["price_changed"] and shoe["current_price"] == "99.00"
    assert sock["flags"] == ["sold_out"] and sock["available"] == 0
    assert cap["flags"] == ["inactive"] and cap["catalog_status"] == "archived"
    # A sku the catalog does not know keeps what the head sent, flagged as unknown.
    assert (gift["price"], gift["name"], gift["flags"], gift["catalog_status"]) == (
        "50.00", "Gift card", ["inactive"], "unknown")  # fmt: skip
