"""Personal data in orders: who bought what, when."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, delete

from nerve.orders.models import Order
from nerve.orders.service import orders_of
from nerve.privacy.subject import PersonalData, Subject


def _export(conn: Connection, subject: Subject) -> list[dict[str, Any]]:
    return orders_of(conn, subject.profile_ids)


def _erase(conn: Connection, subject: Subject) -> None:
    conn.execute(delete(Order).where(Order.profile_id.in_(subject.profile_ids)))


ORDERS = PersonalData("orders", ("orders",), erase=_erase, export=_export)
