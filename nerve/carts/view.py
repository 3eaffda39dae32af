"""A cart as the heads, the staff tablet and a mail see it: its lines with their snapshot and
what changed since — sold out, no longer active, another price — read from the catalog now, so
the head can show it transparently instead of failing at checkout."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, Row

from nerve.carts import store, tokens
from nerve.catalog import service as catalog


def cart_view(conn: Connection, workspace_id: str, cart: Row[Any]) -> dict[str, Any]:
    rows = store.lines(conn, cart.id)
    offers = catalog.offers(conn, workspace_id, [r.sku for r in rows]) if rows else {}
    shown = [_line(row, offers.get(row.sku)) for row in rows]
    currencies = {r.currency for r in rows}
    priced = rows and all(r.price is not None for r in rows) and len(currencies) == 1
    subtotal = sum((r.price * r.quantity for r in rows), Decimal(0)) if priced else None
    return {
        "id": cart.id, "status": cart.status,
        "identifier": f"{cart.identifier_type}:{cart.identifier_value}",
        "token": tokens.cart_token(conn, workspace_id, cart.id),
        "lines": shown, "item_count": sum(r.quantity for r in rows),
        "subtotal": subtotal, "currency": next(iter(currencies)) if len(currencies) == 1 else None,
        "external_id": cart.external_id, "order_id": cart.order_id,
        "created_at": cart.created_at, "updated_at": cart.updated_at,
    }  # fmt: skip


def _line(row: Row[Any], offer: catalog.Offer | None) -> dict[str, Any]:
    flags = []
    if offer is None or offer.status != "active":
        flags.append("inactive")
    if offer is not None and offer.available is not None and offer.available <= 0:
        flags.append("sold_out")
    if (
        offer is not None
        and row.price is not None
        and (offer.price != row.price or (row.currency and offer.currency != row.currency))
    ):
        flags.append("price_changed")
    return {
        "sku": row.sku, "quantity": row.quantity, "product_id": row.product_id,
        "name": row.name, "price": row.price, "currency": row.currency,
        "added_at": row.added_at, "flags": flags,
        "catalog_status": offer.status if offer is not None else "unknown",
        "current_price": offer.price if offer is not None else None,
        "current_currency": offer.currency if offer is not None else None,
        "available": offer.available if offer is not None else None,
    }  # fmt: skip


def snapshot(
    conn: Connection, workspace_id: str, sku: str, given: store.Snapshot
) -> store.Snapshot:
    """What a new line keeps: the catalog's product, name and price for a sku it knows; for
    one it does not (a shop that syncs no catalog, an event ahead of the sync) what the head
    sent — the cart still works, and reading flags the line `inactive` with status `unknown`."""
    offer = catalog.offers(conn, workspace_id, [sku]).get(sku)
    if offer is None:
        return given
    return store.Snapshot(offer.product_id, offer.name, offer.price, offer.currency)
