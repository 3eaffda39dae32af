"""Orders: each order once per workspace however many heads and shops report it, its status
history, and what other capabilities read (a person's orders and totals).

`record_order` and `add_status` are what the pipeline (a head's `Order Completed`), the shop
connectors and the orders API all call: one way in, so a webhook's order and a head's event of
the same order id merge instead of counting twice.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, Row, insert, select, update

from nerve.db.dialect import dialect_of
from nerve.db.locks import named_key, transaction_lock
from nerve.errors import InvalidInput, NotFound
from nerve.identity import service as identity
from nerve.orders import announce, statuses
from nerve.orders.models import Order, OrderItem, OrderStatus
from nerve.orders.schemas import STATUSES, OrderFacts, OrderLine
from nerve.orders.totals import OrderTotals, combine, totals, totals_by_profile

__all__ = ["OrderTotals", "add_status", "attach", "combine", "find", "find_or_none", "orders_of",
           "orders_of_person", "record_order", "totals", "totals_by_profile"]  # fmt: skip

_FILLED = ("user_id", "anonymous_id", "email", "phone", "currency", "total", "subtotal", "tax",
           "shipping", "discount", "cart_id")  # fmt: skip


def record_order(
    conn: Connection, workspace_id: str, facts: OrderFacts, *, source: str,
    profile_id: str | None = None, event_id: int | None = None,
) -> bool:  # fmt: skip
    """Record what `source` knows about an order; True if the order id was new. A known order
    takes the facts it lacked (nothing is counted twice). A new order that no head's event
    reported (`event_id` None) records `Order Completed` about its person, once; statuses
    that arrived before it apply now."""
    _lock(conn, workspace_id, facts.order_id)
    row = _values(facts) | {"workspace_id": workspace_id, "sources": [source],
                            "profile_id": profile_id, "event_id": event_id}  # fmt: skip
    # RETURNING, not rowcount: psycopg reports -1 for an insert with an implicit RETURNING.
    table = Order.__table__
    inserted = conn.execute(
        dialect_of(conn)
        .insert_ignoring_duplicates(table, ["workspace_id", "order_id"])
        .returning(table.c.id),
        row,
    ).scalar_one_or_none()
    order = _order(conn, workspace_id, facts.order_id)
    if inserted is not None:
        items = _add_lines(conn, order.id, facts.lines)
        if event_id is None:
            announce.order_completed(conn, order, items)
        statuses.settle(conn, order)
        return True
    changes = _merged(order, facts, source, profile_id, event_id)
    if changes:
        conn.execute(update(Order).where(Order.id == order.id).values(**changes))
    if facts.lines and not _has_lines(conn, order.id):
        _add_lines(conn, order.id, facts.lines)
    return False


def add_status(
    conn: Connection, workspace_id: str, order_id: str, status: str, at: datetime, *,
    source: str, detail: dict[str, Any] | None = None,
) -> bool:  # fmt: skip
    """Record that the order had `status` at `at` (carrier, tracking number, refund amount in
    `detail`); False when that status at that time is already recorded. For an order not yet
    known the status waits and applies when the order arrives; otherwise its event
    (`order_paid`, ...) is recorded now and the current status derived again."""
    if status not in STATUSES:
        raise InvalidInput(f"unknown order status {status!r}; known: {', '.join(STATUSES)}")
    if not order_id or len(order_id) > 255:
        raise InvalidInput("an order id has 1 to 255 characters")
    at = at.replace(tzinfo=UTC) if at.tzinfo is None else at.astimezone(UTC)
    _lock(conn, workspace_id, order_id)
    row = {"workspace_id": workspace_id, "order_id": order_id, "status": status, "at": at,
           "source": source[:255], "detail": detail or {}, "announced": False}  # fmt: skip
    table = OrderStatus.__table__
    index = ["workspace_id", "order_id", "status", "at"]
    added = dialect_of(conn).insert_ignoring_duplicates(table, index).returning(table.c.id)
    if conn.execute(added, row).scalar_one_or_none() is None:
        return False
    order = conn.execute(_ORDER.where(Order.workspace_id == workspace_id,
                                      Order.order_id == order_id)).one_or_none()  # fmt: skip
    if order is not None:
        statuses.settle(conn, order)
    return True


def attach(conn: Connection, workspace_id: str, order_id: str, profile_id: str) -> None:
    """The person of an order reported without one (a shop's), once identity attached the
    order's own `Order Completed` event."""
    conn.execute(
        update(Order)
        .where(Order.workspace_id == workspace_id, Order.order_id == order_id)
        .where(Order.profile_id.is_(None))
        .values(profile_id=profile_id)
    )


def find(conn: Connection, workspace_id: str, order_id: str) -> dict[str, Any]:
    """One order with its lines and status history."""
    found = find_or_none(conn, workspace_id, order_id)
    if found is None:
        raise NotFound(f"no order {order_id}")
    return found


def find_or_none(conn: Connection, workspace_id: str, order_id: str) -> dict[str, Any] | None:
    order = conn.execute(_ORDER.where(Order.workspace_id == workspace_id,
                                      Order.order_id == order_id)).one_or_none()  # fmt: skip
    if order is None:
        return None
    return _shown(conn, [order])[0]


def orders_of_person(conn: Connection, workspace_id: str, profile_id: str) -> list[dict[str, Any]]:
    """The orders of the person `profile_id` belongs to (every profile merged into them)."""
    person = identity.person_of(conn, workspace_id, profile_id)
    return orders_of(conn, identity.members(conn, person))


def orders_of(conn: Connection, profile_ids: list[str]) -> list[dict[str, Any]]:
    """Orders of these profiles, newest first, with lines and statuses."""
    found: list[Row[Any]] = []
    for start in range(0, len(profile_ids), 5000):
        found += conn.execute(
            _ORDER.where(Order.profile_id.in_(profile_ids[start : start + 5000]))
        ).all()
    found.sort(key=lambda o: (o.placed_at, o.id), reverse=True)
    return _shown(conn, found)


# Orders are read as rows of the table (no ORM session here), with the columns' types.
_ORDER = select(Order.__table__)


def _order(conn: Connection, workspace_id: str, order_id: str) -> Row[Any]:
    query = _ORDER.where(Order.workspace_id == workspace_id, Order.order_id == order_id)
    return conn.execute(dialect_of(conn).for_update(query)).one()


def _lock(conn: Connection, workspace_id: str, order_id: str) -> None:
    # An order and a status of it may arrive at once (PostgreSQL): without the lock the status
    # could miss the order being inserted and wait for it for ever.
    transaction_lock(conn, named_key(workspace_id, "order", order_id))


def _values(facts: OrderFacts) -> dict[str, Any]:
    return facts.model_dump(include={*_FILLED, "order_id", "coupons", "b2b", "preorder",
                                     "placed_at"})  # fmt: skip


def _merged(
    order: Row[Any], facts: OrderFacts, source: str, profile_id: str | None, event_id: int | None
) -> dict[str, Any]:
    """What the facts add to a known order: values it lacked, flags, coupons, its source."""
    changes: dict[str, Any] = {
        name: getattr(facts, name) for name in _FILLED
        if getattr(order, name) is None and getattr(facts, name) is not None
    }  # fmt: skip
    if profile_id and order.profile_id is None:
        changes["profile_id"] = profile_id
    if event_id and order.event_id is None:
        changes["event_id"] = event_id
    for flag in ("b2b", "preorder"):
        if getattr(facts, flag) and not getattr(order, flag):
            changes[flag] = True
    if any(code not in order.coupons for code in facts.coupons):
        changes["coupons"] = order.coupons + [c for c in facts.coupons if c not in order.coupons]
    if source not in order.sources:
        changes["sources"] = [*order.sources, source]
    if facts.placed_at < order.placed_at:  # the shop's own time beats a head's later event
        changes["placed_at"] = facts.placed_at
    return changes


def _has_lines(conn: Connection, order_ref: int) -> bool:
    return (
        conn.scalar(select(OrderItem.id).where(OrderItem.order_ref == order_ref).limit(1))
        is not None
    )


def _add_lines(conn: Connection, order_ref: int, lines: list[OrderLine]) -> list[OrderItem]:
    items = [
        OrderItem(order_ref=order_ref, position=n, sku=line.sku, product_id=line.product_id,
                  name=line.name, quantity=line.quantity, price=line.price,
                  line_total=None if line.price is None else line.price * line.quantity)
        for n, line in enumerate(lines)
    ]  # fmt: skip
    if items:
        conn.execute(
            insert(OrderItem),
            [{c: getattr(i, c) for c in _ITEM_COLUMNS} for i in items],
        )
    return items


_ITEM_COLUMNS = ("order_ref", "position", "sku", "product_id", "name", "quantity", "price",
                 "line_total")  # fmt: skip


def _shown(conn: Connection, orders: list[Row[Any]]) -> list[dict[str, Any]]:
    """Orders as `OrderRecord`s, with their lines and statuses read in two queries."""
    if not orders:
        return []
    refs = [o.id for o in orders]
    lines: dict[int, list[dict[str, Any]]] = {}
    for item in conn.execute(select(OrderItem.__table__).where(OrderItem.order_ref.in_(refs))
                             .order_by(OrderItem.order_ref, OrderItem.position)):  # fmt: skip
        lines.setdefault(item.order_ref, []).append(
            {c: getattr(item, c) for c in _ITEM_COLUMNS[2:]}
        )
    history = statuses.history(conn, orders[0].workspace_id, [o.order_id for o in orders])
    return [
        {c: getattr(o, c) for c in _SHOWN} | {
            "lines": lines.get(o.id, []), "statuses": history.get(o.order_id, [])}
        for o in orders
    ]  # fmt: skip


_SHOWN = ("order_id", "profile_id", "status", "currency", "total", "subtotal", "tax", "shipping",
          "discount", "coupons", "b2b", "preorder", "cart_id", "placed_at", "sources")  # fmt: skip
