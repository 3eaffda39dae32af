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
    return OrderTotals(int(count or 0), round(float(spent or 0.0), 2), _aware(last_at))


def totals_by_profile(conn: Connection, profile_ids: list[str]) -> dict[str, OrderTotals]:
    """Each profile's orders (of those with any), for people read together."""
    found = {}
    for start in range(0, len(profile_ids), 5000):
        rows = conn.execute(
            select(
                Order.profile_id, func.count(), func.sum(Order.total), func.max(Order.ordered_at)
            )
            .where(Order.profile_id.in_(profile_ids[start : start + 5000]))
            .group_by(Order.profile_id)
        )
        for profile_id, count, spent, last_at in rows:
            found[profile_id] = OrderTotals(int(count), float(spent or 0.0), _aware(last_at))
    return found


def combine(parts: list[OrderTotals]) -> OrderTotals:
    """One person's totals from those of their profiles."""
    latest = [p.last_at for p in parts if p.last_at is not None]
    return OrderTotals(
        sum(p.count for p in parts),
        round(sum(p.spent for p in parts), 2),
        max(latest, default=None),
    )


def _aware(value: Any) -> datetime | None:
    # max() comes back as the stored text on SQLite, without the column's type.
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    if value is not None and value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value  # type: ignore[no-any-return]


def orders_of(conn: Connection, profile_ids: list[str]) -> list[dict[str, Any]]:
    rows = conn.execute(
        select(Order.order_id, Order.total, Order.currency, Order.ordered_at)
        .where(Order.profile_id.in_(profile_ids))
        .order_by(Order.ordered_at, Order.id)
    )
    return [dict(row._mapping) for row in rows]
