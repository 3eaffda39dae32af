"""The demo shop runs on Shopify: its orders reach Nerve as Shopify's webhooks do, shaped like
Shopify's REST payloads (API version 2024-10) and signed with the connector's secret
(`X-Shopify-Hmac-Sha256`: base64 HMAC-SHA256 of the raw body).

The demo adds the Shopify connector as a shop's admin would (`nerve connectors add
shopify-stride --platform shopify`), with a secret it makes up on the first run and reads back
from Nerve's vault on the next.
"""

from __future__ import annotations

import secrets as random_tokens
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import orjson
from sqlalchemy import Engine

from nerve.connectors import service as connectors
from nerve.connectors.signatures import signature
from nerve.db.engine import write_transaction
from nerve.demo.catalog import CURRENCY, SHOP_URL, by_sku
from nerve.demo.people import Customer
from nerve.errors import Conflict, DemoError, NotFound, Unavailable
from nerve.secrets.vault import Vault

CONNECTOR = "shopify-stride"
SHOP_DOMAIN = "stride-and-trail.myshopify.example"
API_VERSION = "2024-10"
ACTOR = "nerve demo"


@dataclass(frozen=True)
class ShopifyConnector:
    source_id: str
    secret: str
    path: str  # /webhooks/shopify/{source_id}


def connect(engine: Engine, vault: Vault, workspace_id: str) -> ShopifyConnector:
    """The demo's Shopify connector and its signing secret: added on the first run, kept on
    the next (added anew when the secret cannot be read under this run's NERVE_SECRET_KEY)."""
    with write_transaction(engine) as conn:
        try:
            known = connectors.find(conn, workspace_id, CONNECTOR)
        except NotFound:
            known = None
        if known is not None:
            try:
                secret = connectors.for_webhook(conn, vault, "shopify", known.source_id).secret
            except Unavailable:
                secret = None
            if secret:
                return ShopifyConnector(known.source_id, secret, known.path)
            connectors.remove(conn, workspace_id, CONNECTOR, actor=ACTOR)
        secret = random_tokens.token_urlsafe(32)
        try:
            added = connectors.add(conn, vault, workspace_id, "shopify", CONNECTOR, secret,
                                   actor=ACTOR, currency=CURRENCY)  # fmt: skip
        except (Conflict, Unavailable) as exc:
            raise DemoError(f"cannot add the demo's Shopify connector: {exc.message}") from None
    return ShopifyConnector(added.source_id, secret, added.path)


def headers(topic: str, body: bytes, secret: str, webhook_id: str) -> dict[str, str]:
    """The headers Shopify sends with a webhook."""
    return {
        "Content-Type": "application/json",
        "X-Shopify-Topic": topic,
        "X-Shopify-Hmac-Sha256": signature("shopify", secret, body),
        "X-Shopify-Shop-Domain": SHOP_DOMAIN,
        "X-Shopify-API-Version": API_VERSION,
        "X-Shopify-Webhook-Id": webhook_id,
        "X-Shopify-Triggered-At": _now(),
    }


def body(document: dict[str, Any]) -> bytes:
    return orjson.dumps(document)


def customer_id(customer: Customer) -> int:
    """The customer's id in Shopify, for those with an account."""
    return 7_000_000_000_000 + int(customer.user_id.removeprefix("cus_"), 16) % 10**12


def order(
    properties: dict[str, Any], customer: Customer, *, paid: bool, store: str | None
) -> dict[str, Any]:
    """An order as `orders/create` and `orders/paid` carry it, from the properties of the
    head's `Order Completed` (the same order id: Nerve merges both into one order)."""
    now = _now()
    email = customer.email
    buyer = None
    if customer.has_account:
        buyer = {"id": customer_id(customer), "email": email, "first_name": customer.first_name,
                 "last_name": customer.last_name, "phone": _e164(customer.phone),
                 "state": "enabled", "currency": CURRENCY}  # fmt: skip
    shipping = f"{properties.get('shipping', 0):.2f}"
    return {
        "id": int(properties["order_id"]),
        "admin_graphql_api_id": f"gid://shopify/Order/{properties['order_id']}",
        "name": f"#ST{int(properties['order_id']) % 100000:05d}",
        "email": email, "contact_email": email, "phone": _e164(customer.phone),
        "created_at": now, "processed_at": now, "updated_at": now,
        "currency": CURRENCY, "presentment_currency": CURRENCY,
        "financial_status": "paid" if paid else "pending", "fulfillment_status": None,
        "total_price": f"{properties['total']:.2f}",
        "subtotal_price": f"{properties['subtotal']:.2f}",
        "total_tax": f"{properties['tax']:.2f}",
        "total_discounts": f"{properties['discount']:.2f}",
        "total_shipping_price_set": {
            "shop_money": {"amount": shipping, "currency_code": CURRENCY},
            "presentment_money": {"amount": shipping, "currency_code": CURRENCY},
        },
        "discount_codes": [{"code": properties["coupon"], "amount": f"{properties['discount']:.2f}",
                            "type": "fixed_amount"}] if properties.get("coupon") else [],
        "line_items": [_line(p) for p in properties["products"]],
        "shipping_lines": [{"title": properties.get("shipping_method") or "In store",
                            "price": shipping}],
        "source_name": "pos" if store else "web",
        "location_id": None,
        "cart_token": properties.get("cart_id"),
        "tags": "",
        "customer": buyer,
        "test": False,
    }  # fmt: skip


def _line(product: dict[str, Any]) -> dict[str, Any]:
    known = by_sku(product["sku"])
    title = known.name if known else product["name"]
    return {
        "id": 13_000_000_000_000 + uuid.uuid4().int % 10**12,
        "variant_id": 44_000_000_000_000 + abs(hash(product["sku"])) % 10**12,
        "product_id": product["product_id"], "sku": product["sku"], "title": title,
        "name": f"{title} - {product.get('variant', '')}".rstrip(" -"),
        "vendor": product.get("brand"), "quantity": product["quantity"],
        "price": f"{product['price']:.2f}", "requires_shipping": True, "taxable": True,
    }  # fmt: skip


def fulfilled(document: dict[str, Any], tracking_number: str, carrier: str) -> dict[str, Any]:
    """`orders/fulfilled`: the order with its fulfillment (carrier, tracking number)."""
    now = _now()
    fulfillment = {
        "id": 5_500_000_000_000 + uuid.uuid4().int % 10**12, "order_id": document["id"],
        "status": "success", "created_at": now, "updated_at": now, "shipment_status": None,
        "tracking_company": carrier, "tracking_number": tracking_number,
        "tracking_numbers": [tracking_number], "tracking_url": tracking_url(tracking_number),
        "line_items": document["line_items"],
    }  # fmt: skip
    return {**document, "updated_at": now, "fulfillment_status": "fulfilled",
            "fulfillments": [fulfillment]}  # fmt: skip


def fulfillment_event(
    document: dict[str, Any], status: str, tracking_number: str | None, carrier: str | None
) -> dict[str, Any]:
    """`fulfillment_events/create`: the carrier's news of the parcel (in_transit, delivered)."""
    fulfillment = (document.get("fulfillments") or [{}])[-1]
    now = _now()
    return {
        "id": 2_800_000_000_000 + uuid.uuid4().int % 10**12,
        "fulfillment_id": fulfillment.get("id"), "order_id": document["id"], "status": status,
        "message": None, "happened_at": now, "created_at": now, "updated_at": now,
        "city": None, "country": "DE", "carrier": carrier, "tracking_number": tracking_number,
        "shop_id": 60_000_000_000,
    }  # fmt: skip


def tracking_url(number: str) -> str:
    return f"{SHOP_URL}/track/{number}"


def _e164(phone: str) -> str:
    return phone.replace(" ", "")


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")
