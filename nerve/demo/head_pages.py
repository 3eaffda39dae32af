"""The demo's page `/demo/head` (and `/demo/head.json`): what the website head got from
`GET /v1/personalize` for the latest customers — the home page banner and how it changed, the
public segments they are in, their top interests, the products recommended to them and the
skus pinned on the running-shoes category page. Refreshes every five seconds.
"""

from __future__ import annotations

import html
from dataclasses import asdict
from typing import Any

from fastapi import APIRouter
from starlette.responses import HTMLResponse, JSONResponse

from nerve.demo.heads import PATH, HeadLog, Seen, banner_name
from nerve.demo.mail_pages import NAVIGATION, page


def head_router(heads: HeadLog) -> APIRouter:
    router = APIRouter(include_in_schema=False)

    @router.get(PATH)
    def head_page() -> HTMLResponse:
        return page("Website head", _html(heads), refresh=True)

    @router.get(f"{PATH}.json")
    def head_json() -> JSONResponse:
        return JSONResponse({"data": [_fact(seen) for seen in heads.latest()],
                             **asdict(heads.figures())})  # fmt: skip

    return router


def _fact(seen: Seen) -> dict[str, Any]:
    return {**asdict(seen), "at": seen.at.isoformat()}


def _html(heads: HeadLog) -> str:
    figures = heads.figures()
    intro = NAVIGATION + (
        "<h1>What the website head shows</h1><p class='muted'>On every home page render the"
        " shop's website asks Nerve <code>GET /v1/personalize?anonymousId=…&amp;userId=…&amp;"
        "slots=home_banner&amp;recommendations=3</code> with its write key; these are the"
        " answers of the latest customers (those whose banner changed first). Refreshes every"
        f" five seconds; <a href='{PATH}.json'>as JSON</a>.</p>"
        f"<p>{figures.asked} requests · {figures.decisions} slot decisions ·"
        f" {figures.changed} banner changes.</p>"
    )
    seen = heads.latest()
    if not seen:
        return intro + "<p>No home page shown yet.</p>"
    rows = "".join(_row(s) for s in seen)
    return (
        f"{intro}<table><tr><th>Customer</th><th>Home page banner</th><th>Public segments</th>"
        f"<th>Top interests</th><th>Recommended</th></tr>{rows}</table>"
    )


def _row(seen: Seen) -> str:
    history = " → ".join(banner_name(b) for b in seen.banners)
    who = "signed in" if seen.signed_in else "not signed in"
    recommended = "".join(
        f"<li>{html.escape(str(r.get('name') or r.get('sku')))} <span class='muted'>"
        f"{html.escape(str(r.get('reason', '')))}</span></li>"
        for r in seen.recommendations
    )
    pinned = (f"<br><span class='muted'>running shoes page pins:"
              f" {html.escape(', '.join(seen.pinned))}</span>") if seen.pinned else ""  # fmt: skip
    return (
        f"<tr><td>{html.escape(seen.customer)}<br><span class='muted'>{html.escape(seen.device)},"
        f" {who}, {seen.at.astimezone():%H:%M:%S}</span></td>"
        f"<td><b>{html.escape(banner_name(seen.banner))}</b><br><span class='muted'>"
        f"{html.escape(history)} · {html.escape(seen.reason)}</span>{pinned}</td>"
        f"<td>{html.escape(', '.join(seen.segments) or '-')}</td>"
        f"<td>{html.escape(', '.join(seen.interests[:3]) or '-')}</td>"
        f"<td><ul>{recommended}</ul></td></tr>"
    )
