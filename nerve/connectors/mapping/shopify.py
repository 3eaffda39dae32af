"""Shopify's webhook topics (REST payloads, API version 2024-01 and later) mapped onto Nerve:
customers → people, orders and their statuses → orders, checkouts → carts, products and
inventory levels → the catalog. Amounts arrive as strings and stay exact."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from nerve.connectors.mapping.fields import (
    MappingError,
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

# fulfillment_events/create: the carrier's status → Nerve's order status (others, such as
# label_printed or confirmed, change nothing a customer would notice).
SHIPMENT_STATUSES = {
    "in_transit": "shipped", "out_for_delivery": "shipped", "carrier_picked_up": "shipped",
    "delivered": "delivered", "picked_up": "delivered",
    "delayed": "delayed", "failure": "delayed", "attempted_delivery": "delayed",
}  # fmt: skip
_NO_VARIANT_TITLE = "Default Title"  # Shopify's title of a product's only variant


def customer_of(document: dict[str, Any]) -> Customer:
    return Customer(
        customer_id=identifier(document, "id") if document.get("id") is not None else None,
        email=text(document, "email"), phone=text(document, "phone"),
        first_name=text(document, "first_name"), last_name=text(document, "last_name"),
    )  # fmt: skip


def customers_create(shop: Shop, document: dict[str, Any]) -> None:
    identifier(document, "id")
    shop.identify(customer_of(document), moment(document, "created_at"))


def _buyer(document: dict[str, Any]) -> Customer:
    customer = document.get("customer") if isinstance(document.get("customer"), dict) else {}
    found = customer_of(customer) if customer else Customer()
    return Customer(
        customer_id=found.customer_id, email=text(document, "email") or found.email,
        phone=text(document, "phone") or found.phone,
        first_name=found.first_name, last_name=found.last_name,
    )  # fmt: skip


def _order_facts(shop: Shop, document: dict[str, Any]) -> dict[str, Any]:
    order_id = identifier(document, "id")
    person = shop.person(_buyer(document), fallback=f"order:{order_id}")
    lines = [{
        "sku": text(line, "sku") or text(line, "variant_id"),
        "product_id": text(line, "product_id"), "name": text(line, "name") or text(line, "title"),
        "quantity": quantity(line, "quantity"), "price": amount(line, "price"),
    } for line in listed(document, "line_items")]  # fmt: skip
    tags = [t.strip().lower() for t in (text(document, "tags") or "").split(",")]
    return {
        "order_id": order_id, "anonymous_id": person.anonymous_id,
        "email": person.traits.get("email"), "phone": person.traits.get("phone"),
        "currency": currency(document, "currency"), "total": amount(document, "total_price"),
        "subtotal": amount(document, "subtotal_price", default=Decimal(0)),
        "tax": amount(document, "total_tax", default=Decimal(0)),
        "shipping": amount(document, "total_shipping_price_set", "shop_money", "amount",
                           default=Decimal(0)),
        "discount": amount(document, "total_discounts", default=Decimal(0)),
        "coupons": [c for d in listed(document, "discount_codes") if (c := text(d, "code"))],
        "lines": lines, "b2b": bool(optional(document, "company")) or "b2b" in tags,
        "preorder": "preorder" in tags,
        "placed_at": first_moment(document, "processed_at", "created_at"),
        "cart_id": text(document, "checkout_token") or text(document, "cart_token"),
    }  # fmt: skip


def orders_create(shop: Shop, document: dict[str, Any]) -> None:
    shop.order(_order_facts(shop, document))


def orders_paid(shop: Shop, document: dict[str, Any]) -> None:
    shop.order(_order_facts(shop, document))
    shop.status(identifier(document, "id"), "paid", moment(document, "updated_at"))


def orders_cancelled(shop: Shop, document: dict[str, Any]) -> None:
    shop.order(_order_facts(shop, document))
    shop.status(identifier(document, "id"), "cancelled", moment(document, "cancelled_at"),
                {"reason": text(document, "cancel_reason")})  # fmt: skip


def orders_fulfilled(shop: Shop, document: dict[str, Any]) -> None:
    shop.order(_order_facts(shop, document))
    fulfillments = listed(document, "fulfillments")
    latest = fulfillments[-1] if fulfillments else {}
    at = moment(latest, "created_at") if latest else moment(document, "updated_at")
    shop.status(identifier(document, "id"), "shipped", at, {
        "carrier": text(latest, "tracking_company"), "tracking_number": text(latest,
        "tracking_number"), "tracking_url": text(latest, "tracking_url"),
    })  # fmt: skip


def refunds_create(shop: Shop, document: dict[str, Any]) -> None:
    order_id = identifier(document, "order_id")
    refunded = sum((amount(t, "amount") for t in listed(document, "transactions")
                    if text(t, "kind") == "refund" and text(t, "status") in (None, "success")),
                   Decimal(0))  # fmt: skip
    order = shop.known_order(order_id)
    before = sum(
        (
            Decimal(str(s["detail"].get("amount", 0)))
            for s in (order or {}).get("statuses", [])
            if s["status"] in ("refunded", "partly_refunded")
        ),
        Decimal(0),
    )
    whole = (
        order is not None
        and order.get("total") is not None
        and (before + refunded >= Decimal(str(order["total"])))
    )
    shop.status(order_id, "refunded" if whole else "partly_refunded",
                moment(document, "created_at"),
                {"amount": str(refunded), "reason": text(document, "note")})  # fmt: skip


def fulfillment_events_create(shop: Shop, document: dict[str, Any]) -> None:
    order_id = identifier(document, "order_id")
    carrier_status = text(document, "status")
    if carrier_status is None:
        raise MappingError("status is missing")
    status = SHIPMENT_STATUSES.get(carrier_status)
    if status is None:
        return  # label_printed, confirmed, ready_for_pickup: nothing a customer would notice
    at = first_moment(document, "happened_at", "created_at")
    shop.status(order_id, status, at, {
        "reason": carrier_status, "carrier": text(document, "carrier"),
        "tracking_number": text(document, "tracking_number"),
    })  # fmt: skip


def checkouts_create(shop: Shop, document: dict[str, Any]) -> None:
    token = identifier(document, "token")
    person = shop.person(_buyer(document), fallback=f"checkout:{token}")
    code = currency(document, "currency")
    lines = [{
        "sku": text(line, "sku") or text(line, "variant_id"),
        "quantity": quantity(line, "quantity"), "price": amount(line, "price"), "currency": code,
        "name": text(line, "title"), "product_id": text(line, "product_id"),
    } for line in listed(document, "line_items")]  # fmt: skip
    at = first_moment(document, "updated_at", "created_at")
    shop.checkout(person, token, lines, code, at)
    total = amount(document, "total_price", default=Decimal(0))
    shop.event(person, "Checkout Started", {
        "checkout_id": token, "cart_id": token, "value": float(total), "revenue": float(total),
        "currency": code, "products": [
            {"sku": line["sku"], "name": line["name"], "quantity": line["quantity"],
             "price": float(amount(line, "price")), "product_id": line["product_id"]}
            for line in lines
        ], "checkout_url": text(document, "abandoned_checkout_url"),
    }, first_moment(document, "created_at", "updated_at"),
        once_per=f"checkout-{token}")  # fmt: skip


def products_create(shop: Shop, document: dict[str, Any]) -> None:
    product_id = identifier(document, "id")
    title = text(document, "title")
    images = {text(i, "id"): i for i in listed(document, "images")}
    main_image = optional(document, "image") or {}
    options = [text(o, "name") for o in listed(document, "options")]
    status = text(document, "status") or "active"
    variants, items = [], {}
    for variant in listed(document, "variants"):
        sku = text(variant, "sku") or text(variant, "id")
        if sku is None:
            raise MappingError("a variant has neither a sku nor an id")
        name = text(variant, "title")
        image = images.get(text(variant, "image_id")) or main_image
        attributes = {o: v for n, o in enumerate(options, 1) if o and (v := text(variant,
                      f"option{n}"))}  # fmt: skip
        variants.append({
            "sku": sku, "product_id": product_id,
            "name": title if name in (None, _NO_VARIANT_TITLE) else f"{title} - {name}",
            "brand": text(document, "vendor"), "category": text(document, "product_type"),
            "price": amount(variant, "price"),
            "compare_at_price": amount(variant, "compare_at_price") if text(
                variant, "compare_at_price") else None,
            "currency": _variant_currency(variant), "gtin": text(variant, "barcode"),
            "image_url": text(image, "src"), "image_alt": text(image, "alt"),
            "status": status if status in ("active", "draft", "archived") else "draft",
            "tags": [t.strip() for t in (text(document, "tags") or "").split(",") if t.strip()],
            "attributes": attributes or None,
        })  # fmt: skip
        if item := text(variant, "inventory_item_id"):
            items[item] = sku
    if not variants:
        raise MappingError("the product has no variants")
    shop.products(variants)
    shop.remember_inventory_items(items)


def _variant_currency(variant: dict[str, Any]) -> str | None:
    for presentment in listed(variant, "presentment_prices"):
        if code := text(presentment, "price", "currency_code"):
            return code
    return None


def inventory_levels_update(shop: Shop, document: dict[str, Any]) -> None:
    available = optional(document, "available")
    shop.inventory(identifier(document, "inventory_item_id"),
                   identifier(document, "location_id"),
                   0 if available is None else quantity(document, "available"))  # fmt: skip


TOPICS: dict[str, Any] = {
    "customers/create": customers_create,
    "customers/update": customers_create,
    "orders/create": orders_create,
    "orders/updated": orders_create,
    "orders/paid": orders_paid,
    "orders/cancelled": orders_cancelled,
    "orders/fulfilled": orders_fulfilled,
    "refunds/create": refunds_create,
    "fulfillment_events/create": fulfillment_events_create,
    "checkouts/create": checkouts_create,
    "checkouts/update": checkouts_create,
    "products/create": products_create,
    "products/update": products_create,
    "inventory_levels/update": inventory_levels_update,
}
