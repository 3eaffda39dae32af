"""Personal data in carts: what a person put in their carts, and which of their carts merged."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection

from nerve.carts import store
from nerve.privacy.subject import PersonalData, Subject


def _export(conn: Connection, subject: Subject) -> list[dict[str, Any]]:
    carts = store.carts_of(conn, subject.workspace_id, subject.identifiers)
    merges = store.merges_of(conn, [c.id for c in carts])
    return [
        {
            "id": cart.id, "status": cart.status,
            "identifier": f"{cart.identifier_type}:{cart.identifier_value}",
            "order_id": cart.order_id, "created_at": cart.created_at,
            "updated_at": cart.updated_at,
            "lines": [
                {"sku": line.sku, "quantity": line.quantity, "name": line.name,
                 "price": None if line.price is None else str(line.price),
                 "currency": line.currency, "added_at": line.added_at}
                for line in store.lines(conn, cart.id)
            ],
            "merges": [m for m in merges if cart.id in (m["survivor_id"], m["merged_id"])],
        }
        for cart in carts
    ]  # fmt: skip


def _erase(conn: Connection, subject: Subject) -> None:
    carts = store.carts_of(conn, subject.workspace_id, subject.identifiers)
    store.erase(conn, [cart.id for cart in carts])


CARTS = PersonalData("carts", ("carts", "cart_lines", "cart_merges"), erase=_erase, export=_export)
