"""Shopify's topics, with payloads shaped like Shopify's documented examples, become orders
with their status history, catalog products and stock, and carts — and an order's statuses
arriving out of order still end in the right state."""

from __future__ import annotations

import copy
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import Engine, select
from starlette.testclient import TestClient

from nerve.events.models import Event
from tests.factories import Shop
from tests.integration.connectors.conftest import post, shopify_headers
from tests.waiting import auth

ORDER: dict[str, Any] = {
    "id": 820982911946154508, "admin_graphql_api_id": "gid://shopify/Order/820982911946154508",
    "email": "jon@example.com", "phone": None, "name": "#9999", "number": 234,
    "created_at": "2026-03-02T10:00:00-05:00", "processed_at": "2026-03-02T10:00:00-05:00",
    "updated_at": "2026-03-02T10:00:05-05:00", "cancelled_at": None, "cancel_reason": None,
    "currency": "USD", "presentment_currency": "USD", "financial_status": "voided",
    "fulfillment_status": "pending", "total_price": "403.00", "subtotal_price": "393.00",
    "total_tax": "0.00", "total_discounts": "5.00", "taxes_included": False,
    "total_shipping_price_set": {"shop_money": {"amount": "10.00", "currency_code": "USD"}},
    "discount_codes": [{"code": "SPRING5", "amount": "5.00", "type": "fixed_amount"}],
    "checkout_token": "bd5a8aa1ecd019dd3520ff791ee3a24c", "tags": "tag1, tag2",
    "customer": {"id": 115310627314723954, "email": "john@example.com", "first_name": "John",
                 "last_name": "Smith", "phone": None},
    "line_items": [
        {"id": 866550311766439020, "variant_id": 808950810, "product_id": 632910392,
         "title": "IPod Nano - 8GB", "name": "IPod Nano - 8GB - Pink", "sku": "IPOD2008PINK",
         "quantity": 1, "price": "199.00"},
        {"id": 141249953214522974, "variant_id": 808950811, "product_id": 632910392,
         "title": "IPod Nano - 8GB", "name": "IPod Nano - 8GB - Black", "sku": "IPOD2008BLACK",
         "quantity": 2, "price": "97.00"},
    ],
    "fulfillments": [],
}  # fmt: skip


def _order(client: TestClient, shop: Shop, order_id: int) -> Any:
    answer = client.get(f"/api/v1/orders/{order_id}", headers=auth(shop))
    assert answer.status_code == 200, answer.text
    return answer.json()


def _send(client: TestClient, urls: dict[str, str], topic: str, body: Any, delivery: str) -> str:
    answer = post(client, urls["shopify"], "shopify", body, shopify_headers(topic, delivery))
    assert answer.status_code == 200, answer.text
    outcome: str = answer.json()["outcome"]
    return outcome


def test_an_order_and_its_statuses_arriving_out_of_order_end_in_the_right_state(
    client: TestClient, urls: dict[str, str], shop: Shop, engine: Engine
) -> None:
    paid = copy.deepcopy(ORDER) | {
        "financial_status": "paid",
        "updated_at": "2026-03-02T10:01:00-05:00",
    }
    fulfilled = copy.deepcopy(paid) | {
        "fulfillment_status": "fulfilled",
        "updated_at": "2026-03-03T09:00:00-05:00",
        "fulfillments": [
            {
                "id": 255858046,
                "order_id": ORDER["id"],
                "status": "success",
                "created_at": "2026-03-03T09:00:00-05:00",
                "tracking_company": "UPS",
                "tracking_number": "1Z2345",
                "tracking_url": "https://ups.example/1Z2345",
            }
        ],
    }
    delivered = {
        "id": 944956395,
        "fulfillment_id": 255858046,
        "status": "delivered",
        "happened_at": "2026-03-05T14:00:00-05:00",
        "order_id": ORDER["id"],
        "shop_id": 548380009,
        "message": "Delivered to the front door",
    }
    delayed = dict(
        delivered, id=944956396, status="delayed", happened_at="2026-03-04T08:00:00-05:00"
    )
    # The carrier's events first, then the order's own webhooks, newest first.
    assert _send(client, urls, "fulfillment_events/create", delivered, "d-1") == "applied"
    assert _send(client, urls, "fulfillment_events/create", delayed, "d-2") == "applied"
    assert _send(client, urls, "orders/fulfilled", fulfilled, "d-3") == "applied"
    assert _send(client, urls, "orders/paid", paid, "d-4") == "applied"
    assert _send(client, urls, "orders/create", ORDER, "d-5") == "applied"
    assert _send(client, urls, "orders/paid", paid, "d-4") == "duplicate"  # a retry
    order = _order(client, shop, ORDER["id"])
    assert order["status"] == "delivered"
    assert [s["status"] for s in order["statuses"]] == ["paid", "shipped", "delayed", "delivered"]
    shipped = order["statuses"][1]["detail"]
    assert shipped["carrier"] == "UPS" and shipped["tracking_number"] == "1Z2345"
    # Shopify's strings stay exact money.
    assert (order["total"], order["subtotal"], order["shipping"], order["discount"]) == (
        "403.00",
        "393.00",
        "10.00",
        "5.00",
    )
    assert order["currency"] == "USD" and order["coupons"] == ["SPRING5"]
    assert [(line["sku"], line["quantity"], line["price"]) for line in order["lines"]] == [
        ("IPOD2008PINK", 1, "199.00"),
        ("IPOD2008BLACK", 2, "97.00"),
    ]
    assert order["sources"] == ["shopify-main"]

    refund = {"id": 509562969, "order_id": ORDER["id"], "created_at": "2026-03-06T10:00:00-05:00",
              "note": "it broke during shipping", "transactions": [
                  {"id": 179259969, "kind": "refund", "status": "success", "amount": "97.00",
                   "currency": "USD"}]}  # fmt: skip
    assert _send(client, urls, "refunds/create", refund, "d-6") == "applied"
    rest = dict(
        refund,
        id=509562970,
        created_at="2026-03-07T10:00:00-05:00",
        transactions=[{"id": 179259970, "kind": "refund", "status": "success", "amount": "306.00"}],
    )
    assert _send(client, urls, "refunds/create", rest, "d-7") == "applied"
    order = _order(client, shop, ORDER["id"])
    assert [s["status"] for s in order["statuses"]][-2:] == ["partly_refunded", "refunded"]
    assert order["status"] == "refunded"

    cancelled = copy.deepcopy(ORDER) | {"id": 450789469, "cancelled_at":
        "2026-03-02T12:00:00-05:00", "cancel_reason": "customer"}  # fmt: skip
    assert _send(client, urls, "orders/cancelled", cancelled, "d-8") == "applied"
    assert _order(client, shop, 450789469)["status"] == "cancelled"


def test_products_and_stock_levels_reach_the_catalog(
    client: TestClient, urls: dict[str, str], shop: Shop
) -> None:
    level = {"inventory_item_id": 39072856, "location_id": 487838322, "available": 3,
             "updated_at": "2026-03-02T10:00:00-05:00"}  # fmt: skip
    product = {
        "id": 632910392, "title": "IPod Nano - 8GB", "vendor": "Apple",
        "product_type": "Cult Products", "status": "active", "tags": "Emotive, Flash Memory",
        "handle": "ipod-nano", "created_at": "2026-03-01T10:00:00-05:00",
        "options": [{"name": "Color", "values": ["Pink", "Black"]}],
        "image": {"id": 850703190, "src": "https://cdn.shopify.example/ipod-nano.png",
                  "alt": "An iPod nano"},
        "images": [{"id": 850703190, "src": "https://cdn.shopify.example/ipod-nano.png",
                    "alt": "An iPod nano"}],
        "variants": [
            {"id": 808950810, "product_id": 632910392, "title": "Pink", "price": "199.00",
             "sku": "IPOD2008PINK", "compare_at_price": "249.00", "option1": "Pink",
             "barcode": "1234567890123", "inventory_item_id": 39072856, "image_id": None},
            {"id": 808950811, "product_id": 632910392, "title": "Black", "price": "199.00",
             "sku": "IPOD2008BLACK", "compare_at_price": None, "option1": "Black",
             "barcode": None, "inventory_item_id": 49148385, "image_id": None},
        ],
    }  # fmt: skip
    # No currency in Shopify's product payload and none given to the connector: kept, saying so.
    assert _send(client, urls, "products/create", product, "p-0") == "dead_lettered"
    [letter] = client.get("/api/v1/connectors/dead-letters", headers=auth(shop)).json()["data"]
    assert "no currency for sku 'IPOD2008PINK'" in letter["reason"]

    added = client.post(
        "/api/v1/connectors",
        headers=auth(shop),
        json={
            "platform": "shopify",
            "name": "shopify-usd",
            "secret": "shpss_usd",
            "currency": "usd",
        },
    )
    assert added.status_code == 201, added.text
    assert added.json()["currency"] == "USD"
    url = urlsplit(added.json()["webhook_url"]).path

    def send(topic: str, body: Any, delivery: str) -> str:
        answer = post(client, url, "shopify", body, shopify_headers(topic, delivery),
                      secret="shpss_usd")  # fmt: skip
        assert answer.status_code == 200, answer.text
        return str(answer.json()["outcome"])

    # Stock of an item whose product has not arrived: kept, replayed once it has.
    assert send("inventory_levels/update", level, "s-1") == "dead_lettered"
    assert send("products/create", product, "p-1") == "applied"
    stored = client.get("/api/v1/products/IPOD2008PINK", headers=auth(shop)).json()
    assert (stored["name"], stored["price"], stored["currency"], stored["compare_at_price"]) == (
        "IPod Nano - 8GB - Pink",
        "199.00",
        "USD",
        "249.00",
    )
    assert stored["brand"] == "Apple" and stored["gtin"] == "1234567890123"
    assert stored["attributes"] == {"Color": "Pink"}
    assert stored["tags"] == ["Emotive", "Flash Memory"]
    letters = client.get("/api/v1/connectors/dead-letters", headers=auth(shop)).json()["data"]
    [stock_letter] = [d for d in letters if d["connector"] == "shopify-usd"]
    assert "inventory item 39072856 is not known yet" in stock_letter["reason"]
    replayed = client.post(f"/api/v1/connectors/dead-letters/{stock_letter['id']}/replay",
                           headers=auth(shop))  # fmt: skip
    assert replayed.json()["outcome"] == "applied", replayed.text
    stock = client.get("/api/v1/products/IPOD2008PINK", headers=auth(shop)).json()
    assert stock["available"] == 3
    assert [(s["location"], s["on_hand"]) for s in stock["inventory"]] == [("487838322", 3)]
    # A price change from the shop leaves the stock the catalog keeps alone.
    assert (
        client.patch(
            "/api/v1/inventory/IPOD2008PINK",
            headers=auth(shop),
            json={"location": "487838322", "on_hand": 1},
        ).status_code
        == 200
    )
    cheaper = copy.deepcopy(product)
    cheaper["variants"][0]["price"] = "179.00"
    assert send("products/update", cheaper, "p-2") == "applied"
    stored = client.get("/api/v1/products/IPOD2008PINK", headers=auth(shop)).json()
    assert stored["price"] == "179.00" and stored["available"] == 1


def test_a_checkout_becomes_the_persons_cart_and_checkout_started_once(
    client: TestClient, urls: dict[str, str], shop: Shop, engine: Engine
) -> None:
    checkout = {
        "id": 901414060, "token": "exuw7apwoycchjuwtiqg8nytfhphr62a",
        "cart_token": "68778783ad298f1c80c3bafcddeea02f", "email": "bob.norman@mail.example.com",
        "created_at": "2026-03-02T10:00:00-05:00", "updated_at": "2026-03-02T10:00:00-05:00",
        "currency": "USD", "total_price": "398.00",
        "abandoned_checkout_url": "https://shop.example/checkouts/exuw7apw/recover",
        "customer": {"id": 207119551, "email": "bob.norman@mail.example.com",
                     "first_name": "Bob", "last_name": "Norman"},
        "line_items": [{"sku": "IPOD2008PINK", "variant_id": 808950810, "product_id": 632910392,
                        "title": "IPod Nano - 8GB", "quantity": 2, "price": "199.00"}],
    }  # fmt: skip
    assert _send(client, urls, "checkouts/create", checkout, "c-1") == "applied"
    changed = dict(
        checkout,
        updated_at="2026-03-02T10:05:00-05:00",
        line_items=[dict(checkout["line_items"][0], quantity=1)],
    )
    assert _send(client, urls, "checkouts/update", changed, "c-2") == "applied"
    cart = client.get("/api/v1/carts", params={"identifier": "email:bob.norman@mail.example.com"},
                      headers=auth(shop))  # fmt: skip
    assert cart.status_code == 200, cart.text
    assert [(line["sku"], line["quantity"]) for line in cart.json()["lines"]] == [
        ("IPOD2008PINK", 1)
    ]
    with engine.connect() as conn:
        names = [p["event"] for p in conn.scalars(select(Event.payload)) if "event" in p]
    assert names.count("Checkout Started") == 1
