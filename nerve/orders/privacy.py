"""Personal data in orders: who bought what, when, and what became of each order."""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, Connection, delete, or_, select

from nerve.orders.models import Order, OrderItem, OrderStatus
from nerve.orders.service import orders_of
from nerve.privacy.subject import PersonalData, Subject


def _export(conn: Connection, subject: Subject) -> list[dict[str, Any]]:
    return orders_of(conn, subject.profile_ids)


def _erase(conn: Connection, subject: Subject) -> None:
    for start in range(0, len(subject.profile_ids), 5000):
        _delete(conn, subject.workspace_id,
                Order.profile_id.in_(subject.profile_ids[start : start + 5000]))  # fmt: skip
    # A shop's order whose own event is not attached yet has no profile: found by whom it names.
    named = or_(
        Order.user_id.in_(subject.values("user_id")),
        Order.anonymous_id.in_(subject.values("anonymous_id")),
        Order.email.in_(subject.values("email")),
        Order.phone.in_(subject.values("phone")),
    )
    _delete(conn, subject.workspace_id, Order.profile_id.is_(None) & named)


def _delete(conn: Connection, workspace_id: str, which: ColumnElement[bool]) -> None:
    """Orders of the workspace matching `which`, with their lines and status history."""
    orders = select(Order.id, Order.order_id).where(Order.workspace_id == workspace_id, which)
    conn.execute(
        delete(OrderStatus).where(
            OrderStatus.workspace_id == workspace_id,
            OrderStatus.order_id.in_(orders.with_only_columns(Order.order_id)),
        )
    )
    conn.execute(
        delete(OrderItem).where(OrderItem.order_ref.in_(orders.with_only_columns(Order.id)))
    )
    conn.execute(delete(Order).where(Order.workspace_id == workspace_id, which))


ORDERS = PersonalData(
    "orders", ("orders", "order_lines", "order_statuses"), erase=_erase, export=_export
)
