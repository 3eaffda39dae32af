"""WooCommerce's and Shopware's order and product webhooks, shaped like their documented
payloads, become the same orders, statuses and catalog rows as Shopify's."""

from __future__ import annotations

from typing import Any

from starlette.testclient import TestClient

from tests.factories import Shop
from tests.integration.connectors.conftest import post
from tests.waiting import auth

WOO_ORDER: dict[str, Any] = {
    "id": 727, "parent_id": 0, "number": "727", "order_key": "wc_order_58d2d042d1d",
    "status": "processing", "currency": "EUR", "date_created_gmt": "2026-03-02T15:00:00",
    "date_modified_gmt": "2026-03-02T15:00:00", "date_paid_gmt": "2026-03-02T15:01:00",
    "discount_total": "0.00", "shipping_total": "10.00", "total": "29.35", "total_tax": "1.35",
    "customer_id": 0, "cart_hash": "8d59b5b1c6d3",
    "billing": {"first_name": "John", "last_name": "Doe", "email": "john.doe@example.com",
                "phone": "(555) 555-5555", "country": "US"},
    "line_items": [{"id": 315, "name": "Woo Single #1", "product_id": 93, "variation_id": 0,
                    "quantity": 2, "subtotal": "6.00", "total": "6.00", "sku": "WOO-1",
                    "price": 3}],
    "coupon_lines": [], "refunds": [],
}  # fmt: skip


def _woo(client: TestClient, urls: dict[str, str], topic: str, body: Any, delivery: str) -> Any:
    headers = {"X-WC-Webhook-Topic": topic, "X-WC-Webhook-Delivery-ID": delivery,
               "X-WC-Webhook-Source": "https://shop.example/"}  # fmt: skip
    answer = post(client, urls["woocommerce"], "woocommerce", body, headers)
    assert answer.status_code == 200, answer.text
    return answer.json()["outcome"]


def test_a_woocommerce_order_its_payment_completion_and_refund(
    client: TestClient, urls: dict[str, str], shop: Shop
) -> None:
    assert _woo(client, urls, "order.created", WOO_ORDER, "w-1") == "applied"
    completed = WOO_ORDER | {"status": "completed", "date_modified_gmt": "2026-03-03T09:00:00",
                             "date_completed_gmt": "2026-03-03T09:00:00"}  # fmt: skip
    assert _woo(client, urls, "order.updated", completed, "w-2") == "applied"
    refunded = completed | {
        "status": "refunded",
        "date_modified_gmt": "2026-03-04T09:00:00",
        "refunds": [{"id": 730, "reason": "", "total": "-29.35"}],
    }
    assert _woo(client, urls, "order.updated", refunded, "w-3") == "applied"
    order = client.get("/api/v1/orders/727", headers=auth(shop)).json()
    assert [s["status"] for s in order["statuses"]] == ["paid", "shipped", "refunded"]
    assert order["status"] == "refunded"
    assert (order["total"], order["tax"], order["currency"]) == ("29.35", "1.35", "EUR")
    assert [(line["sku"], line["quantity"], line["price"]) for line in order["lines"]] == [
        ("WOO-1", 2, "3.00")
    ]


def test_a_woocommerce_product_without_a_currency_is_dead_lettered(
    client: TestClient, urls: dict[str, str], shop: Shop
) -> None:
    product = {
        "id": 794,
        "name": "Premium Quality",
        "slug": "premium-quality",
        "permalink": "https://shop.example/product/premium-quality/",
        "type": "simple",
        "status": "publish",
        "sku": "PQ-1",
        "price": "21.99",
        "regular_price": "21.99",
        "sale_price": "",
        "categories": [{"id": 9, "name": "Clothing"}],
        "tags": [],
        "images": [{"src": "https://shop.example/pq.jpg", "alt": "A shirt"}],
    }
    assert _woo(client, urls, "product.created", product, "w-p") == "dead_lettered"
    [letter] = client.get("/api/v1/connectors/dead-letters", headers=auth(shop)).json()["data"]
    assert "no currency for sku 'PQ-1'" in letter["reason"]


def _shopware(client: TestClient, urls: dict[str, str], event: str, payload: Any, n: int) -> Any:
    body = {"data": {"event": event, "payload": payload},
            "source": {"url": "https://shopware.example", "appVersion": "1.0.0",
                       "shopId": "dgrH7nLU6tlE", "eventId": f"evt-{n}"},
            "timestamp": 1772467200 + n * 3600}  # fmt: skip
    answer = post(client, urls["shopware"], "shopware", body, {})
    assert answer.status_code == 200, answer.text
    return answer.json()["outcome"]


def test_a_shopware_order_and_its_state_changes_in_any_order(
    client: TestClient, urls: dict[str, str], shop: Shop
) -> None:
    order = {
        "id": "2a88d9b59d474c7e869d8071649be43c",
        "orderNumber": "10060",
        "currency": {"isoCode": "EUR"},
        "amountTotal": 119.99,
        "positionPrice": 115.0,
        "shippingTotal": 4.99,
        "orderDateTime": "2026-03-02T16:00:00.000+00:00",
        "orderCustomer": {
            "email": "maria@example.de",
            "firstName": "Maria",
            "lastName": "Muster",
            "customerId": "0189a4b1c2d3",
        },
        "lineItems": [
            {
                "label": "Trail Runner",
                "quantity": 1,
                "unitPrice": 115.0,
                "type": "product",
                "payload": {"productNumber": "SW10001"},
            }
        ],
    }
    # Shipped arrives before paid, and both before the order itself.
    assert (
        _shopware(client, urls, "state_enter.order_delivery.state.shipped", {"order": order}, 3)
        == "applied"
    )
    assert (
        _shopware(client, urls, "state_enter.order_transaction.state.paid", {"order": order}, 2)
        == "applied"
    )
    assert _shopware(client, urls, "checkout.order.placed", {"order": order}, 1) == "applied"
    assert _shopware(client, urls, "product.written", [{"entity": "product",
                     "primaryKey": "2a88d9b5"}], 4) == "dead_lettered"  # fmt: skip
    stored = client.get("/api/v1/orders/10060", headers=auth(shop)).json()
    assert stored["status"] == "shipped"
    assert [s["status"] for s in stored["statuses"]] == ["paid", "shipped"]
    assert (stored["total"], stored["shipping"]) == ("119.99", "4.99")  # exact, never a float
