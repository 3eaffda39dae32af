"""`/r/{token}`: the cart resume link of an abandoned-cart mail. It restores the cart on
whichever device opens it by sending the browser (303) to the shop's cart page with the cart's
token appended, for the head to load the cart; a forged link gets a plain 404 and an expired one
a plain 410 (JSON errors for a caller that does not ask for HTML), neither saying more.

Opening the link changes nothing (mail scanners open links before people do).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Path, Request
from starlette.responses import RedirectResponse, Response

from nerve.admin_routes import AdminRoute
from nerve.auth.api import PUBLIC
from nerve.carts import service
from nerve.channels.pages import page
from nerve.db.base import utcnow
from nerve.db.session import Db
from nerve.errors import Gone, NerveError, NotFound, Unavailable, response_document

router = APIRouter(tags=["carts"], route_class=AdminRoute)

_FAILURES: dict[str, tuple[type[NerveError], str]] = {
    "forged": (NotFound, "This link is not valid"),
    "expired": (Gone, "This link has expired"),
    "unset": (Unavailable, "The shop's cart page is not set up"),
}


def _documented(error: type[NerveError], description: str) -> dict[str, Any]:
    shown = response_document(error.status, description)
    shown["content"]["text/html"] = {"schema": {"type": "string"}}
    return shown


@router.get(
    "/r/{token}", response_class=Response, openapi_extra=PUBLIC, status_code=303,
    responses={
        303: {"description": "To the shop's cart page, `cart_token=…` appended"},
        404: _documented(NotFound, "A forged or altered link"),
        410: _documented(Gone, "An expired link"),
        503: _documented(Unavailable, "NERVE_SHOP_CART_URL (and NERVE_SHOP_URL) unset"),
    },
)  # fmt: skip
def resume_cart(
    request: Request, db: Db, token: str = Path(description="The link's token")
) -> Response:
    """Restore the cart on this device: 303 to the shop's cart page with its cart token. A
    browser gets a plain page when the link fails, a program the error in JSON."""
    resumed = service.resume(db, token, utcnow())
    settings = request.app.state.settings
    target = settings.shop_cart_url or settings.shop_url
    if resumed.outcome == "restored" and not target:
        return _failed(request, "unset")
    if resumed.outcome != "restored" or resumed.cart_token is None:
        return _failed(request, resumed.outcome)
    joiner = "&" if "?" in target else "?"
    query = urlencode({"cart_token": resumed.cart_token})
    headers = {"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"}
    return RedirectResponse(f"{target}{joiner}{query}", status_code=303, headers=headers)


def _failed(request: Request, outcome: str) -> Response:
    kind, message = _FAILURES[outcome]
    if "text/html" not in request.headers.get("accept", ""):
        raise kind(message)
    shown = page(message, f"<h1>{message}</h1>")
    shown.status_code = kind.status
    shown.headers["Cache-Control"] = "no-store"
    return shown
