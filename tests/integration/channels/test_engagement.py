"""Opens and clicks: a mail's links go through signed redirects only to where the mail pointed,
with UTM parameters; opens and clicks move the message log on and become events on the
person's timeline, which a flow can wait for; Apple's privacy prefetch is not an open."""

from __future__ import annotations

import re
import time
from typing import Any
from urllib.parse import parse_qs, urlsplit

from sqlalchemy import Engine
from starlette.testclient import TestClient

from tests.factories import Shop
from tests.integration.channels.test_send_email import TEMPLATE, _log, _ready, _shopper
from tests.smtp import SmtpSink
from tests.waiting import auth, until


def _tracked_links(mail: Any) -> list[str]:
    html = mail.get_body(("html",)).get_content()
    return [href.replace("&amp;", "&") for href in re.findall(r'href="([^"]+/l/[^"]+)"', html)]


def _timeline(client: TestClient, shop: Shop, user: str) -> list[dict[str, Any]]:
    found = client.get("/api/v1/profiles", params={"identifier": f"user_id:{user}"},
                       headers=auth(shop))  # fmt: skip
    if found.status_code != 200:
        return []
    page = client.get(f"/api/v1/profiles/{found.json()['id']}/timeline", headers=auth(shop))
    return list(page.json()["data"])


def test_a_click_redirects_to_the_mails_link_and_lands_on_the_timeline(
    client: TestClient, shop: Shop, sink: SmtpSink, engine: Engine
) -> None:
    _ready(client, shop)
    _shopper(client, shop, "anna", "anna@example.com", "cart-1")
    [mail] = until(lambda: sink.received)
    [link] = _tracked_links(mail)
    path = urlsplit(link).path
    assert path.startswith("/l/") and "msg_" not in path and "run-42" not in link  # opaque
    text = mail.get_body(("plain",)).get_content()
    assert link in text and "shop.example/p/run-42" not in text  # the text part too

    clicked = client.get(path, follow_redirects=False)
    assert clicked.status_code == 302
    target = urlsplit(clicked.headers["location"])
    assert (target.netloc, target.path) == ("shop.example", "/p/run-42")
    assert parse_qs(target.query) == {"utm_source": ["nerve"], "utm_medium": ["email"],
                                      "utm_campaign": ["cart_mail"], "utm_content": ["remind"]}  # fmt: skip

    [logged] = _log(engine)
    assert logged.status == "clicked" and logged.clicked_at and logged.opened_at
    names = until(lambda: {e.get("event") for e in _timeline(client, shop, "anna")} >= {
        "Email Sent", "Email Clicked"} and [e.get("event") for e in _timeline(client, shop, "anna")])  # fmt: skip
    assert "Email Sent" in names and "Email Clicked" in names
    found = client.get("/api/v1/messages", headers=auth(shop), params={
        "status": "clicked", "flow": "cart_mail", "email": "Anna@Example.com"}).json()["data"]  # fmt: skip
    assert [(m["id"], m["template"]) for m in found] == [(logged.id, "cart_reminder_1")]
    assert found[0]["clicked_at"] and found[0]["opened_at"]
    for params in ({"status": "sent"}, {"flow": "other"}, {"kind": "transactional"},
                   {"since": "2999-01-01T00:00:00Z"}):  # fmt: skip
        assert client.get("/api/v1/messages", params=params, headers=auth(shop)).json() == {
            "data": []}  # fmt: skip
    assert client.get("/api/v1/messages", params={"status": "lost"},
                      headers=auth(shop)).status_code == 400  # fmt: skip


def test_forged_click_and_pixel_tokens_are_a_bare_404(
    client: TestClient, shop: Shop, sink: SmtpSink
) -> None:
    _ready(client, shop)
    _shopper(client, shop, "anna", "anna@example.com", "cart-1")
    [mail] = until(lambda: sink.received)
    [link] = _tracked_links(mail)
    token = urlsplit(link).path.removeprefix("/l/")
    forged = token[:-2] + ("AA" if not token.endswith("AA") else "BB")
    for path in (f"/l/{forged}", f"/o/{forged}", "/l/msg_x", f"/o/{token}", "/l/"):
        answer = client.get(path, follow_redirects=False)
        assert answer.status_code == 404, path
        assert "anna" not in answer.text and "shop.example/p" not in answer.text


def test_an_open_counts_once_a_reader_loads_it_not_apples_prefetch(
    client: TestClient, shop: Shop, sink: SmtpSink, engine: Engine
) -> None:
    _ready(client, shop)
    _shopper(client, shop, "anna", "anna@example.com", "cart-1")
    [mail] = until(lambda: sink.received)
    html = mail.get_body(("html",)).get_content()
    [pixel] = re.findall(r'<img src="[^"]+(/o/[^"]+)"', html)
    prefetch = client.get(pixel, headers={"User-Agent": "Mozilla/5.0"})
    assert prefetch.status_code == 200 and prefetch.headers["content-type"] == "image/gif"
    assert _log(engine)[0].status == "sent"  # Apple's proxy fetched it on arrival: not an open
    reader = client.get(pixel, headers={"User-Agent": "Mozilla/5.0 (Macintosh) Thunderbird/128"})
    assert reader.status_code == 200 and reader.headers["cache-control"].startswith("no-store")
    [logged] = _log(engine)
    assert logged.status == "opened" and logged.opened_at is not None
    until(lambda: "Email Opened" in {e.get("event") for e in _timeline(client, shop, "anna")})


def test_a_flow_waits_for_the_click(client: TestClient, shop: Shop, sink: SmtpSink) -> None:
    mail = {"template": "cart_reminder_1", "topic": "newsletter"}
    flow = {
        "name": "click_follow_up",
        "trigger": {"event": "Product Added", "key": "properties.cart_id"},
        "nodes": [
            {"id": "remind", "action": "send_email", "with": mail},
            {"id": "wait", "wait_for_event": {"event": "Email Clicked", "timeout": "1d"}},
            {"id": "thanks", "action": "send_email", "with": mail},
        ],
    }
    assert client.post("/api/v1/templates", json=TEMPLATE, headers=auth(shop)).status_code == 201
    published = client.post("/api/v1/flows?environment=production", json=flow, headers=auth(shop))
    assert published.status_code == 201, published.text
    _shopper(client, shop, "anna", "anna@example.com", "cart-1")
    [first] = until(lambda: sink.received)
    time.sleep(0.5)
    assert len(sink.received) == 1  # waiting for the click, for a day at most
    client.get(urlsplit(_tracked_links(first)[0]).path, follow_redirects=False)
    until(lambda: len(sink.received) == 2)
