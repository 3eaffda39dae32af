"""An order's status history and its current status.

Shops' webhooks arrive out of order (Shopify retries for hours; a carrier's `delivered` can
overtake the shop's `shipped`), so every status is kept with the time it happened and the
current one is derived from all of them: the latest by time, ties broken by the lifecycle.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, Row, select, update

from nerve.orders import announce
from nerve.orders.models import Order, OrderStatus

# Later in an order's life ranks higher: of two statuses at the same instant, the higher wins.
RANK = {"placed": 0, "payment_failed": 1, "paid": 2, "shipped": 3, "delayed": 4,
        "delivered": 5, "partly_refunded": 6, "refunded": 7, "cancelled": 8}  # fmt: skip

_STATUS = select(OrderStatus.__table__)


def current(history: Sequence[Any]) -> str:
    """The status an order is in after `history` (rows with `status` and `at`)."""
    if not history:
        return "placed"
    latest = max(history, key=lambda s: (s.at, RANK[s.status]))
    return str(latest.status)


def settle(conn: Connection, order: Row[Any]) -> None:
    """Record the event of each status of `order` not yet announced (the ones that waited for
    the order, or the one just added) and derive its current status again."""
    rows = conn.execute(
        _STATUS.where(
            OrderStatus.workspace_id == order.workspace_id,
            OrderStatus.order_id == order.order_id,
        ).order_by(OrderStatus.at, OrderStatus.id)
    ).all()
    waiting = [row for row in rows if not row.announced]
    for row in waiting:
        announce.status_changed(conn, order, row)
    if waiting:
        conn.execute(
            update(OrderStatus)
            .where(OrderStatus.id.in_([row.id for row in waiting]))
            .values(announced=True)
        )
    status = current(rows)
    if status != order.status:
        conn.execute(update(Order).where(Order.id == order.id).values(status=status))


def history(
    conn: Connection, workspace_id: str, order_ids: list[str]
) -> dict[str, list[dict[str, Any]]]:
    """Each order's statuses by time, as `StatusRecord`s."""
    found: dict[str, list[dict[str, Any]]] = {}
    for start in range(0, len(order_ids), 5000):
        rows = conn.execute(
            _STATUS.where(
                OrderStatus.workspace_id == workspace_id,
                OrderStatus.order_id.in_(order_ids[start : start + 5000]),
            ).order_by(OrderStatus.at, OrderStatus.id)
        )
        for row in rows:
            found.setdefault(row.order_id, []).append(
                {"status": row.status, "at": row.at, "source": row.source, "detail": row.detail}
            )
    return found
