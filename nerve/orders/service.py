"""What other capabilities read about orders: a person's totals and list."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, func, select

from nerve.orders.models import Order


@dataclass(frozen=True)
class OrderTotals:
    count: int
    spent: float
    last_at: datetime | None


def totals(conn: Connection, profile_ids: list[str]) -> OrderTotals:
    """Orders of a person (all their profiles): how many, how much, the latest."""
    count, spent, last_at = conn.execute(
        select(func.count(), func.sum(Order.total), func.max(Order.ordered_at)).where(
            Order.profile_id.in_(profile_ids)
        )
    ).one()
    # max() comes back as the stored text on SQLite, without the column's type.
    if isinstance(last_at, str):
        last_at = datetime.fromisoformat(last_at)
    if last_at is not None and last_at.tzinfo is None:
        last_at = last_at.replace(tzinfo=UTC)
    return OrderTotals(int(count or 0), round(float(spent or 0.0), 2), last_at)


def orders_of(conn: Connection, profile_ids: list[str]) -> list[dict[str, Any]]:
    rows = conn.execute(
        select(Order.order_id, Order.total, Order.currency, Order.ordered_at)
        .where(Order.profile_id.in_(profile_ids))
        .order_by(Order.ordered_at, Order.id)
    )
    return [dict(row._mapping) for row in rows]
