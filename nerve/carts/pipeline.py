"""Pipeline consumer: carts follow the identity graph and the heads' events.

- A login (identify, alias, or any event linking a device to an account) merges the person's
  open carts into one: quantities combined per sku, the merge in `cart_merges` and a
  `Cart Merged` event on the timeline.
- A head's `Product Added` / `Product Removed` (Segment e-commerce v2) changes the person's cart;
  the same events recorded by the cart API itself (Nerve's own source) are already applied.
- `Order Completed` closes the cart it names (`cart_id`), else the person's open cart.

It runs inside the resolver's transaction and must never fail a batch on a head's odd values:
what cannot be read as a cart change is left on the timeline and nothing more.
"""

from __future__ import annotations

import math
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Row

from nerve.carts import owners, store, view
from nerve.carts.schemas import MAX_QUANTITY
from nerve.carts.service import SOURCE
from nerve.db.money import MoneyError, money
from nerve.events import internal
from nerve.identity.attached import AttachedBatch, AttachedEvent
from nerve.workspaces import service as workspaces

_PRODUCT_EVENTS = ("Product Added", "Product Removed")


def apply_cart_events(conn: Connection, batch: AttachedBatch) -> None:
    at = batch.events[-1].received_at if batch.events else None
    if at is None:
        return
    _merge_linked(conn, batch, at)
    own_source: str | None = None
    for event in batch.events:
        payload = event.payload
        if payload.get("type") != "track":
            continue
        name = payload.get("event")
        properties = payload.get("properties")
        if not isinstance(properties, dict):
            continue
        if name in _PRODUCT_EVENTS:
            if own_source is None:
                own_source = workspaces.own_source(conn, batch.workspace_id, SOURCE)
            if event.source_id != own_source:
                _apply_product(conn, batch, event, name, properties)
        elif name == "Order Completed":
            _close_for_order(conn, batch, event, properties)


# --- logins -------------------------------------------------------------------------------------


def _linking(payload: dict[str, Any]) -> bool:
    """Whether an event can tie identifiers together (and so two carts to one person)."""
    if payload.get("type") in ("identify", "alias"):
        return True
    return bool(payload.get("userId")) and bool(payload.get("anonymousId"))


def _merge_linked(conn: Connection, batch: AttachedBatch, at: datetime) -> None:
    people = {e.person_id for e in batch.events if _linking(e.payload)}
    people |= {m.survivor_id for m in batch.merged} | {r.to_person for r in batch.relinked}
    seen: set[str] = set()
    for person in sorted(people):
        profile_ids = batch.people.get(person)
        if profile_ids is None:  # a merge's survivor no event of the batch names
            found = owners.person_and_members(conn, person)
            if found is None:
                continue
            person, profile_ids = found[0], frozenset(found[1])
        if person in seen:
            continue
        seen.add(person)
        pairs = owners.identifiers_of_people(conn, sorted(profile_ids))
        carts = store.open_carts(conn, batch.workspace_id, pairs)
        if len(carts) > 1:
            _merge(conn, batch.workspace_id, carts, at)


def _merge(conn: Connection, workspace_id: str, carts: list[Row[Any]], at: datetime) -> None:
    survivor = carts[0]
    for merged in carts[1:]:
        moved = store.merge(conn, workspace_id, survivor.id, merged.id, at)
        properties = {"cart_id": survivor.id, "merged_cart_id": merged.id,
                      "products": moved}  # fmt: skip
        internal.record(conn, workspace_id, SOURCE,
                        owners.event_person(conn, workspace_id, survivor), "Cart Merged",
                        properties, at, f"cart-merge-{merged.id}")  # fmt: skip


# --- a head's product events --------------------------------------------------------------------


def _cart_for(
    conn: Connection, batch: AttachedBatch, event: AttachedEvent, properties: dict[str, Any]
) -> Row[Any] | None:
    """The open cart an event is about: the Nerve cart its `cart_id` names (or the one that
    went into), else the person's."""
    named = properties.get("cart_id")
    if isinstance(named, str) and named:
        cart = store.current(conn, batch.workspace_id, named)
        if cart is None:
            cart = store.by_external_id(conn, batch.workspace_id, named)
            cart = store.current(conn, batch.workspace_id, cart.id) if cart else None
        if cart is not None and cart.status == "open":
            return cart
    profile_ids = sorted(batch.people.get(event.person_id, frozenset({event.profile_id})))
    carts = store.open_carts(
        conn, batch.workspace_id, owners.identifiers_of_people(conn, profile_ids)
    )
    return carts[0] if carts else None


def _apply_product(
    conn: Connection, batch: AttachedBatch, event: AttachedEvent, name: str,
    properties: dict[str, Any],
) -> None:  # fmt: skip
    sku = properties.get("sku") or properties.get("product_id")
    if not isinstance(sku, str | int) or isinstance(sku, bool) or not str(sku).strip():
        return
    sku = str(sku)[:255]
    quantity = _quantity(properties.get("quantity"))
    cart = _cart_for(conn, batch, event, properties)
    at = event.timestamp
    if name == "Product Removed":
        if cart is not None and (line := store.line(conn, cart.id, sku)) is not None:
            left = 0 if quantity is None else line.quantity - quantity
            store.set_quantity(conn, cart.id, sku, max(left, 0), at)
        return
    if cart is None:
        opened = _opened_under(event.payload)
        if opened is None:
            return
        cart = store.cart_row(conn, batch.workspace_id,
                              store.create(conn, batch.workspace_id, *opened, at)[0])  # fmt: skip
        assert cart is not None
    existing = store.line(conn, cart.id, sku)
    wanted = quantity or 1
    if existing is not None and existing.quantity + wanted > MAX_QUANTITY:
        return
    given = store.Snapshot(
        _text(properties.get("product_id")),
        _text(properties.get("name")),
        _price(properties.get("price")),
        _text(properties.get("currency")),
    )
    store.add(conn, cart.id, sku, wanted, view.snapshot(conn, batch.workspace_id, sku, given), at)


def _opened_under(payload: dict[str, Any]) -> tuple[str, str] | None:
    if payload.get("userId"):
        return "user_id", str(payload["userId"])
    if payload.get("anonymousId"):
        return "anonymous_id", str(payload["anonymousId"])
    return None


def _quantity(value: Any) -> int | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    if isinstance(value, float) and (not math.isfinite(value) or value != int(value)):
        return None
    return int(value) if 1 <= value <= MAX_QUANTITY else None


def _price(value: Any) -> Any:
    try:
        return None if value is None else money(value)
    except MoneyError:
        return None


def _text(value: Any) -> str | None:
    if isinstance(value, str | int) and not isinstance(value, bool) and str(value).strip():
        return str(value)[:255]
    return None


# --- orders -------------------------------------------------------------------------------------


def _close_for_order(
    conn: Connection, batch: AttachedBatch, event: AttachedEvent, properties: dict[str, Any]
) -> None:
    order_id = _text(properties.get("order_id"))
    if order_id is not None and store.ordered(conn, batch.workspace_id, order_id):
        return  # another head reported the same order: its cart is closed already
    cart = _cart_for(conn, batch, event, properties)
    if cart is not None:
        store.close(conn, cart.id, order_id, event.timestamp)
