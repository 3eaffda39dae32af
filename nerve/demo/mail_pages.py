"""The demo's mail pages: every mail Nerve sent in this demo run as a marketer would look at it —
the list at `/demo/mails`, and each mail rendered, with its plain text and headers.

A mail's HTML is someone else's markup: it is served on its own URL with a sandboxing Content
Security Policy (no scripts, no forms, nothing loaded from elsewhere) and shown in an iframe with
the `sandbox` attribute, so it can neither run code in the demo's pages nor reach Nerve's API
with the visitor's cookies. Its links open in a new tab, outside the sandbox.
"""

from __future__ import annotations

import html
import re
from typing import Any

from fastapi import APIRouter
from starlette.responses import HTMLResponse, JSONResponse, Response

from nerve.demo.catalog import SHOP_NAME
from nerve.demo.mailbox import DemoMailbox, ReceivedMail

PATH = "/demo/mails"
# What the mail's own HTML may do in its frame: open its links in a new, unsandboxed tab.
_SANDBOX = "allow-popups allow-popups-to-escape-sandbox"
_MAIL_CSP = (
    f"sandbox {_SANDBOX}; default-src 'none'; style-src 'unsafe-inline'; img-src data:;"
    " frame-ancestors 'self'"
)
_PAGE_CSP = "default-src 'none'; style-src 'unsafe-inline'; frame-src 'self'; img-src 'self'"
_HEAD = re.compile(r"<head[^>]*>", re.IGNORECASE)
_STYLE = """
body{font-family:system-ui,sans-serif;margin:2rem auto;max-width:64rem;padding:0 1rem;color:#222}
table{border-collapse:collapse;width:100%}th,td{text-align:left;padding:.35rem .6rem;
border-bottom:1px solid #ddd;vertical-align:top}th{background:#f4f4f4}
.marketing{color:#8a4b00}.transactional{color:#0b5394}.muted{color:#777;font-size:.9rem}
pre{background:#f7f7f7;padding:1rem;overflow-x:auto;white-space:pre-wrap}
iframe{width:100%;height:42rem;border:1px solid #ccc;background:#fff}
.bubble{background:#e9e9eb;border-radius:1rem;padding:.5rem .8rem;display:inline-block;
max-width:34rem}.push{border:1px solid #ccc;border-radius:.8rem;padding:.5rem .8rem;
display:inline-block;max-width:34rem;background:#fafafa}
.alert{border-left:4px solid #611f69;padding:.2rem 1rem;margin:1.2rem 0}
.fields{display:grid;grid-template-columns:1fr 1fr;gap:.3rem 1.5rem;margin:.5rem 0}
"""
NAVIGATION = (
    "<p class='muted'><a href='/demo/mails'>Mail</a> · <a href='/demo/phones'>Phones</a>"
    " · <a href='/demo/slack'>Slack</a> · <a href='/demo/shop'>Shop</a>"
    " · <a href='/demo/head'>Website head</a></p>"
)


def mail_router(mailbox: DemoMailbox) -> APIRouter:
    router = APIRouter(include_in_schema=False)

    @router.get(PATH)
    def mail_list() -> HTMLResponse:
        return page("Mail", _list(mailbox), refresh=True)

    @router.get(f"{PATH}.json")
    def mail_list_json() -> JSONResponse:
        return JSONResponse({"data": [_summary(mail) for mail in mailbox.mails()]})

    @router.get(PATH + "/{number}")
    def mail_page(number: int) -> HTMLResponse:
        mail = _found(mailbox, number)
        if mail is None:
            return page("Not found", _gone(number), status=404)
        return page(mail.subject or "(no subject)", _detail(mail))

    @router.get(PATH + "/{number}/html")
    def mail_html(number: int) -> Response:
        mail = _found(mailbox, number)
        if mail is None or mail.html is None:
            return Response("no such mail", status_code=404, media_type="text/plain")
        return Response(_opening_links_outside(mail.html), media_type="text/html",
                        headers=_headers(_MAIL_CSP))  # fmt: skip

    @router.get(PATH + "/{number}/source")
    def mail_source(number: int) -> Response:
        """The message as the SMTP server got it (parse it with any mail library)."""
        mail = _found(mailbox, number)
        if mail is None:
            return Response("no such mail", status_code=404, media_type="text/plain")
        return Response(mail.raw, media_type="text/plain; charset=utf-8",
                        headers=_headers("sandbox; default-src 'none'"))  # fmt: skip

    return router


def _found(mailbox: DemoMailbox, number: int) -> ReceivedMail | None:
    return mailbox.mail(number) if 0 < number < 2**63 else None


def _summary(mail: ReceivedMail) -> dict[str, Any]:
    return {
        "number": mail.number,
        "received_at": mail.received_at.isoformat(),
        "kind": mail.kind,
        "sent_by": mail.sent_by,
        "from": mail.sender,
        "to": mail.to,
        "subject": mail.subject,
        "url": f"{PATH}/{mail.number}",
        "source_url": f"{PATH}/{mail.number}/source",
        "unsubscribe_url": mail.unsubscribe_url,
    }


def _list(mailbox: DemoMailbox) -> str:
    mails = mailbox.mails()
    intro = NAVIGATION + (
        f"<h1>Mail from {html.escape(SHOP_NAME)}</h1><p class='muted'>Every mail Nerve sent in"
        " this demo run, as the demo's own SMTP server received it, newest first (the last"
        f" {len(mails)} of {mailbox.count}). This page refreshes every five seconds;"
        f" <a href='{PATH}.json'>as JSON</a>.</p>"
    )
    if not mails:
        return intro + (
            "<p>No mail yet. Customers who sign up for the newsletter get a confirmation mail"
            " within seconds; cart reminders follow abandoned checkouts.</p>"
        )
    rows = "".join(
        f"<tr><td><a href='{PATH}/{mail.number}'>{mail.number}</a></td>"
        f"<td>{mail.received_at.astimezone():%H:%M:%S}</td>"
        f"<td class='{mail.kind}'>{mail.kind}</td>"
        f"<td>{html.escape(mail.to)}</td>"
        f"<td><a href='{PATH}/{mail.number}'>{html.escape(mail.subject or '(no subject)')}</a>"
        f"</td><td class='muted'>{html.escape(mail.sent_by or '')}</td></tr>"
        for mail in mails
    )
    head = "<tr><th>#</th><th>Received</th><th>Kind</th><th>To</th><th>Subject</th><th>Sent by</th>"
    return f"{intro}<table>{head}</tr>{rows}</table>"


def _detail(mail: ReceivedMail) -> str:
    facts = [
        ("From", mail.sender),
        ("To", mail.to),
        ("Subject", mail.subject),
        ("Date", mail.header("Date") or ""),
        ("Kind", mail.kind + (f" — {mail.sent_by}" if mail.sent_by else "")),
    ]
    if mail.unsubscribe_url:
        facts.append(("List-Unsubscribe", mail.header("List-Unsubscribe") or ""))
        facts.append(("List-Unsubscribe-Post", mail.header("List-Unsubscribe-Post") or ""))
    table = "".join(
        f"<tr><th>{name}</th><td>{html.escape(value)}</td></tr>" for name, value in facts
    )
    nav = (
        f"<p><a href='{PATH}'>← all mail</a> · <a href='{PATH}/{mail.number}/source'>source</a>"
        f" · <a href='{PATH}/{mail.number}/html' target='_blank'>HTML alone</a></p>"
    )
    rendered = (
        f"<iframe sandbox='{_SANDBOX}' referrerpolicy='no-referrer' title='The mail'"
        f" src='{PATH}/{mail.number}/html'></iframe>"
        if mail.html is not None
        else "<p class='muted'>This mail has no HTML part.</p>"
    )
    headers = "\n".join(f"{name}: {value}" for name, value in mail.headers)
    return (
        f"{nav}<h1>{html.escape(mail.subject or '(no subject)')}</h1><table>{table}</table>"
        f"<h2>As the customer sees it</h2>{rendered}"
        f"<h2>Plain text</h2><pre>{html.escape(mail.text or '(none)')}</pre>"
        f"<h2>Headers</h2><pre>{html.escape(headers)}</pre>"
    )


def _gone(number: int) -> str:
    return (
        f"<h1>No mail {number}</h1><p>The demo keeps the last 200 mails of this run;"
        f" <a href='{PATH}'>all mail</a>.</p>"
    )


def _opening_links_outside(body: str) -> str:
    """The mail's links open in a new tab: inside the sandboxed frame they could not work."""
    base = '<base target="_blank">'
    found = _HEAD.search(body)
    return body[: found.end()] + base + body[found.end() :] if found else base + body


def page(title: str, body: str, *, refresh: bool = False, status: int = 200) -> HTMLResponse:
    """One of the demo's pages, under a Content Security Policy that lets nothing run."""
    meta = '<meta http-equiv="refresh" content="5">' if refresh else ""
    document = (
        f"<!doctype html><html><head><meta charset='utf-8'>{meta}"
        "<meta name='viewport' content='width=device-width, initial-scale=1'>"
        f"<title>{html.escape(title)} · {html.escape(SHOP_NAME)} demo</title>"
        f"<style>{_STYLE}</style></head><body>{body}</body></html>"
    )
    return HTMLResponse(document, status_code=status, headers=_headers(_PAGE_CSP))


def _headers(policy: str) -> dict[str, str]:
    return {
        "Content-Security-Policy": policy,
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "no-referrer",
        "Cache-Control": "no-store",
    }
