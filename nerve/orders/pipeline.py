"""Pipeline consumer: attached `Order Completed` events become orders (once per order id,
merged with what shops report), `Order Cancelled` / `Order Refunded` become statuses, and
the `Order Completed` Nerve recorded for a shop's order gives that order its person."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from pydantic import ValidationError
from sqlalchemy import Connection

from nerve.db.money import MoneyError, money
from nerve.identity.attached import AttachedBatch, AttachedEvent
from nerve.orders import service
from nerve.orders.announce import SOURCE
from nerve.orders.schemas import OrderFacts, OrderLine
from nerve.workspaces import service as workspaces

# Segment e-commerce spec v2 events that are statuses of an order.
_STATUS_EVENTS = {"Order Cancelled": "cancelled", "Order Refunded": "refunded"}


def order_of(payload: dict[str, Any]) -> tuple[str, float, str | None] | None:
    """(order_id, total, currency) of an Order Completed event (Segment e-commerce spec v2)."""
    order_id = _order_id(payload, "Order Completed")
    if order_id is None:
        return None
    properties = payload["properties"]
    # An order without an amount is still an order (counted, worth 0).
    amount = _amount(properties.get("total", properties.get("revenue"))) or Decimal(0)
    currency = properties.get("currency")
    return order_id, float(amount), currency[:8] if isinstance(currency, str) else None


def facts_of(payload: dict[str, Any], order_id: str) -> OrderFacts:
    """What a head's `Order Completed` says, leaving out what is not valid (an amount with
    too many decimals, a malformed product): the order still counts."""
    properties = payload["properties"]
    traits = (payload.get("context") or {}).get("traits") or {}
    products = properties.get("products")
    lines = [line for p in (products if isinstance(products, list) else [])
             if (line := _line(p)) is not None]  # fmt: skip
    coupon = properties.get("coupon")
    found: dict[str, Any] = {
        "order_id": order_id,
        "user_id": payload.get("userId"), "anonymous_id": payload.get("anonymousId"),
        "email": _text(traits.get("email") or properties.get("email")),
        "phone": _text(traits.get("phone")),
        "currency": _text(properties.get("currency")),
        "total": _amount(properties.get("total", properties.get("revenue"))),
        "subtotal": _amount(properties.get("subtotal")), "tax": _amount(properties.get("tax")),
        "shipping": _amount(properties.get("shipping")),
        "discount": _amount(properties.get("discount")),
        "coupons": [c.strip() for c in coupon.split(",") if c.strip()]
        if isinstance(coupon, str) else [],
        "lines": lines, "b2b": properties.get("b2b") is True,
        "preorder": properties.get("preorder") is True,
        "cart_id": _text(properties.get("cart_id")),
    }  # fmt: skip
    try:
        return OrderFacts.model_validate(found)
    except ValidationError as error:
        # Drop each field the spec's checks refused; the order and its person stay.
        bad = {str(e["loc"][0]) for e in error.errors() if e["loc"]}
        kept = {
            k: v
            for k, v in found.items()
            if k not in bad or k in ("order_id", "user_id", "anonymous_id")
        }
        return OrderFacts.model_validate(kept)


def record_orders(conn: Connection, batch: AttachedBatch) -> None:
    wanted = [
        (event, name, order_id) for event in batch.events
        for name in ("Order Completed", *_STATUS_EVENTS)
        if (order_id := _order_id(event.payload, name)) is not None
    ]  # fmt: skip
    if not wanted:
        return
    sources = {s.id: s.name for s in workspaces.sources_by_id(
        conn, sorted({event.source_id for event, _, _ in wanted}))}  # fmt: skip
    for event, name, order_id in wanted:
        source = sources.get(event.source_id, event.source_id)
        if source == SOURCE:  # Nerve's own event of a shop's order: now it has its person
            if name == "Order Completed":
                service.attach(conn, batch.workspace_id, order_id, event.profile_id)
        elif name == "Order Completed":
            _record(conn, batch.workspace_id, event, order_id, source)
        else:
            service.add_status(conn, batch.workspace_id, order_id, _STATUS_EVENTS[name],
                               event.timestamp, source=source)  # fmt: skip


def _record(
    conn: Connection, workspace_id: str, event: AttachedEvent, order_id: str, source: str
) -> None:
    facts = facts_of(event.payload, order_id).model_copy(update={"placed_at": event.timestamp})
    service.record_order(conn, workspace_id, facts, source=source,
                         profile_id=event.profile_id, event_id=event.id)  # fmt: skip


def _order_id(payload: dict[str, Any], name: str) -> str | None:
    if payload.get("type") != "track" or payload.get("event") != name:
        return None
    properties = payload.get("properties")
    if not isinstance(properties, dict):
        return None
    order_id = properties.get("order_id")
    if order_id in (None, "") or isinstance(order_id, dict | list | bool):
        return None
    return str(order_id)[:255]


def _amount(value: Any) -> Decimal | None:
    try:
        return money(value) if isinstance(value, int | float | str | Decimal) else None
    except MoneyError:
        return None


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _line(product: Any) -> OrderLine | None:
    if not isinstance(product, dict):
        return None
    quantity = product.get("quantity", 1)
    found = {"sku": _text(product.get("sku")), "name": _text(product.get("name")),
             "product_id": None if product.get("product_id") is None
             else str(product.get("product_id")),
             "quantity": quantity if isinstance(quantity, int) and not isinstance(quantity, bool)
             else 1, "price": _amount(product.get("price"))}  # fmt: skip
    try:
        return OrderLine.model_validate(found)
    except ValidationError:
        return None
