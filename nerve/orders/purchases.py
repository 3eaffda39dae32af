"""What people bought, sku by sku, for the recommendations: every order line of a workspace
since a time (training streams them) and the skus one person bought (their exclusions).
Cancelled and refunded orders do not count as bought."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import UTC, datetime

from sqlalchemy import Connection, func, select

from nerve.orders.models import Order, OrderItem

_NOT_BOUGHT = ("cancelled", "refunded")
_STREAM = 5000  # rows per fetch while streaming a workspace's lines


def lines_since(
    conn: Connection, workspace_id: str, since: datetime
) -> Iterator[tuple[str, int, datetime, str]]:
    """(profile id, order number, placed at, sku) of each line with a sku of an order with a
    person, placed since `since`."""
    query = (
        select(Order.profile_id, Order.id, Order.placed_at, OrderItem.sku)
        .join(OrderItem, OrderItem.order_ref == Order.id)
        .where(Order.workspace_id == workspace_id, Order.placed_at >= since)
        .where(Order.profile_id.is_not(None), OrderItem.sku.is_not(None))
        .where(Order.status.not_in(_NOT_BOUGHT))
    )
    rows = conn.execution_options(yield_per=_STREAM).execute(query)
    for profile_id, order_ref, placed_at, sku in rows:
        if profile_id is not None and sku is not None:  # the query's filters say so
            yield profile_id, order_ref, placed_at, sku


def last_bought(conn: Connection, profile_ids: Sequence[str]) -> dict[str, datetime]:
    """Sku → when these profiles (one person's) last bought it."""
    if not profile_ids:
        return {}
    query = (
        select(OrderItem.sku, func.max(Order.placed_at))
        .join(OrderItem, OrderItem.order_ref == Order.id)
        .where(Order.profile_id.in_(list(profile_ids)), OrderItem.sku.is_not(None))
        .where(Order.status.not_in(_NOT_BOUGHT))
        .group_by(OrderItem.sku)
    )
    found: dict[str, datetime] = {}
    for sku, at in conn.execute(query):
        if sku is None:
            continue
        # SQLite's max() hands back the stored text, not the column's type.
        found[sku] = at if isinstance(at, datetime) else _parsed(at)
    return found


def workspaces_with_orders(conn: Connection) -> list[str]:
    return sorted(conn.scalars(select(Order.workspace_id).distinct()))


def _parsed(value: str) -> datetime:
    moment = datetime.fromisoformat(value)
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment
