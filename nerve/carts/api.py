"""`/api/v1/carts…`: the person's cart for the shop's backend (admin key) and the store tablet
(staff key): look it up by identifier, open it, add, set, remove, clear, make a resume link.
Every change is on the person's timeline and, with the key that made it, in the audit log."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request, Response

from nerve.admin_routes import AdminRoute
from nerve.auth.api import requires
from nerve.auth.roles import Permission
from nerve.auth.service import Principal
from nerve.carts import service
from nerve.carts.schemas import CartLineIn, CartOut, NewCart, QuantityChange, ResumeLink
from nerve.db.base import utcnow
from nerve.db.session import Db, WriteDb
from nerve.errors import Conflict, documented

router = APIRouter(prefix="/api/v1/carts", tags=["carts"], route_class=AdminRoute)
Reader = Annotated[Principal, requires(Permission.CARTS_READ)]
Writer = Annotated[Principal, requires(Permission.CARTS_WRITE)]
# No length bounds on what only names a resource: too long to be one, it names none (404).
CartId = Annotated[str, Path(description="The cart's id (`cart_…`)")]
Sku = Annotated[str, Path(description="The line's sku", max_length=255)]
LineSku = Annotated[str, Path(description="The line's sku")]


@router.get("", response_model=CartOut)
def find_cart(
    db: Db,
    key: Reader,
    identifier: Annotated[str, Query(
        min_length=3, max_length=300, description="`TYPE:VALUE`, e.g. `anonymous_id:4f1c2e`, "
        "`email:anna@example.com`: any identifier of the person",
    )],
) -> dict[str, Any]:  # fmt: skip
    """The open cart of whoever the identifier resolves to (every device of theirs shares
    it), with its lines flagged `sold_out`, `inactive` or `price_changed`; 404 if none."""
    return service.find(db, key.workspace_id, identifier)


@router.post("", response_model=CartOut, status_code=201,
             responses={200: {"description": "The person had an open cart: that one",
                              "model": CartOut}})  # fmt: skip
def open_cart(db: WriteDb, key: Writer, new: NewCart, response: Response) -> dict[str, Any]:
    """The person's open cart, opened under `identifier` (201) when they have none (200: the
    one they have). Its `token` lets the head reach it with the write key."""
    cart, created = service.open_cart(db, key.workspace_id, new.identifier, utcnow())
    if not created:
        response.status_code = 200
    return cart


@router.get("/{cart_id}", response_model=CartOut)
def get_cart(db: Db, key: Reader, cart_id: CartId) -> dict[str, Any]:
    """A cart by id; one merged into another on login answers with that one."""
    return service.get(db, key.workspace_id, cart_id)


@router.post("/{cart_id}/lines", response_model=CartOut, responses=documented(Conflict))
def add_line(db: WriteDb, key: Writer, cart_id: CartId, line: CartLineIn) -> dict[str, Any]:
    """Add `quantity` of a sku (to its line if there is one); a sku the catalog knows takes
    the catalog's name and price. 409 when an order closed the cart."""
    return service.add_line(db, key.workspace_id, cart_id, line, utcnow(), actor=key.key_id)


@router.put("/{cart_id}/lines/{sku}", response_model=CartOut, responses=documented(Conflict))
def set_quantity(
    db: WriteDb, key: Writer, cart_id: CartId, sku: Sku, change: QuantityChange
) -> dict[str, Any]:
    """Set a line's quantity (0 removes it)."""
    return service.set_quantity(db, key.workspace_id, cart_id, sku, change.quantity, utcnow(),
                                actor=key.key_id)  # fmt: skip


@router.delete("/{cart_id}/lines/{sku}", response_model=CartOut, responses=documented(Conflict))
def remove_line(db: WriteDb, key: Writer, cart_id: CartId, sku: LineSku) -> dict[str, Any]:
    """Remove a line."""
    return service.remove_line(db, key.workspace_id, cart_id, sku, utcnow(), actor=key.key_id)


@router.delete("/{cart_id}/lines", response_model=CartOut, responses=documented(Conflict))
def clear_cart(db: WriteDb, key: Writer, cart_id: CartId) -> dict[str, Any]:
    """Remove every line."""
    return service.clear(db, key.workspace_id, cart_id, utcnow(), actor=key.key_id)


@router.get("/{cart_id}/resume-link", response_model=ResumeLink)
def make_resume_link(request: Request, db: Db, key: Reader, cart_id: CartId) -> dict[str, Any]:
    """A signed `/r/TOKEN` link that restores this cart on any device until it expires
    (NERVE_CART_RESUME_DAYS), as abandoned-cart mails carry it."""
    settings = request.app.state.settings
    expires: datetime = service.valid_until(utcnow(), settings.cart_resume_days)
    return service.resume_link(db, key.workspace_id, cart_id, settings.base_url, expires)
