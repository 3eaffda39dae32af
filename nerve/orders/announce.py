"""The events orders record about their person: `Order Completed` for an order no head
reported, and one event per status (`order_paid`, `order_shipped`, ...) — through
`nerve/events/internal.py`, in the caller's transaction, so flows trigger on them and the
timeline shows them. Message ids come from the facts, so a repeat is stored once."""

from __future__ import annotations

import hashlib
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection

from nerve.events.internal import Person, record
from nerve.identity import service as identity
from nerve.orders.models import OrderItem

SOURCE = "Nerve orders"

EVENT_OF_STATUS = {
    "paid": "order_paid",
    "payment_failed": "payment_failed",
    "cancelled": "order_cancelled",
    "refunded": "order_refunded",
    "partly_refunded": "order_partly_refunded",
    "shipped": "order_shipped",
    "delivered": "order_delivered",
    "delayed": "shipment_delayed",
}


def order_completed(conn: Connection, order: Any, items: list[OrderItem]) -> None:
    """`Order Completed` (Segment e-commerce spec v2) for an order a shop reported."""
    properties = _order_properties(order) | {
        "subtotal": _number(order.subtotal), "tax": _number(order.tax),
        "shipping": _number(order.shipping), "discount": _number(order.discount),
        "coupon": ",".join(order.coupons) or None, "coupons": order.coupons,
        "cart_id": order.cart_id, "b2b": order.b2b, "preorder": order.preorder,
        "products": [
            {"sku": i.sku, "product_id": i.product_id, "name": i.name, "quantity": i.quantity,
             "price": _number(i.price)}
            for i in items
        ],
    }  # fmt: skip
    _record(conn, order, "Order Completed", properties, order.placed_at, "completed")


def status_changed(conn: Connection, order: Any, status: Any) -> None:
    properties = _order_properties(order) | {"status": status.status}
    for name, value in status.detail.items():
        properties[name] = _number(Decimal(value)) if name == "amount" else value
    _record(conn, order, EVENT_OF_STATUS[status.status], properties, status.at,
            f"{status.status}|{status.at.isoformat()}")  # fmt: skip


def _order_properties(order: Any) -> dict[str, Any]:
    # Segment's spec has amounts as JSON numbers; a Decimal with at most four decimals reads
    # back as the same short number ("19.99"). The API shows the exact strings.
    return {"order_id": order.order_id, "total": _number(order.total),
            "revenue": _number(order.total), "currency": order.currency}  # fmt: skip


def _record(
    conn: Connection, order: Any, name: str, properties: dict[str, Any], at: datetime, fact: str
) -> None:
    digest = hashlib.sha256(f"{order.workspace_id}|{order.order_id}|{fact}".encode()).hexdigest()
    record(conn, order.workspace_id, SOURCE, person_of(conn, order), name,
           {k: v for k, v in properties.items() if v is not None}, at,
           f"nerve-order-{digest[:40]}")  # fmt: skip


def person_of(conn: Connection, order: Any) -> Person:
    traits = {k: v for k, v in (("email", order.email), ("phone", order.phone)) if v}
    user_id, anonymous_id = order.user_id, order.anonymous_id
    if not user_id and not anonymous_id and order.profile_id:
        # An order from before the customer was kept on it (migration 0018): its profile's ids.
        held = dict(reversed(identity.identifiers_of(conn, [order.profile_id])))
        user_id, anonymous_id = held.get("user_id"), held.get("anonymous_id")
    if not user_id and not anonymous_id:
        # Events name a person by a user or anonymous id (Segment); a shop that knows only the
        # email gets a stable device-less id of it, and identity links it by the email.
        known = order.email or order.phone or order.order_id
        anonymous_id = "nerve-" + hashlib.sha256(known.lower().encode()).hexdigest()[:32]
    return Person(user_id=user_id, anonymous_id=anonymous_id, traits=traits)


def _number(amount: Decimal | None) -> float | int | None:
    if amount is None:
        return None
    return int(amount) if amount == amount.to_integral_value() else float(amount)
