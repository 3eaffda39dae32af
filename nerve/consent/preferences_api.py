"""`/p/{token}`: the hosted preference page every mail links to — each topic on or off, or leave
everything. The signed link is the person's key; changes are recorded with time, IP and browser
like any consent."""

from __future__ import annotations

import html
from typing import Any
from urllib.parse import parse_qs

from fastapi import APIRouter, Request
from starlette.responses import HTMLResponse

from nerve.admin_routes import AdminRoute
from nerve.auth.api import PUBLIC
from nerve.channels import links
from nerve.channels.email import suppress
from nerve.channels.pages import HTML_PAGE, page
from nerve.consent import service, topics
from nerve.db.session import Db, WriteDb
from nerve.errors import NotFound, documented

router = APIRouter(tags=["consent"], route_class=AdminRoute)
MAX_FORM_BYTES = 16 * 1024


def _address(db: Any, token: str) -> tuple[str, str]:
    row = links.verify(db, "p", token)
    if row is None or row.recipient is None:
        raise NotFound("this link is not valid")
    return row.workspace_id, service.address_of(row.recipient)


@router.get(
    "/p/{token}", response_class=HTMLResponse, openapi_extra=PUBLIC,
    responses={**HTML_PAGE, **documented(NotFound)},
)  # fmt: skip
def preferences(db: Db, token: str) -> HTMLResponse:
    """The workspace's email topics, each a checkbox (checked: subscribed), and a button to
    leave everything."""
    workspace_id, address = _address(db, token)
    subscribed = _subscribed(db, workspace_id, address)
    boxes = "".join(
        f'<p><label><input type="checkbox" name="topic" value="{html.escape(t.name)}"'
        f"{' checked' if t.name in subscribed else ''}> {html.escape(t.title)}</label>"
        + (f"<br><small>{html.escape(t.description)}</small>" if t.description else "")
        + "</p>"
        for t in topics.listed(db, workspace_id, "email")
    )
    body = (
        f"<h1>Your mail from us</h1><p>{html.escape(address)}</p>"
        f'<form method="post" action="/p/{html.escape(token)}">{boxes}'
        '<button name="save" value="1">Save</button> '
        '<button name="leave_all" value="1">Leave everything</button></form>'
    )
    return page("Preferences", body)


def _subscribed(db: Any, workspace_id: str, address: str) -> set[str]:
    return {
        r["topic"]
        for r in service.records(db, workspace_id, [address])
        if r["channel"] == "email" and r["status"] == "subscribed"
    }


@router.post(
    "/p/{token}", response_class=HTMLResponse, openapi_extra=PUBLIC,
    responses={**HTML_PAGE, **documented(NotFound)},
)  # fmt: skip
async def save_preferences(request: Request, db: WriteDb, token: str) -> HTMLResponse:
    """Topics left unchecked are withdrawn, checked ones subscribed by the person's own choice
    (the signed link came to their mailbox: no second confirmation); `leave_all` withdraws
    every topic and stops all marketing mail to the address."""
    workspace_id, address = _address(db, token)
    form = parse_qs((await request.body())[:MAX_FORM_BYTES].decode(errors="replace"))
    chosen = set(form.get("topic", []))
    leave_all = "leave_all" in form
    ip = request.client.host if request.client else None
    agent = request.headers.get("user-agent")
    subscribed = _subscribed(db, workspace_id, address)
    for topic in (t.name for t in topics.listed(db, workspace_id, "email")):
        on = topic in subscribed
        if on and (leave_all or topic not in chosen):
            service.withdraw(db, workspace_id, "email", address, topic, "preferences")
        elif not on and not leave_all and topic in chosen:
            service.sign_up(db, workspace_id, service.SignUp(
                email=address, topic=topic, via="preferences", double_opt_in=False,
                consent_text="chosen on the preference page", ip=ip, user_agent=agent))  # fmt: skip
    if leave_all:
        suppress(db, workspace_id, address, "unsubscribed", "left everything on the preferences")
        return page("Done", "<h1>Done</h1><p>You get no more marketing mail from us.</p>")
    return page("Saved", "<h1>Saved</h1><p>Your choices are saved.</p>")
