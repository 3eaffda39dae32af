"""Opens and clicks: the links of a mail rewritten to signed redirects, an open pixel, and the
events they become on the person's timeline.

Each `http(s)` link of a mail (not Nerve's own unsubscribe, preference or confirmation links)
is replaced by `/l/TOKEN`, the token naming the message log row and the link's index into the
row's `links`, so a redirect goes only where the mail pointed — never to a URL a request names.
The target gets the UTM parameters the shop's analytics reads (utm_source=nerve,
utm_medium=email, utm_campaign=the flow or template, utm_content=the node), unless the template
set them itself. Every send, open and click is an event of Nerve's own source ("Email Sent",
"Email Opened", "Email Clicked"), attached to the person through the identity graph like any
other, so it shows on the timeline and flows can wait for it (`wait_for_event: Email Clicked`).
"""

from __future__ import annotations

import html
import ipaddress
import re
import secrets
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from sqlalchemy import Connection, Engine

from nerve.channels import links, messages
from nerve.db.base import utcnow
from nerve.db.dialect import dialect_of
from nerve.db.engine import write_transaction
from nerve.profiles.view import person_of_profile
from nerve.tracking.normalize import Envelope, normalize_message
from nerve.workspaces import service as workspaces

SOURCE_NAME = "Nerve email"
SENT, OPENED, CLICKED = "Email Sent", "Email Opened", "Email Clicked"
BOUNCED = "Email Bounced"

_HREF = re.compile(r"""(<a\b[^>]*?\bhref\s*=\s*)(["'])(.*?)\2""", re.IGNORECASE | re.DOTALL)
_BODY_END = re.compile(r"</body\s*>", re.IGNORECASE)
# Apple Mail Privacy Protection loads every image of a mail through Apple's proxies when the
# mail arrives, whether or not anyone reads it: from Apple's 17.0.0.0/8, with a bare user agent.
_APPLE = ipaddress.ip_network("17.0.0.0/8")
_MAX_EVENT_BYTES = 32_768


def track_links(
    rendered: dict[str, Any], own_prefix: str, campaign: str, content: str,
    tracked_url: Callable[[int], str],
) -> tuple[dict[str, Any], list[str]]:  # fmt: skip
    """The mail with each outside link replaced by its tracked redirect, and the targets (with
    UTM parameters) in the order of their indexes. The same URL twice is one target."""
    targets: list[str] = []
    replaced: dict[str, str] = {}

    def swap(match: re.Match[str]) -> str:
        url = html.unescape(match.group(3)).strip()
        if not url.lower().startswith(("http://", "https://")) or url.startswith(own_prefix):
            return match.group(0)
        if url not in replaced:
            targets.append(with_utm(url, campaign, content))
            replaced[url] = tracked_url(len(targets) - 1)
        quote = match.group(2)
        return f"{match.group(1)}{quote}{html.escape(replaced[url])}{quote}"

    page = _HREF.sub(swap, rendered["html"])
    text = rendered["text"]
    for url in sorted(replaced, key=len, reverse=True):  # a URL that prefixes another: last
        text = text.replace(url, replaced[url])
    return {**rendered, "html": page, "text": text}, targets


def with_pixel(rendered: dict[str, Any], pixel_url: str) -> dict[str, Any]:
    image = (f'<img src="{html.escape(pixel_url)}" width="1" height="1" alt="" '
             'style="display:block;border:0;width:1px;height:1px;overflow:hidden">')  # fmt: skip
    page = rendered["html"]
    found = list(_BODY_END.finditer(page))
    page = page[: found[-1].start()] + image + page[found[-1].start() :] if found else page + image
    return {**rendered, "html": page}


def with_utm(url: str, campaign: str, content: str) -> str:
    parts = urlsplit(url)
    query = parse_qsl(parts.query, keep_blank_values=True)
    given = {name for name, _ in query}
    wanted = {"utm_source": "nerve", "utm_medium": "email", "utm_campaign": campaign,
              "utm_content": content}  # fmt: skip
    query += [(name, value) for name, value in wanted.items() if value and name not in given]
    return urlunsplit(parts._replace(query=urlencode(query)))


def is_privacy_prefetch(client_ip: str | None, user_agent: str | None) -> bool:
    """An open by Apple's Mail Privacy Protection proxy, not by a reader (where detectable)."""
    try:
        from_apple = client_ip is not None and ipaddress.ip_address(client_ip) in _APPLE
    except ValueError:
        from_apple = False
    return from_apple or (user_agent or "").strip() == "Mozilla/5.0"


def person_key(identifiers: list[tuple[str, str]]) -> tuple[str, str] | None:
    """How an event names the person: their user id, else one of their anonymous ids."""
    for wanted in ("user_id", "anonymous_id"):
        for kind, value in identifiers:
            if kind == wanted:
                return kind, value
    return None


def event_row(
    workspace_id: str, source_id: str, person: tuple[str, str], name: str,
    properties: dict[str, Any], at: datetime, message_key: str | None = None,
) -> dict[str, Any]:  # fmt: skip
    """The events-table row of one of Nerve's own email events about a person."""
    kind, value = person
    message = {
        "type": "track", "event": name,
        "userId" if kind == "user_id" else "anonymousId": value,
        "messageId": message_key or f"nerve-{secrets.token_hex(12)}",
        "timestamp": at.isoformat(), "properties": properties,
        "context": {"library": {"name": "nerve", "version": "email"}},
    }  # fmt: skip
    row, _ = normalize_message(message, None, Envelope(workspace_id, source_id, at),
                               _MAX_EVENT_BYTES)  # fmt: skip
    return row


def properties_of(log: Mapping[str, Any]) -> dict[str, Any]:
    """What an email event says about its message (a message log row's values)."""
    names = ("message_id", "kind", "topic", "template", "flow", "node", "subject")
    return {"log_id": log["id"], **{name: log.get(name) for name in names}}


def opened(engine: Engine, token: str, client_ip: str | None, user_agent: str | None) -> bool:
    """Count an open of the mail the pixel token names (not a privacy proxy's prefetch);
    False for a token that is not genuine."""
    with engine.connect() as conn, conn.begin():
        found = links.verify_part(conn, "o", token)
    if found is None or found[1]:
        return False
    if not is_privacy_prefetch(client_ip, user_agent):
        with write_transaction(engine) as conn:
            _engaged(conn, found[0], OPENED, {"user_agent": user_agent})
    return True


def clicked(engine: Engine, token: str, user_agent: str | None) -> str | None:
    """Count a click on the link the token names and return where it goes; None for a token
    that is not genuine (or names no link of its mail)."""
    with engine.connect() as conn, conn.begin():
        found = links.verify_part(conn, "l", token)
    if found is None or not found[1].isdigit():
        return None
    row, index = found[0], int(found[1])
    if index >= len(row.links or ()):
        return None
    url: str = row.links[index]
    with write_transaction(engine) as conn:
        _engaged(conn, row, CLICKED, {"url": url, "link": index, "user_agent": user_agent})
    return url


def _engaged(conn: Connection, row: Any, name: str, extra: dict[str, Any]) -> None:
    messages.engaged(conn, row.id, "clicked" if name == CLICKED else "opened")
    person = person_of_profile(conn, row.workspace_id, row.profile_id) if row.profile_id else None
    key = person_key([(i.type, i.value) for i in person.identifiers]) if person else None
    if key is None:  # sent to an address only, or the person was erased: no timeline
        return
    source = workspaces.own_source(conn, row.workspace_id, SOURCE_NAME)
    properties = {**properties_of(row._mapping), **extra}
    event = event_row(row.workspace_id, source, key, name, properties, utcnow())
    dialect_of(conn).insert_events(conn, [event])
