"""The carts tables as the cart's logic uses them: a person's open cart, a cart locked for a
change, lines added, set and removed, one cart merged into another. No HTTP, no events."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, Row, Select, delete, insert, or_, select, tuple_, update
from sqlalchemy.exc import IntegrityError

from nerve.carts.models import Cart, CartLine, CartMerge
from nerve.db.base import new_id
from nerve.db.dialect import dialect_of

# Which identifier's cart survives when two people's carts become one person's: the account's
# over the device's (the laptop's signed-in cart keeps its id, the phone's anonymous one joins).
_RANK = {"user_id": 0, "email": 1, "phone": 2, "anonymous_id": 9}
# A chain of merges is short (one per login); a bound keeps a corrupt loop from hanging.
_MAX_HOPS = 32


@dataclass(frozen=True)
class Snapshot:
    """What a line keeps of the product when it is added."""

    product_id: str | None
    name: str | None
    price: Decimal | None
    currency: str | None


def rank(cart: Any) -> tuple[int, datetime, str]:
    return (_RANK.get(cart.identifier_type, 5), cart.created_at, cart.id)


def cart_row(conn: Connection, workspace_id: str, cart_id: str) -> Row[Any] | None:
    return conn.execute(
        select(Cart).where(Cart.id == cart_id, Cart.workspace_id == workspace_id)
    ).first()


def current(conn: Connection, workspace_id: str, cart_id: str) -> Row[Any] | None:
    """The cart, or the one it was merged into (and so on): where its lines are now."""
    row = cart_row(conn, workspace_id, cart_id)
    for _ in range(_MAX_HOPS):
        if row is None or row.status != "merged" or row.merged_into is None:
            return row
        row = cart_row(conn, workspace_id, row.merged_into)
    return row


def locked(conn: Connection, workspace_id: str, cart_id: str) -> Row[Any] | None:
    """The cart locked for this transaction (PostgreSQL; SQLite has one writer anyway)."""
    query = select(Cart).where(Cart.id == cart_id, Cart.workspace_id == workspace_id)
    return conn.execute(dialect_of(conn).for_update(query)).first()


def open_carts(
    conn: Connection, workspace_id: str, identifiers: Iterable[tuple[str, str]]
) -> list[Row[Any]]:
    """Open carts opened under any of `identifiers`, the one that survives a merge first."""
    pairs = sorted(set(identifiers))
    if not pairs:
        return []
    rows = conn.execute(
        select(Cart).where(
            Cart.workspace_id == workspace_id,
            tuple_(Cart.identifier_type, Cart.identifier_value).in_(pairs),
            Cart.status == "open",
        )
    ).all()
    return sorted(rows, key=rank)


def open_carts_of(
    conn: Connection,
    workspace_id: str,
    pairs: list[tuple[str, str]],
    others: Select[str, str],
) -> list[Row[Any]]:
    """Open carts opened under any of `pairs` or of the (type, value) rows `others` selects
    (identity's query of the person's other identifiers), the one that survives a merge
    first."""
    if not pairs:
        return []
    owner = tuple_(Cart.identifier_type, Cart.identifier_value)
    rows = conn.execute(
        select(Cart).where(
            Cart.workspace_id == workspace_id,
            Cart.status == "open",
            or_(owner.in_(sorted(set(pairs))), owner.in_(others)),
        )
    ).all()
    return sorted(rows, key=rank)


def by_external_id(conn: Connection, workspace_id: str, external_id: str) -> Row[Any] | None:
    return conn.execute(
        select(Cart).where(Cart.workspace_id == workspace_id, Cart.external_id == external_id)
    ).first()


def ordered(conn: Connection, workspace_id: str, order_id: str) -> bool:
    """Whether an order already closed a cart (several heads report one order)."""
    found = conn.scalar(
        select(Cart.id).where(Cart.workspace_id == workspace_id, Cart.order_id == order_id)
    )
    return found is not None


def create(
    conn: Connection, workspace_id: str, kind: str, value: str, at: datetime
) -> tuple[str, bool]:
    """Open a cart under `kind:value`: its id and True; or the id of the one already open
    under it and False, when another transaction opened it first (the unique index on an
    owner's open cart)."""
    cart_id = new_id("cart")
    try:
        with conn.begin_nested():
            conn.execute(
                insert(Cart).values(
                    id=cart_id, workspace_id=workspace_id, identifier_type=kind,
                    identifier_value=value, status="open", created_at=at, updated_at=at,
                )
            )  # fmt: skip
    except IntegrityError:
        opened = conn.scalar(
            select(Cart.id).where(
                Cart.workspace_id == workspace_id, Cart.identifier_type == kind,
                Cart.identifier_value == value, Cart.status == "open",
            )
        )  # fmt: skip
        if opened is None:
            raise
        return str(opened), False
    return cart_id, True


def lines(conn: Connection, cart_id: str) -> list[Row[Any]]:
    return list(
        conn.execute(
            select(CartLine).where(CartLine.cart_id == cart_id).order_by(CartLine.id)
        ).all()
    )


def line(conn: Connection, cart_id: str, sku: str) -> Row[Any] | None:
    return conn.execute(
        select(CartLine).where(CartLine.cart_id == cart_id, CartLine.sku == sku)
    ).first()


def add(
    conn: Connection, cart_id: str, sku: str, quantity: int, snapshot: Snapshot, at: datetime
) -> None:
    """Add `quantity` of `sku`: to its line if there is one (its snapshot stays: the price the
    customer first saw), else as a new line with `snapshot`."""
    existing = line(conn, cart_id, sku)
    if existing is not None:
        conn.execute(
            update(CartLine)
            .where(CartLine.id == existing.id)
            .values(quantity=CartLine.quantity + quantity)
        )
    else:
        conn.execute(
            insert(CartLine).values(
                cart_id=cart_id, sku=sku, quantity=quantity, product_id=snapshot.product_id,
                name=snapshot.name, price=snapshot.price, currency=snapshot.currency,
                added_at=at,
            )
        )  # fmt: skip
    touch(conn, cart_id, at)


def set_quantity(conn: Connection, cart_id: str, sku: str, quantity: int, at: datetime) -> None:
    if quantity <= 0:
        conn.execute(delete(CartLine).where(CartLine.cart_id == cart_id, CartLine.sku == sku))
    else:
        conn.execute(
            update(CartLine)
            .where(CartLine.cart_id == cart_id, CartLine.sku == sku)
            .values(quantity=quantity)
        )
    touch(conn, cart_id, at)


def clear(conn: Connection, cart_id: str, at: datetime) -> None:
    conn.execute(delete(CartLine).where(CartLine.cart_id == cart_id))
    touch(conn, cart_id, at)


def touch(conn: Connection, cart_id: str, at: datetime, **values: Any) -> None:
    conn.execute(update(Cart).where(Cart.id == cart_id).values(updated_at=at, **values))


def close(conn: Connection, cart_id: str, order_id: str | None, at: datetime) -> None:
    touch(conn, cart_id, at, status="ordered", order_id=order_id, closed_at=at)


def merge(
    conn: Connection, workspace_id: str, survivor_id: str, merged_id: str, at: datetime
) -> list[dict[str, Any]]:
    """Move the merged cart's lines into the survivor, quantities combined per sku; the merged
    cart points at the survivor from then on. Returns what moved, also kept in `cart_merges`."""
    moved = []
    for row in lines(conn, merged_id):
        snapshot = Snapshot(row.product_id, row.name, row.price, row.currency)
        add(conn, survivor_id, row.sku, row.quantity, snapshot, at)
        moved.append({"sku": row.sku, "quantity": row.quantity})
    conn.execute(delete(CartLine).where(CartLine.cart_id == merged_id))
    touch(conn, merged_id, at, status="merged", merged_into=survivor_id, closed_at=at)
    conn.execute(
        insert(CartMerge).values(
            workspace_id=workspace_id, survivor_id=survivor_id, merged_id=merged_id,
            lines=moved, merged_at=at,
        )
    )  # fmt: skip
    return moved


def merges_of(conn: Connection, cart_ids: list[str]) -> list[dict[str, Any]]:
    rows = conn.execute(
        select(CartMerge.survivor_id, CartMerge.merged_id, CartMerge.lines, CartMerge.merged_at)
        .where(CartMerge.survivor_id.in_(cart_ids) | CartMerge.merged_id.in_(cart_ids))
        .order_by(CartMerge.id)
    )
    return [dict(row._mapping) for row in rows]


def workspace_of(conn: Connection, cart_id: str) -> str | None:
    return conn.scalar(select(Cart.workspace_id).where(Cart.id == cart_id))


def claim_external_id(
    conn: Connection, workspace_id: str, cart_id: str, external_id: str, at: datetime
) -> None:
    """The shop's id now names this cart (a merged cart that held it lets go)."""
    conn.execute(
        update(Cart)
        .where(Cart.workspace_id == workspace_id, Cart.external_id == external_id)
        .values(external_id=None)
    )
    touch(conn, cart_id, at, external_id=external_id)


def carts_of(conn: Connection, workspace_id: str, pairs: list[tuple[str, str]]) -> list[Row[Any]]:
    """Every cart (open or closed) opened under any of `pairs`: the person's, for export and
    erasure."""
    if not pairs:
        return []
    return list(
        conn.execute(
            select(Cart)
            .where(
                Cart.workspace_id == workspace_id,
                tuple_(Cart.identifier_type, Cart.identifier_value).in_(sorted(set(pairs))),
            )
            .order_by(Cart.created_at, Cart.id)
        ).all()
    )


def erase(conn: Connection, cart_ids: list[str]) -> None:
    if not cart_ids:
        return
    conn.execute(
        delete(CartMerge).where(
            CartMerge.survivor_id.in_(cart_ids) | CartMerge.merged_id.in_(cart_ids)
        )
    )
    conn.execute(delete(CartLine).where(CartLine.cart_id.in_(cart_ids)))
    conn.execute(delete(Cart).where(Cart.id.in_(cart_ids)))
