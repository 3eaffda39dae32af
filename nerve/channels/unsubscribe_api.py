"""`/u/{token}`: leaving the marketing mail with one click, as RFC 8058 describes it.

The mail's `List-Unsubscribe-Post: List-Unsubscribe=One-Click` header lets Gmail and Yahoo POST
here without a cookie or a login; the POST unsubscribes at once (also from sends already
queued: every send checks first) and never redirects. A GET — a person following the link in
the mail, or a scanner prefetching it — only shows the button, so no prefetch unsubscribes
anyone. Transactional mail (orders, payments) still goes out.
"""

from __future__ import annotations

import html
from typing import Any

from fastapi import APIRouter
from starlette.responses import HTMLResponse

from nerve.admin_routes import AdminRoute
from nerve.auth.api import PUBLIC
from nerve.channels import links
from nerve.channels.email import suppress
from nerve.channels.pages import HTML_PAGE, page
from nerve.consent import service as consent
from nerve.db.session import Db, WriteDb
from nerve.errors import NotFound, documented

router = APIRouter(tags=["unsubscribe"], route_class=AdminRoute)


def _found(db: Any, token: str) -> Any:
    row = links.verify(db, "u", token)
    if row is None or row.recipient is None:
        raise NotFound("this link is not valid")
    return row


@router.get(
    "/u/{token}", response_class=HTMLResponse, openapi_extra=PUBLIC,
    responses={**HTML_PAGE, **documented(NotFound)},
)  # fmt: skip
def unsubscribe_page(db: Db, token: str) -> HTMLResponse:
    """The page a person reaches from the unsubscribe link in a mail: one button."""
    row = _found(db, token)
    body = f"<h1>Unsubscribe</h1><p>Stop marketing mail to {html.escape(row.recipient)}?</p>"
    return page("Unsubscribe", body, f"/u/{token}", "Unsubscribe")


@router.post(
    "/u/{token}", response_class=HTMLResponse, openapi_extra=PUBLIC,
    responses={**HTML_PAGE, **documented(NotFound)},
)  # fmt: skip
def unsubscribe(db: WriteDb, token: str) -> HTMLResponse:
    """One-click unsubscribe (RFC 8058): no cookie, no login, no redirect; at once."""
    row = _found(db, token)
    if row.topic:  # leaving this list: the consent to its topic is withdrawn, with the proof
        address = consent.address_of(row.recipient)
        consent.withdraw(db, row.workspace_id, "email", address, row.topic, "one-click")
    else:
        suppress(db, row.workspace_id, row.recipient, "unsubscribed", f"one click, {row.id}")
    return page("Unsubscribed", "<h1>Unsubscribed</h1><p>You get no more of this mail.</p>")
