"""The persistent cart: one open cart per person, shared by every head, found through the
identity graph; each change made here is also a `Product Added`/`Product Removed` event on the
person's timeline (Nerve's own source, so the pipeline does not apply it a second time)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

from sqlalchemy import Connection, Row

from nerve.audit import service as audit
from nerve.carts import owners, store, tokens, view
from nerve.carts.schemas import MAX_QUANTITY, CartLineIn
from nerve.errors import Conflict, InvalidInput, NotFound
from nerve.events import internal
from nerve.events.internal import Person

SOURCE = "Nerve carts"


# --- finding a cart -----------------------------------------------------------------------------


def find(conn: Connection, workspace_id: str, identifier: str) -> dict[str, Any]:
    """The open cart of whoever `identifier` (`TYPE:VALUE`) resolves to."""
    pair = owners.parse(conn, workspace_id, identifier)
    cart = owners.open_cart(conn, workspace_id, [pair])
    if cart is None:
        raise NotFound(f"no open cart for {identifier}; POST /api/v1/carts opens one")
    return view.cart_view(conn, workspace_id, cart)


def open_cart(
    conn: Connection, workspace_id: str, identifier: str, at: datetime
) -> tuple[dict[str, Any], bool]:
    """The person's open cart, opened under `identifier` when they have none; and whether it
    was opened now."""
    pair = owners.parse(conn, workspace_id, identifier)
    cart = owners.open_cart(conn, workspace_id, [pair])
    created = False
    if cart is None:
        cart_id, created = store.create(conn, workspace_id, *pair, at)
        cart = _reread(conn, workspace_id, cart_id)
    return view.cart_view(conn, workspace_id, cart), created


def skus_in_open_cart(conn: Connection, workspace_id: str, profile_ids: list[str]) -> list[str]:
    """The skus in the open cart of the person these profile ids make up (recommendations
    leave them out)."""
    pairs = owners.identifiers_of_people(conn, profile_ids)
    cart = owners.open_cart(conn, workspace_id, pairs) if pairs else None
    return [] if cart is None else [line.sku for line in store.lines(conn, cart.id)]


def get(conn: Connection, workspace_id: str, cart_id: str) -> dict[str, Any]:
    """A cart by id; a merged one answers with the cart it was merged into."""
    cart = store.current(conn, workspace_id, cart_id)
    if cart is None:
        raise NotFound(f"no cart {cart_id}")
    return view.cart_view(conn, workspace_id, cart)


def cart_of_token(conn: Connection, workspace_id: str, token: str) -> str:
    """The id of the cart a head's cart token names, in the workspace of its write key."""
    claim = tokens.read(token, tokens.CART)
    if claim is None or not claim.genuine(conn, workspace_id, tokens.CART):
        raise NotFound("no such cart")
    if store.cart_row(conn, workspace_id, claim.cart_id) is None:
        raise NotFound("no such cart")
    return claim.cart_id


# --- changing it --------------------------------------------------------------------------------


def add_line(
    conn: Connection, workspace_id: str, cart_id: str, line: CartLineIn, at: datetime,
    actor: str | None = None,
) -> dict[str, Any]:  # fmt: skip
    """Add `line.quantity` of its sku (combined with a line of the same sku)."""
    cart = _changeable(conn, workspace_id, cart_id)
    existing = store.line(conn, cart.id, line.sku)
    if existing is not None and existing.quantity + line.quantity > MAX_QUANTITY:
        raise InvalidInput(f"a line holds at most {MAX_QUANTITY}", details={"sku": line.sku})
    given = store.Snapshot(line.product_id, line.name, line.price, line.currency)
    snapshot = view.snapshot(conn, workspace_id, line.sku, given)
    store.add(conn, cart.id, line.sku, line.quantity, snapshot, at)
    added = store.line(conn, cart.id, line.sku)
    _changed(conn, workspace_id, cart, "Product Added", added, line.quantity, at, actor)
    return view.cart_view(conn, workspace_id, _reread(conn, workspace_id, cart.id))


def set_quantity(
    conn: Connection, workspace_id: str, cart_id: str, sku: str, quantity: int, at: datetime,
    actor: str | None = None,
) -> dict[str, Any]:  # fmt: skip
    """The line's quantity becomes `quantity` (0 removes it); 404 for a sku not in the cart."""
    cart = _changeable(conn, workspace_id, cart_id)
    existing = _line(conn, cart.id, sku)
    if quantity != existing.quantity:
        store.set_quantity(conn, cart.id, sku, quantity, at)
        difference = quantity - existing.quantity
        name = "Product Added" if difference > 0 else "Product Removed"
        _changed(conn, workspace_id, cart, name, existing, abs(difference), at, actor)
    return view.cart_view(conn, workspace_id, _reread(conn, workspace_id, cart.id))


def remove_line(
    conn: Connection, workspace_id: str, cart_id: str, sku: str, at: datetime,
    actor: str | None = None,
) -> dict[str, Any]:  # fmt: skip
    return set_quantity(conn, workspace_id, cart_id, sku, 0, at, actor)


def clear(
    conn: Connection, workspace_id: str, cart_id: str, at: datetime, actor: str | None = None
) -> dict[str, Any]:
    """Remove every line: a `Product Removed` for each on the timeline."""
    cart = _changeable(conn, workspace_id, cart_id)
    removed = store.lines(conn, cart.id)
    store.clear(conn, cart.id, at)
    for row in removed:
        _changed(conn, workspace_id, cart, "Product Removed", row, row.quantity, at, actor)
    return view.cart_view(conn, workspace_id, _reread(conn, workspace_id, cart.id))


def _changeable(conn: Connection, workspace_id: str, cart_id: str) -> Row[Any]:
    """The cart where the change goes (the one a merged cart went into), locked."""
    current = store.current(conn, workspace_id, cart_id)
    if current is None:
        raise NotFound(f"no cart {cart_id}")
    cart = store.locked(conn, workspace_id, current.id)
    if cart is None or cart.status != "open":
        order = getattr(cart, "order_id", None)
        raise Conflict("this cart is closed: an order completed it", details={"order_id": order})
    return cart


def _reread(conn: Connection, workspace_id: str, cart_id: str) -> Row[Any]:
    cart = store.cart_row(conn, workspace_id, cart_id)
    assert cart is not None
    return cart


def _line(conn: Connection, cart_id: str, sku: str) -> Row[Any]:
    existing = store.line(conn, cart_id, sku)
    if existing is None:
        raise NotFound(f"no line with sku {sku!r} in this cart")
    return existing


def _changed(
    conn: Connection, workspace_id: str, cart: Row[Any], name: str, line: Any, quantity: int,
    at: datetime, actor: str | None,
) -> None:  # fmt: skip
    """The change on the person's timeline (and in the audit log when a key made it)."""
    properties = {
        "cart_id": cart.id, "sku": line.sku, "product_id": line.product_id,
        "quantity": quantity, "name": line.name,
        "price": None if line.price is None else str(line.price), "currency": line.currency,
    }  # fmt: skip
    person = owners.event_person(conn, workspace_id, cart)
    internal.record(conn, workspace_id, SOURCE, person, name,
                    {k: v for k, v in properties.items() if v is not None}, at,
                    f"cart-{uuid.uuid4().hex}")  # fmt: skip
    if actor is not None:
        action = "cart.line_added" if name == "Product Added" else "cart.line_removed"
        audit.record(conn, workspace_id, actor, action, cart.id)


# --- resume links -------------------------------------------------------------------------------


def resume_link(
    conn: Connection, workspace_id: str, cart_id: str, public_url: str, expires_at: datetime
) -> dict[str, Any]:
    """`{public_url}/r/TOKEN`, valid until `expires_at`, restoring the cart on any device."""
    cart = store.current(conn, workspace_id, cart_id)
    if cart is None:
        raise NotFound(f"no cart {cart_id}")
    token = tokens.resume_token(conn, workspace_id, cart.id, expires_at)
    return {"url": f"{public_url.rstrip('/')}/r/{token}", "expires_at": expires_at}


@dataclass(frozen=True)
class Resumed:
    outcome: Literal["restored", "forged", "expired"]
    cart_token: str | None = None


def resume(conn: Connection, token: str, now: datetime) -> Resumed:
    """What a resume link leads to: the cart token of the cart it names (or the one that cart
    went into) — `forged` for anything not signed by its workspace, `expired` after its time."""
    claim = tokens.read(token, tokens.RESUME)
    if claim is None or claim.expires_at is None:
        return Resumed("forged")
    workspace_id = store.workspace_of(conn, claim.cart_id)
    if workspace_id is None or not claim.genuine(conn, workspace_id, tokens.RESUME):
        return Resumed("forged")
    if claim.expires_at <= now:
        return Resumed("expired")
    cart = store.current(conn, workspace_id, claim.cart_id)
    assert cart is not None
    return Resumed("restored", tokens.cart_token(conn, workspace_id, cart.id))


def mail_cart(
    conn: Connection, workspace_id: str, cart_id: str, public_url: str, expires_at: datetime
) -> dict[str, Any] | None:
    """What a mail's Liquid sees as `cart`: its lines (with their flags), subtotal and
    `resume_url`; None for a cart id this workspace does not have."""
    cart = store.current(conn, workspace_id, str(cart_id))
    if cart is None:
        return None
    shown = view.cart_view(conn, workspace_id, cart)
    shown.pop("token")
    link = resume_link(conn, workspace_id, cart.id, public_url, expires_at)
    return {**shown, "resume_url": link["url"], "products": shown["lines"]}


# --- a shop's checkout --------------------------------------------------------------------------


def sync_from_shop(
    conn: Connection, workspace_id: str, person: Person, external_id: str,
    lines: list[CartLineIn], currency: str | None, at: datetime,
) -> None:  # fmt: skip
    """The shop's checkout (`external_id`, e.g. a Shopify checkout token) as the person's cart:
    its lines replace the cart's. A checkout already completed by an order is left alone."""
    cart = store.by_external_id(conn, workspace_id, external_id)
    if cart is not None:
        cart = store.current(conn, workspace_id, cart.id)
    pairs = owners.pairs_of(conn, workspace_id, person)
    if cart is None:
        if not pairs:
            raise InvalidInput("a checkout needs a customer: a user id, email or anonymous id")
        cart = owners.open_cart(conn, workspace_id, pairs)
    if cart is None:
        cart = _reread(conn, workspace_id, store.create(conn, workspace_id, *pairs[0], at)[0])
    cart = store.locked(conn, workspace_id, cart.id)
    if cart is None or cart.status != "open":
        return
    store.clear(conn, cart.id, at)
    for line in lines:
        given = store.Snapshot(line.product_id, line.name, line.price, line.currency or currency)
        store.add(conn, cart.id, line.sku, line.quantity,
                  view.snapshot(conn, workspace_id, line.sku, given), at)  # fmt: skip
    if cart.external_id != external_id:
        store.claim_external_id(conn, workspace_id, cart.id, external_id, at)


def valid_until(now: datetime, days: int) -> datetime:
    return now + timedelta(days=days)
