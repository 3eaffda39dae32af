"""`/o/{token}` and `/l/{token}`: the open pixel and the click redirect of a mail.

Both are public (a mail client fetches them without credentials) and both answer a forged or
altered token with a bare 404. A click redirects only to the URL the mail contained: the token
names the message and the index of the link, never a target.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import RedirectResponse, Response

from nerve.admin_routes import AdminRoute
from nerve.auth.api import PUBLIC
from nerve.channels import engagement
from nerve.errors import NotFound, documented

router = APIRouter(tags=["email engagement"], route_class=AdminRoute)

# The smallest transparent GIF: one pixel, one colour.
_PIXEL = bytes.fromhex(
    "47494638396101000100800000000000ffffff21f90401000000002c00000000010001000002024401003b"
)
_NO_STORE = {"Cache-Control": "no-store, private", "Referrer-Policy": "no-referrer"}


@router.get(
    "/o/{token}", openapi_extra=PUBLIC, response_class=Response,
    responses={200: {"content": {"image/gif": {}}, "description": "A transparent pixel"},
               **documented(NotFound)},
)  # fmt: skip
async def open_pixel(request: Request, token: str) -> Response:
    """The open pixel: the message counts as opened (not when Apple's privacy proxy loads
    it on arrival)."""
    client = request.client.host if request.client else None
    agent = request.headers.get("user-agent")
    if not await run_in_threadpool(engagement.opened, request.app.state.engine, token,
                                   client, agent):  # fmt: skip
        raise NotFound("no such resource")
    request.app.state.event_writer.announce()
    return Response(_PIXEL, media_type="image/gif", headers=_NO_STORE)


@router.get(
    "/l/{token}", openapi_extra=PUBLIC, response_class=RedirectResponse, status_code=302,
    responses={302: {"description": "To the link's target in the mail"}, **documented(NotFound)},
)  # fmt: skip
async def click(request: Request, token: str) -> RedirectResponse:
    """A tracked link: the click is counted, the reader goes on to the link's target."""
    agent = request.headers.get("user-agent")
    url = await run_in_threadpool(engagement.clicked, request.app.state.engine, token, agent)
    if url is None:
        raise NotFound("no such resource")
    request.app.state.event_writer.announce()
    return RedirectResponse(url, status_code=302, headers=_NO_STORE)
