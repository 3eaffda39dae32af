"""WooCommerce's webhook topics (REST API v3 resources: order, product, customer) mapped onto
Nerve. Times are read from the `_gmt` fields (the others are in the shop's time zone); an
order's statuses come from its state on each order.created / order.updated."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from nerve.connectors.mapping.fields import (
    amount,
    currency,
    first_moment,
    identifier,
    listed,
    moment,
    optional,
    quantity,
    text,
)
from nerve.connectors.mapping.shop import Customer, Shop

# WooCommerce's product statuses → the catalog's.
_PRODUCT_STATUS = {"publish": "active", "draft": "draft", "pending": "draft", "private": "draft",
                   "trash": "archived"}  # fmt: skip


def customer_of(document: dict[str, Any]) -> Customer:
    customer_id = document.get("id") if "order_key" not in document else document.get(
        "customer_id")  # fmt: skip
    return Customer(
        customer_id=str(customer_id) if customer_id not in (None, 0, "0") else None,
        email=text(document, "email") or text(document, "billing", "email"),
        phone=text(document, "billing", "phone"),
        first_name=text(document, "first_name") or text(document, "billing", "first_name"),
        last_name=text(document, "last_name") or text(document, "billing", "last_name"),
    )


def customer_created(shop: Shop, document: dict[str, Any]) -> None:
    identifier(document, "id")
    shop.identify(customer_of(document), moment(document, "date_created_gmt"))


def order_changed(shop: Shop, document: dict[str, Any]) -> None:
    order_id = identifier(document, "id")
    person = shop.person(customer_of(document), fallback=f"order:{order_id}")
    lines = [{
        "sku": text(line, "sku") or text(line, "variation_id") or text(line, "product_id"),
        "product_id": text(line, "product_id"), "name": text(line, "name"),
        "quantity": quantity(line, "quantity"), "price": amount(line, "price"),
    } for line in listed(document, "line_items")]  # fmt: skip
    shop.order({
        "order_id": order_id, "anonymous_id": person.anonymous_id,
        "email": person.traits.get("email"), "phone": person.traits.get("phone"),
        "currency": currency(document, "currency"), "total": amount(document, "total"),
        "tax": amount(document, "total_tax", default=Decimal(0)),
        "shipping": amount(document, "shipping_total", default=Decimal(0)),
        "discount": amount(document, "discount_total", default=Decimal(0)),
        "coupons": [c for c_line in listed(document, "coupon_lines")
                    if (c := text(c_line, "code"))],
        "lines": lines, "placed_at": moment(document, "date_created_gmt"),
        "cart_id": text(document, "cart_hash"),
    })  # fmt: skip
    _statuses(shop, order_id, document)


def _statuses(shop: Shop, order_id: str, document: dict[str, Any]) -> None:
    status = text(document, "status")
    changed = first_moment(document, "date_modified_gmt", "date_created_gmt")
    if optional(document, "date_paid_gmt"):
        shop.status(order_id, "paid", moment(document, "date_paid_gmt"))
    if status == "completed":
        shop.status(
            order_id, "shipped", first_moment(document, "date_completed_gmt", "date_modified_gmt")
        )
    elif status == "cancelled":
        shop.status(order_id, "cancelled", changed)
    elif status == "failed":
        shop.status(order_id, "payment_failed", changed)
    refunds = listed(document, "refunds")
    refunded = -sum((amount(r, "total") for r in refunds), Decimal(0))
    if status == "refunded":
        shop.status(order_id, "refunded", changed, {"amount": str(abs(refunded)) or None})
    elif refunds:
        shop.status(order_id, "partly_refunded", changed, {"amount": str(abs(refunded))})


def product_changed(shop: Shop, document: dict[str, Any]) -> None:
    product_id = identifier(document, "id")
    image = (listed(document, "images") or [{}])[0]
    shop.products([{
        "sku": text(document, "sku") or product_id, "product_id": product_id,
        "name": text(document, "name"), "price": amount(document, "price"),
        "compare_at_price": amount(document, "regular_price") if text(
            document, "sale_price") else None,
        "url": text(document, "permalink"), "image_url": text(image, "src"),
        "image_alt": text(image, "alt"),
        "status": _PRODUCT_STATUS.get(text(document, "status") or "publish", "draft"),
        "category": " > ".join(n for c in listed(document, "categories")
                               if (n := text(c, "name"))) or None,
        "tags": [n for t in listed(document, "tags") if (n := text(t, "name"))],
    }])  # fmt: skip


TOPICS: dict[str, Any] = {
    "customer.created": customer_created,
    "customer.updated": customer_created,
    "order.created": order_changed,
    "order.updated": order_changed,
    "product.created": product_changed,
    "product.updated": product_changed,
}
