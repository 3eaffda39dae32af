"""Topics are the workspace's lists: a sign-up, a flow's marketing send and the transactional
API name one of them or are refused; builders define them, the preference page offers them."""

from __future__ import annotations

import re

from sqlalchemy import Engine
from starlette.testclient import TestClient

from tests.factories import Shop, make_key
from tests.integration.channels.test_send_email import FLOW, TEMPLATE, _shopper
from tests.smtp import SmtpSink
from tests.waiting import auth, until

FORM = {"Content-Type": "application/x-www-form-urlencoded"}


def test_builders_define_topics_and_unknown_ones_are_refused(
    client: TestClient, shop: Shop, engine: Engine
) -> None:
    listed = client.get("/api/v1/consent/topics", headers=auth(shop)).json()["data"]
    assert [(t["channel"], t["name"]) for t in listed] == [("email", "newsletter")]

    signup = {"email": "anna@example.com", "topic": "back-in-stock", "consent_text": "Yes"}
    refused = client.post("/api/v1/consent", json=signup, headers=auth(shop))
    assert refused.status_code == 400
    assert "no email topic named 'back-in-stock'; known: newsletter" in refused.text

    analyst = {"Authorization": f"Bearer {make_key(engine, shop.workspace_id, 'analyst')}"}
    builder = {"Authorization": f"Bearer {make_key(engine, shop.workspace_id, 'builder')}"}
    topic = {"title": "Back in stock", "description": "When a product you wanted is back"}
    path = "/api/v1/consent/topics/email/back-in-stock"
    assert client.put(path, json=topic, headers=analyst).status_code == 403
    assert client.put(path, json=topic, headers=builder).status_code == 201
    assert (
        client.put(path, json={**topic, "title": "Back again"}, headers=builder).status_code == 200
    )
    assert (
        client.put("/api/v1/consent/topics/fax/x", json=topic, headers=builder).status_code == 400
    )
    assert client.put("/api/v1/consent/topics/email/Bad Name", json=topic,
                      headers=builder).status_code == 400  # fmt: skip
    listed = client.get("/api/v1/consent/topics", headers=analyst).json()["data"]
    assert {t["name"]: t["title"] for t in listed} == {"back-in-stock": "Back again",
                                                       "newsletter": "Newsletter"}  # fmt: skip
    signup = {**signup, "double_opt_in": False}
    assert client.post("/api/v1/consent", json=signup, headers=auth(shop)).status_code == 201


def test_a_flow_or_message_naming_an_unknown_topic_is_refused(
    client: TestClient, shop: Shop
) -> None:
    assert client.post("/api/v1/templates", json=TEMPLATE, headers=auth(shop)).status_code == 201
    flow = {**FLOW, "nodes": [{**FLOW["nodes"][0], "with": {"template": "cart_reminder_1",
                                                             "topic": "newsletters"}}]}  # fmt: skip
    refused = client.post("/api/v1/flows?environment=production", json=flow, headers=auth(shop))
    assert refused.status_code == 400, refused.text
    [problem] = refused.json()["error"]["details"]
    assert problem["path"] == "nodes[0].with.topic" and "known: newsletter" in problem["reason"]
    message = {"to": {"email": "x@example.com"}, "template": "cart_reminder_1", "topic": "nope"}
    answer = client.post("/api/v1/messages", json=message, headers=auth(shop))
    assert answer.status_code == 400 and "no email topic named 'nope'" in answer.text


def test_the_preference_page_offers_every_topic(
    client: TestClient, shop: Shop, sink: SmtpSink
) -> None:
    topic = {"title": "VIP offers", "description": "Early sales for our best customers"}
    assert client.put("/api/v1/consent/topics/email/vip", json=topic,
                      headers=auth(shop)).status_code == 201  # fmt: skip
    with_preferences = {**TEMPLATE, "html": TEMPLATE["html"].replace(
        "</body>", "<a href='{{ message.preferences_url }}'>Your mail settings</a></body>")}  # fmt: skip
    assert client.post("/api/v1/templates", json=with_preferences,
                       headers=auth(shop)).status_code == 201  # fmt: skip
    assert client.post("/api/v1/flows?environment=production", json=FLOW,
                       headers=auth(shop)).status_code == 201  # fmt: skip
    _shopper(client, shop, "gus", "gus@example.com", "cart-1")
    [mail] = until(lambda: sink.received)
    html = mail.get_body(("html",)).get_content()
    [path] = set(re.findall(r"http://127\.0\.0\.1:8000(/p/[^'\"]+)", html))
    page = client.get(path).text
    assert "VIP offers" in page and "Early sales" in page
    assert re.findall(r'name="topic" value="(\w+)" checked', page) == ["newsletter"]
    client.post(path, content=b"topic=newsletter&topic=vip&save=1", headers=FORM)
    found = client.get("/api/v1/consent", params={"email": "gus@example.com"},
                       headers=auth(shop)).json()["data"]  # fmt: skip
    assert {c["topic"]: c["status"] for c in found} == {"newsletter": "subscribed",
                                                        "vip": "subscribed"}  # fmt: skip
    assert next(c for c in found if c["topic"] == "vip")["via"] == "preferences"
