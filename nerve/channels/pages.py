"""The small pages Nerve shows people itself (unsubscribe, confirm, preferences): plain HTML,
one button posting back where a click must count."""

from __future__ import annotations

import html
from typing import Any

from starlette.responses import HTMLResponse

_PAGE = """<!doctype html><html><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1"><title>{title}</title>
<style>body{{font-family:system-ui,sans-serif;max-width:32rem;margin:4rem auto;padding:0 1rem}}
button{{font-size:1rem;padding:.6rem 1.2rem}}</style></head><body>{body}</body></html>"""
# How such a route's 200 is documented.
HTML_PAGE: dict[int | str, dict[str, Any]] = {
    200: {"content": {"text/html": {"schema": {"type": "string"}}}, "description": "A page"}
}


def page(title: str, body: str, action: str | None = None, button: str = "") -> HTMLResponse:
    """A small page of Nerve's own; with `action`, one button that POSTs there."""
    if action is not None:
        body += (
            f'<form method="post" action="{html.escape(action)}">'
            '<input type="hidden" name="List-Unsubscribe" value="One-Click">'
            f"<button>{html.escape(button)}</button></form>"
        )
    return HTMLResponse(_PAGE.format(title=html.escape(title), body=body))
