"""Pipeline consumer: attached `Order Completed` events become orders, once per order id."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection

from nerve.identity.attached import AttachedBatch, AttachedEvent
from nerve.orders.models import Order


def order_of(payload: dict[str, Any]) -> tuple[str, float, str | None] | None:
    """(order_id, total, currency) of an Order Completed event (Segment e-commerce spec v2)."""
    if payload.get("type") != "track" or payload.get("event") != "Order Completed":
        return None
    properties = payload.get("properties")
    if not isinstance(properties, dict):
        return None
    order_id = properties.get("order_id")
    if order_id in (None, "") or isinstance(order_id, dict | list):
        return None
    # An order without an amount is still an order (counted, worth 0).
    amount = properties.get("total", properties.get("revenue"))
    if isinstance(amount, bool) or not isinstance(amount, int | float):
        amount = 0.0
    currency = properties.get("currency")
    return str(order_id)[:255], float(amount), currency[:8] if isinstance(currency, str) else None


def record_orders(conn: Connection, batch: AttachedBatch) -> None:
    rows = [
        _row(batch.workspace_id, event, order)
        for event in batch.events
        if (order := order_of(event.payload)) is not None
    ]
    if rows:
        # Several heads report the same order (web and POS, a retried webhook): the first wins.
        conn.execute(
            batch.dialect.insert_ignoring_duplicates(Order.__table__, ["workspace_id", "order_id"]),
            rows,
        )


def _row(
    workspace_id: str, event: AttachedEvent, order: tuple[str, float, str | None]
) -> dict[str, Any]:
    order_id, total, currency = order
    return {"workspace_id": workspace_id, "order_id": order_id, "profile_id": event.profile_id,
            "total": total, "currency": currency, "ordered_at": event.timestamp,
            "event_id": event.id}  # fmt: skip
