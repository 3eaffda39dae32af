"""`/v1/cart/{token}…`: a head's own cart, with its source's write key (HTTP Basic, as the
tracking endpoints take it) and the cart token the shop's backend got from `/api/v1/carts` (or
a resume link handed over). The token reaches that one cart and nothing else; a browser may call
these from the shop's pages (CORS, as the tracking API)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Request
from sqlalchemy import Connection
from starlette.concurrency import run_in_threadpool

from nerve.admin_routes import AdminRoute
from nerve.auth.api import WRITE_KEY
from nerve.carts import service
from nerve.carts.schemas import CartLineIn, CartOut, QuantityChange
from nerve.db.base import utcnow
from nerve.errors import Conflict, NotFound, documented
from nerve.services import Services
from nerve.tracking.api import write_key_source
from nerve.workspaces.service import SourceInfo

router = APIRouter(prefix="/v1/cart", tags=["carts"], route_class=AdminRoute)
_WRITE_KEY = {"security": [{"WriteKey": []}], **WRITE_KEY}
_ANSWERS: dict[str, Any] = {"response_model": CartOut, "openapi_extra": _WRITE_KEY,
                            "responses": documented(NotFound, Conflict)}  # fmt: skip
# No length bounds: a token too short or long to be one names no cart (404), like a forged one.
Token = Annotated[str, Path(description="The cart token")]
Sku = Annotated[str, Path(description="The line's sku", max_length=255)]
LineSku = Annotated[str, Path(description="The line's sku")]


async def _source(request: Request) -> SourceInfo:
    return await write_key_source(request, None)


Source = Annotated[SourceInfo, Depends(_source)]


async def _in_cart(
    request: Request, source: SourceInfo, token: str, change: Callable[[Connection, str], Any],
    write: bool = True,
) -> Any:  # fmt: skip
    """`change(conn, cart_id)` in one transaction, for the cart the token names."""
    services: Services = request.app.state.services

    def run() -> Any:
        with services.write() if write else services.read() as conn:
            return change(conn, service.cart_of_token(conn, source.workspace_id, token))

    return await run_in_threadpool(run)


@router.get("/{token}", **_ANSWERS)
async def read_cart(request: Request, source: Source, token: Token) -> Any:
    """The cart, its lines flagged `sold_out`, `inactive` or `price_changed`."""
    return await _in_cart(request, source, token,
                          lambda conn, cart: service.get(conn, source.workspace_id, cart),
                          write=False)  # fmt: skip


@router.post("/{token}/lines", **_ANSWERS)
async def add_line(request: Request, source: Source, token: Token, line: CartLineIn) -> Any:
    """Add `quantity` of a sku. The change is recorded as a `Product Added` event on the
    person's timeline: a head that calls this does not also track the event (a tracked
    `Product Added` changes the cart too)."""
    return await _in_cart(request, source, token, lambda conn, cart: service.add_line(
        conn, source.workspace_id, cart, line, utcnow()))  # fmt: skip


@router.put("/{token}/lines/{sku}", **_ANSWERS)
async def set_quantity(
    request: Request, source: Source, token: Token, sku: Sku, change: QuantityChange
) -> Any:
    """Set a line's quantity (0 removes it)."""
    return await _in_cart(request, source, token, lambda conn, cart: service.set_quantity(
        conn, source.workspace_id, cart, sku, change.quantity, utcnow()))  # fmt: skip


@router.delete("/{token}/lines/{sku}", **_ANSWERS)
async def remove_line(request: Request, source: Source, token: Token, sku: LineSku) -> Any:
    """Remove a line."""
    return await _in_cart(request, source, token, lambda conn, cart: service.remove_line(
        conn, source.workspace_id, cart, sku, utcnow()))  # fmt: skip


@router.delete("/{token}/lines", **_ANSWERS)
async def clear_cart(request: Request, source: Source, token: Token) -> Any:
    """Remove every line."""
    return await _in_cart(request, source, token, lambda conn, cart: service.clear(
        conn, source.workspace_id, cart, utcnow()))  # fmt: skip
