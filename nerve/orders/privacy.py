"""Personal data in orders: who bought what, when, and what became of each order."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, delete, select

from nerve.orders.models import Order, OrderItem, OrderStatus
from nerve.orders.service import orders_of
from nerve.privacy.subject import PersonalData, Subject


def _export(conn: Connection, subject: Subject) -> list[dict[str, Any]]:
    return orders_of(conn, subject.profile_ids)


def _erase(conn: Connection, subject: Subject) -> None:
    for start in range(0, len(subject.profile_ids), 5000):
        ids = subject.profile_ids[start : start + 5000]
        mine = select(Order.id).where(Order.profile_id.in_(ids))
        order_ids = select(Order.order_id).where(
            Order.workspace_id == subject.workspace_id, Order.profile_id.in_(ids)
        )
        conn.execute(
            delete(OrderStatus).where(
                OrderStatus.workspace_id == subject.workspace_id,
                OrderStatus.order_id.in_(order_ids),
            )
        )
        conn.execute(delete(OrderItem).where(OrderItem.order_ref.in_(mine)))
        conn.execute(delete(Order).where(Order.profile_id.in_(ids)))


ORDERS = PersonalData(
    "orders", ("orders", "order_lines", "order_statuses"), erase=_erase, export=_export
)
