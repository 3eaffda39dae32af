"""The preference page on its three levels: a person leaves one flow and keeps the others, leaves
a channel, leaves everything — and a flow marked critical (order and payment news) still
reaches them and is never offered to leave."""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import Engine, select
from starlette.testclient import TestClient

from nerve.channels.models import Message, OptOut
from tests.factories import Shop
from tests.smtp import SmtpSink
from tests.waiting import auth, until

OFFER = {
    "name": "offer",
    "subject": "Our offer",
    "html": "<p>20 % off</p><a href='{{ message.preferences_url }}'>Your choices</a>",
}
PARCEL = {"name": "parcel", "subject": "Your parcel", "html": "<p>It is on its way</p>"}


def _flow(name: str, template: str, event: str, critical: bool = False) -> dict[str, Any]:
    return {"name": name, "critical": critical, "trigger": {"event": event, "reentry": "always"},
            "nodes": [{"id": "mail", "action": "send_email",
                       "with": {"template": template, "topic": "newsletter"}}]}  # fmt: skip


def _ok(response: Any, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response


def _track(client: TestClient, shop: Shop, event: str, n: int) -> None:
    message = {"userId": "anna", "event": event, "messageId": f"{event}-{n}"}
    _ok(client.post("/v1/track", json=message, auth=(shop.write_keys["web"], "")))


def _statuses(engine: Engine, flow: str) -> list[tuple[str, str | None]]:
    with engine.connect() as conn:
        rows = conn.execute(
            select(Message.status, Message.reason).where(Message.flow == flow)
            .order_by(Message.created_at)
        ).all()  # fmt: skip
    return [(row.status, row.reason) for row in rows]


def _settled(engine: Engine, flow: str, count: int) -> list[tuple[str, str | None]] | None:
    """The flow's log once it has `count` messages, none of them still on its way."""
    found = _statuses(engine, flow)
    return found if len(found) == count and all(s != "queued" for s, _ in found) else None


def _setup(client: TestClient, shop: Shop) -> None:
    for template in (OFFER, PARCEL):
        _ok(client.post("/api/v1/templates", json=template, headers=auth(shop)), 201)
    for flow in (_flow("weekly_offers", "offer", "Offer Week"),
                 _flow("parcel_news", "parcel", "Parcel Shipped", critical=True)):  # fmt: skip
        _ok(client.post("/api/v1/flows?environment=production", json=flow, headers=auth(shop)), 201)
    consent = {"email": "anna@example.com", "topic": "newsletter", "double_opt_in": False,
               "consent_text": "Yes, send me the newsletter"}  # fmt: skip
    _ok(client.post("/api/v1/consent", json=consent, headers=auth(shop)), 201)
    identify = {"userId": "anna", "traits": {"email": "anna@example.com"}}
    _ok(client.post("/v1/identify", json=identify, auth=(shop.write_keys["web"], "")))


def test_leaving_a_flow_a_channel_and_everything(
    client: TestClient, shop: Shop, sink: SmtpSink, engine: Engine
) -> None:
    _setup(client, shop)
    _track(client, shop, "Offer Week", 1)
    _track(client, shop, "Parcel Shipped", 1)
    until(lambda: len(sink.received) == 2 or None)
    offer = next(m for m in sink.received if m["Subject"] == "Our offer")
    html = offer.get_body(("html",)).get_content()  # type: ignore[union-attr]
    token = re.search(r"/p/([A-Za-z0-9_-]+)", html)
    assert token is not None
    page_url = f"/p/{token.group(1)}"
    page = _ok(client.get(page_url)).text
    assert 'name="flow" value="weekly_offers" checked' in page
    assert "parcel_news" not in page  # critical: not offered
    assert 'name="channel" value="sms" checked' in page

    # Leave the weekly offers only (keep the newsletter topic and every channel).
    form = {"page": "1", "save": "1", "topic": "newsletter", "channel": ["email", "sms", "push"]}
    _ok(client.post(page_url, data=form))
    assert 'value="weekly_offers">' in _ok(client.get(page_url)).text  # now unchecked
    _track(client, shop, "Offer Week", 2)
    _track(client, shop, "Parcel Shipped", 2)
    until(lambda: _settled(engine, "parcel_news", 2))
    until(lambda: _settled(engine, "weekly_offers", 2))
    assert _statuses(engine, "weekly_offers")[1] == (
        "skipped", "the person left the flow weekly_offers"
    )  # fmt: skip
    assert [s for s, _ in _statuses(engine, "parcel_news")] == ["sent", "sent"]

    # Back into the flow, out of email as a channel: offers held back again, for that reason.
    form = {"page": "1", "save": "1", "topic": "newsletter", "channel": ["sms", "push"],
            "flow": "weekly_offers"}  # fmt: skip
    _ok(client.post(page_url, data=form))
    _track(client, shop, "Offer Week", 3)
    until(lambda: _settled(engine, "weekly_offers", 3))
    assert _statuses(engine, "weekly_offers")[2] == ("skipped", "the person left email messages")

    # Leave everything: the critical flow still reaches her.
    _ok(client.post(page_url, data={"page": "1", "leave_all": "1"}))
    _track(client, shop, "Parcel Shipped", 3)
    until(lambda: _settled(engine, "parcel_news", 3))
    assert [s for s, _ in _statuses(engine, "parcel_news")] == ["sent", "sent", "sent"]


def test_what_a_person_left_is_exported_and_erased(
    client: TestClient, shop: Shop, sink: SmtpSink, engine: Engine
) -> None:
    _setup(client, shop)
    _track(client, shop, "Offer Week", 1)
    [offer] = until(lambda: sink.received)
    html = offer.get_body(("html",)).get_content()  # type: ignore[union-attr]
    token = re.search(r"/p/([A-Za-z0-9_-]+)", html)
    assert token is not None
    _ok(client.post(f"/p/{token.group(1)}", data={"page": "1", "save": "1",
                                                  "channel": ["email", "push"]}))  # fmt: skip
    person = _ok(client.get("/api/v1/profiles", params={"identifier": "email:anna@example.com"},
                            headers=auth(shop))).json()  # fmt: skip
    exported = _ok(client.get(f"/api/v1/profiles/{person['id']}/export", headers=auth(shop)))
    left = {(o["scope"], o["name"]) for o in exported.json()["opt_outs"]}
    assert left == {("channel", "sms"), ("flow", "weekly_offers")}
    _ok(client.delete(f"/api/v1/profiles/{person['id']}", headers=auth(shop)), 204)
    with engine.connect() as conn:
        assert conn.execute(select(OptOut)).all() == []


def test_sms_topics_are_on_the_page_for_the_persons_phone(
    client: TestClient, shop: Shop, sink: SmtpSink
) -> None:
    _setup(client, shop)
    topic = {"title": "Cart alerts by text", "description": "When your cart waits"}
    _ok(client.put("/api/v1/consent/topics/sms/cart-alerts", json=topic, headers=auth(shop)), 201)
    phone = {"phone": "+4915112345678", "topic": "cart-alerts", "double_opt_in": False,
             "consent_text": "Text me about my cart"}  # fmt: skip
    _ok(client.post("/api/v1/consent", json=phone, headers=auth(shop)), 201)
    identify = {"userId": "anna", "traits": {"phone": "+49 151 12345678"}}
    _ok(client.post("/v1/identify", json=identify, auth=(shop.write_keys["web"], "")))
    until(lambda: client.get("/api/v1/profiles", headers=auth(shop),
                             params={"identifier": "phone:+4915112345678"}).status_code == 200)  # fmt: skip
    _track(client, shop, "Offer Week", 1)
    [offer] = until(lambda: sink.received)
    html = offer.get_body(("html",)).get_content()  # type: ignore[union-attr]
    token = re.search(r"/p/([A-Za-z0-9_-]+)", html)
    assert token is not None
    page = _ok(client.get(f"/p/{token.group(1)}")).text
    assert "Cart alerts by text" in page
    assert 'name="sms_topic" value="cart-alerts" checked' in page

    form = {"page": "1", "save": "1", "topic": "newsletter", "channel": ["email", "sms", "push"],
            "flow": "weekly_offers"}  # fmt: skip
    _ok(client.post(f"/p/{token.group(1)}", data=form))  # the SMS topic unchecked
    found = _ok(client.get("/api/v1/consent", params={"phone": "+4915112345678"},
                           headers=auth(shop))).json()["data"]  # fmt: skip
    [alerts] = [c for c in found if c["topic"] == "cart-alerts"]
    assert alerts["status"] == "unsubscribed" and alerts["withdrawn_via"] == "preferences"
