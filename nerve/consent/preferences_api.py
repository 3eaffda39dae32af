"""`/p/{token}`: the hosted preference page every message links to, on the three levels people
expect: leave everything; each channel (email, SMS, push) on or off; each topic and each flow
that sent them offers on or off. Flows marked critical (order and payment messages) are not
offered: nothing holds them back. The signed link is the person's key; changes are recorded with
time, IP and browser like any consent."""

from __future__ import annotations

import html
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs

from fastapi import APIRouter, Request
from sqlalchemy import Connection
from starlette.responses import HTMLResponse

from nerve.admin_routes import AdminRoute
from nerve.auth.api import PUBLIC
from nerve.channels import links, messages
from nerve.channels import preferences as levels
from nerve.channels.email import suppress
from nerve.channels.pages import HTML_PAGE, page
from nerve.channels.push import service as push_subscriptions
from nerve.consent import service, topics
from nerve.db.session import Db, WriteDb
from nerve.errors import NotFound, documented
from nerve.flows.versions import active_versions
from nerve.identity import service as identity
from nerve.profiles.view import person as person_view

router = APIRouter(tags=["consent"], route_class=AdminRoute)
MAX_FORM_BYTES = 16 * 1024
CHANNELS = {"email": "Email", "sms": "Text messages (SMS)", "push": "Push notifications"}


# The form field of each channel's topics (email's is `topic`, as the first page had it).
TOPIC_FIELDS = {"email": "topic", "sms": "sms_topic", "push": "push_topic"}


@dataclass(frozen=True)
class Reader:
    """Who the link belongs to: their workspace, address and (when known) profiles, and
    their addresses on each channel (email: the link's; SMS: their phones; push: the
    identifiers their devices subscribed under)."""

    workspace_id: str
    address: str
    person_id: str | None
    profile_ids: list[str]
    addresses: dict[str, list[str]]


def _reader(db: Connection, token: str) -> Reader:
    row = links.verify(db, "p", token)
    if row is None or row.recipient is None:
        raise NotFound("this link is not valid")
    person_id = identity.people_of(db, [row.profile_id]).get(row.profile_id) \
        if row.profile_id else None  # fmt: skip
    profiles = identity.members(db, person_id) if person_id is not None else []
    address = service.address_of(row.recipient)
    addresses = {"email": [address]}
    if person_id is not None:
        person = person_view(db, row.workspace_id, person_id)
        identifiers = [(i.type, i.value) for i in person.identifiers]
        addresses["sms"] = sorted(value for kind, value in identifiers if kind == "phone")
        devices = push_subscriptions.of_person(db, row.workspace_id, identifiers)
        addresses["push"] = sorted({device.identifier for device in devices})
    return Reader(row.workspace_id, address, person_id, profiles, addresses)


@router.get(
    "/p/{token}", response_class=HTMLResponse, openapi_extra=PUBLIC,
    responses={**HTML_PAGE, **documented(NotFound)},
)  # fmt: skip
def preferences(db: Db, token: str) -> HTMLResponse:
    """The reader's channels, email topics and flows, each a checkbox (checked: they get it),
    and a button to leave everything."""
    reader = _reader(db, token)
    left = levels.of_person(db, reader.workspace_id, reader.profile_ids)
    sections = [_topics_section(db, reader, channel) for channel in TOPIC_FIELDS]
    sections = [section for section in sections if section]
    if reader.person_id is not None:
        channels = "".join(_box("channel", name, title, ("channel", name) not in left)
                           for name, title in CHANNELS.items())  # fmt: skip
        flows = "".join(_box("flow", name, name.replace("_", " ").capitalize(),
                             ("flow", name) not in left)
                        for name in _offered_flows(db, reader, left))  # fmt: skip
        sections.insert(0, f"<h2>How we reach you</h2>{channels}")
        if flows:
            sections.append(f"<h2>Messages you got from us</h2>{flows}")
    body = (
        f"<h1>Your messages from us</h1><p>{html.escape(reader.address)}</p>"
        f'<form method="post" action="/p/{html.escape(token)}">{"".join(sections)}'
        '<input type="hidden" name="page" value="1">'
        '<button name="save" value="1">Save</button> '
        '<button name="leave_all" value="1">Leave everything</button></form>'
    )
    return page("Preferences", body)


def _box(kind: str, name: str, title: str, checked: bool, note: str | None = None) -> str:
    mark = " checked" if checked else ""
    small = f"<br><small>{html.escape(note)}</small>" if note else ""
    return (f'<p><label><input type="checkbox" name="{kind}" value="{html.escape(name)}"{mark}>'
            f" {html.escape(title)}</label>{small}</p>")  # fmt: skip


def _topics_section(db: Connection, reader: Reader, channel: str) -> str:
    """A channel's topics, each a checkbox; none where the person has no address there."""
    offered = topics.listed(db, reader.workspace_id, channel)
    if not reader.addresses.get(channel) or not offered:
        return ""
    subscribed = _subscribed(db, reader, channel)
    boxes = "".join(_box(TOPIC_FIELDS[channel], t.name, t.title, t.name in subscribed,
                         t.description) for t in offered)  # fmt: skip
    heading = "Topics" if channel == "email" else f"Topics: {CHANNELS[channel]}"
    return f"<h2>{html.escape(heading)}</h2>{boxes}"


def _subscribed(db: Connection, reader: Reader, channel: str = "email") -> set[str]:
    """The topics the person is subscribed to on the channel, at any of their addresses."""
    return {
        r["topic"]
        for r in service.records(db, reader.workspace_id, reader.addresses.get(channel, []))
        if r["channel"] == channel and r["status"] == "subscribed"
    }


def _offered_flows(db: Connection, reader: Reader, left: levels.Left) -> list[str]:
    """The flows that sent the person marketing messages, or that they left — not those
    marked critical."""
    critical = {v.definition.name for v in active_versions(db, reader.workspace_id)
                if v.definition.critical}  # fmt: skip
    sent = messages.marketing_flows(db, reader.workspace_id, reader.profile_ids)
    return sorted((sent | {name for scope, name in left if scope == "flow"}) - critical)


@router.post(
    "/p/{token}", response_class=HTMLResponse, openapi_extra=PUBLIC,
    responses={**HTML_PAGE, **documented(NotFound)},
)  # fmt: skip
async def save_preferences(request: Request, db: WriteDb, token: str) -> HTMLResponse:
    """Topics left unchecked are withdrawn, checked ones subscribed by the person's own choice
    (the signed link came to them: no second confirmation); channels and flows unchecked are
    left, checked ones rejoined; `leave_all` withdraws every topic and holds back all marketing
    messages on every channel."""
    reader = _reader(db, token)
    form = parse_qs((await request.body())[:MAX_FORM_BYTES].decode(errors="replace"))
    leave_all = "leave_all" in form
    proof = (request.client.host if request.client else None, request.headers.get("user-agent"))
    for channel, name in TOPIC_FIELDS.items():
        _save_topics(db, reader, channel, set(form.get(name, [])), leave_all, proof)
    if reader.person_id is not None and "page" in form:
        _save_levels(db, reader, form, leave_all)
    if leave_all:
        suppress(db, reader.workspace_id, reader.address, "unsubscribed",
                 "left everything on the preferences")  # fmt: skip
        return page("Done", "<h1>Done</h1><p>You get no more offers from us.</p>")
    return page("Saved", "<h1>Saved</h1><p>Your choices are saved.</p>")


def _save_topics(
    db: Connection, reader: Reader, channel: str, chosen: set[str], leave_all: bool,
    proof: tuple[str | None, str | None],
) -> None:  # fmt: skip
    """A channel's topics at each of the person's addresses there: unchecked ones withdrawn,
    checked ones subscribed by the person's own choice (the signed link came to them)."""
    ip, agent = proof
    for address in reader.addresses.get(channel, []):
        on_now = {r["topic"] for r in service.records(db, reader.workspace_id, [address])
                  if r["channel"] == channel and r["status"] == "subscribed"}  # fmt: skip
        for topic in (t.name for t in topics.listed(db, reader.workspace_id, channel)):
            on = topic in on_now
            if on and (leave_all or topic not in chosen):
                service.withdraw(db, reader.workspace_id, channel, address, topic,
                                 "preferences")  # fmt: skip
            elif not on and not leave_all and topic in chosen:
                service.sign_up(db, reader.workspace_id, service.SignUp(
                    email=address, topic=topic, via="preferences", double_opt_in=False,
                    channel=channel, consent_text="chosen on the preference page", ip=ip,
                    user_agent=agent))  # fmt: skip


def _save_levels(db: Connection, reader: Reader, form: dict[str, Any], leave_all: bool) -> None:
    """Everything, channels and flows: left when unchecked, rejoined when checked."""
    assert reader.person_id is not None
    workspace_id, person_id = reader.workspace_id, reader.person_id
    if leave_all:
        levels.leave(db, workspace_id, person_id, "all", "", "preferences")
        return
    levels.rejoin(db, workspace_id, reader.profile_ids, "all", "")
    left = levels.of_person(db, workspace_id, reader.profile_ids)
    offered = (("channel", list(CHANNELS)), ("flow", _offered_flows(db, reader, left)))
    for scope, names in offered:
        chosen = set(form.get(scope, []))
        for name in names:
            if name in chosen:
                levels.rejoin(db, workspace_id, reader.profile_ids, scope, name)
            else:
                levels.leave(db, workspace_id, person_id, scope, name, "preferences")
