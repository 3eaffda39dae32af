"""A flow sends email that a real SMTP server (aiosmtpd on loopback) receives: personalised,
both parts, headers; a hard bounce suppresses the address; a flow naming a missing template is
refused at publish time."""

from __future__ import annotations

import dataclasses
import re
from typing import Any
from urllib.parse import urlsplit

import dkim  # type: ignore[import-untyped]
import pytest
from pydantic import SecretStr
from sqlalchemy import Engine, select
from starlette.testclient import TestClient

from nerve.channels import dkim_keys
from nerve.channels.email import EmailRequest, email_service
from nerve.channels.models import Message, Suppression
from nerve.channels.smtp import SendDeferred
from nerve.db.engine import write_transaction
from nerve.secrets import service as secrets
from nerve.secrets.vault import Vault
from nerve.settings import Settings
from nerve.workspaces import service as workspaces
from tests.factories import Shop
from tests.integration.channels.conftest import VAULT_KEY
from tests.smtp import SmtpSink
from tests.waiting import auth, until

TEMPLATE = {
    "name": "cart_reminder_1",
    "subject": "{{ person.traits.first_name | default: 'Hi' }}, your {{ event.properties.name }}",
    "preheader": "Still thinking it over?",
    "html": "<html><head><style>p { color: #222 }</style></head><body><p>Hello "
    "{{ person.traits.first_name | default: 'there' }}</p><a href='{{ event.properties.url }}'>"
    "{{ event.properties.name }}</a><p>{{ shop.imprint }}</p></body></html>",
}
FLOW = {
    "name": "cart_mail",
    "trigger": {"event": "Product Added", "key": "properties.cart_id"},
    "nodes": [{"id": "remind", "action": "send_email", "retries": 2,
               "with": {"template": "cart_reminder_1", "topic": "newsletter"}}],
}  # fmt: skip


def _send(client: TestClient, shop: Shop, path: str, message: dict[str, Any]) -> None:
    response = client.post(f"/v1/{path}", json=message, auth=(shop.write_keys["web"], ""))
    assert response.status_code == 200, response.text


def _consent(client: TestClient, shop: Shop, email: str) -> None:
    given = {"email": email, "topic": "newsletter", "double_opt_in": False,
             "consent_text": "Yes, send me the newsletter", "source_url": "https://shop.example/"}  # fmt: skip
    response = client.post("/api/v1/consent", json=given, headers=auth(shop))
    assert response.status_code == 201, response.text


def _shopper(
    client: TestClient, shop: Shop, user: str, email: str, cart: str, consent: bool = True
) -> None:
    if consent:
        _consent(client, shop, email)
    _send(client, shop, "identify", {"userId": user, "traits": {"email": email,
                                                                "first_name": "Anna"}})  # fmt: skip
    _send(
        client,
        shop,
        "track",
        {
            "userId": user,
            "event": "Product Added",
            "properties": {
                "cart_id": cart,
                "name": "Trail Runner 2",
                "url": "https://shop.example/p/run-42",
            },
        },
    )


def _log(engine: Engine) -> list[Any]:
    with engine.connect() as conn:
        return conn.execute(select(Message).order_by(Message.created_at)).all()


def _ready(client: TestClient, shop: Shop) -> None:
    saved = client.post("/api/v1/templates", json=TEMPLATE, headers=auth(shop))
    assert saved.status_code == 201, saved.text
    published = client.post("/api/v1/flows?environment=production", json=FLOW, headers=auth(shop))
    assert published.status_code == 201, published.text


def test_a_flow_sends_a_personalised_email_through_smtp(
    client: TestClient, shop: Shop, sink: SmtpSink, engine: Engine
) -> None:
    _ready(client, shop)
    _shopper(client, shop, "anna", "Anna@Example.com", "cart-1")
    [mail] = until(lambda: sink.received)
    assert mail["From"] == "Example Shop <hello@shop.example>"
    assert mail["To"] == "anna@example.com"
    assert mail["Subject"] == "Anna, your Trail Runner 2"
    assert mail["Message-ID"].endswith("@shop.example>")
    assert mail.get_content_type() == "multipart/alternative"
    text = mail.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    html = mail.get_body(("html",)).get_content()  # type: ignore[union-attr]
    assert "Hello Anna" in text and "Trail Runner 2 (http://" in text  # tracked: below
    assert '<p style="color: #222;">Hello Anna</p>' in html
    assert "display:none" in html and "Still thinking it over?" in html  # the preheader
    assert "Example Shop GmbH" in html
    [logged] = until(lambda: [m for m in _log(engine) if m.status == "sent"])
    assert (logged.recipient, logged.kind, logged.topic) == ("anna@example.com", "marketing",
                                                             "newsletter")  # fmt: skip
    assert logged.message_id == mail["Message-ID"] and logged.sent_at is not None


def test_a_hard_bounce_suppresses_the_address(
    client: TestClient, shop: Shop, sink: SmtpSink, engine: Engine
) -> None:
    _ready(client, shop)
    sink.refuse("gone@example.com", "550 5.1.1 no such user")
    _shopper(client, shop, "ben", "gone@example.com", "cart-1")
    [bounced] = until(lambda: [m for m in _log(engine) if m.status == "bounced"])
    assert "550" in bounced.reason
    with engine.connect() as conn:
        [suppressed] = conn.execute(select(Suppression)).all()
    assert suppressed.reason == "hard_bounce" and "gone" not in suppressed.address_hash
    _send(client, shop, "track", {"userId": "ben", "event": "Product Added",
                                  "properties": {"cart_id": "cart-2", "name": "x"}})  # fmt: skip
    [skipped] = until(lambda: [m for m in _log(engine) if m.status == "skipped"])
    assert skipped.reason == "the address is suppressed (hard_bounce)"
    assert sink.received == []


def test_a_flow_naming_a_missing_template_is_refused(client: TestClient, shop: Shop) -> None:
    refused = client.post("/api/v1/flows?environment=production", json=FLOW, headers=auth(shop))
    assert refused.status_code == 400
    [problem] = refused.json()["error"]["details"]
    assert problem["path"] == "nodes[0].with.template" and "cart_reminder_1" in problem["reason"]
    no_topic = {**FLOW, "nodes": [{"id": "remind", "action": "send_email",
                                   "with": {"template": "cart_reminder_1"}}]}  # fmt: skip
    refused = client.post("/api/v1/flows", json=no_topic, headers=auth(shop))
    assert refused.status_code == 400 and "topic" in refused.text


def test_the_transactional_api_sends_once_per_idempotency_key(
    client: TestClient, shop: Shop, sink: SmtpSink, engine: Engine
) -> None:
    confirmation = {
        "name": "order_confirmation",
        "subject": "Order {{ order.order_id }} confirmed",
        "html": "<p>Thanks {{ person.traits.first_name | default: 'for your order' }}: "
        "{{ order.total }} {{ order.currency }}</p>",
    }
    assert (
        client.post("/api/v1/templates", json=confirmation, headers=auth(shop)).status_code == 201
    )
    body = {"to": {"email": "new.customer@example.com"}, "template": "order_confirmation",
            "context": {"order": {"order_id": "S-77", "total": "59.90", "currency": "EUR"}}}  # fmt: skip
    headers = auth(shop) | {"Idempotency-Key": "order-S-77"}
    first = client.post("/api/v1/messages", json=body, headers=headers)
    again = client.post("/api/v1/messages", json=body, headers=headers)
    assert first.status_code == again.status_code == 201, first.text
    assert first.json() == again.json() and first.json()["status"] == "sent"
    [mail] = sink.received
    assert mail["Subject"] == "Order S-77 confirmed" and mail["To"] == "new.customer@example.com"
    assert mail["Message-ID"] == first.json()["message_id"]

    raw = {"to": {"email": "Ops@Example.com"},
           "content": {"subject": "Stock low: {{ order.order_id }}", "html": "<p>x</p>"},
           "context": {"order": {"order_id": "S-78"}}}  # fmt: skip
    sent = client.post("/api/v1/messages", json=raw, headers=auth(shop))
    assert sent.status_code == 201 and until(lambda: len(sink.received) == 2)
    assert sink.received[1]["Subject"] == "Stock low: S-78"
    assert sink.received[1]["To"] == "ops@example.com"  # as identity keeps it: erase finds it
    found = client.get("/api/v1/messages", params={"email": "OPS@example.com"}, headers=auth(shop))
    assert [m["recipient"] for m in found.json()["data"]] == ["ops@example.com"]

    logged = client.get("/api/v1/messages", params={"status": "sent"}, headers=auth(shop))
    assert [m["kind"] for m in logged.json()["data"]] == ["transactional", "transactional"]
    for bad, code in (
        ({**body, "template": "nope"}, 404),
        ({"to": {"email": "a@example.com"}}, 400),
        ({**raw, "content": {"subject": "{{ self.x }}", "html": "x"}}, 400),
        ({**body, "to": {"email": "a@example.com", "profile_id": "prf_x"}}, 400),
        ({**body, "to": {"identifier": "email:nobody@example.com"}}, 404),
    ):
        refused = client.post("/api/v1/messages", json=bad, headers=auth(shop))
        assert refused.status_code == code, refused.text
    assert len(sink.received) == 2


def test_one_click_unsubscribe_as_gmail_makes_it(
    client: TestClient, shop: Shop, sink: SmtpSink, engine: Engine
) -> None:
    _ready(client, shop)
    _shopper(client, shop, "anna", "anna@example.com", "cart-1")
    [mail] = until(lambda: sink.received)
    assert mail["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert mail["List-Id"] == "<newsletter.shop.example>"
    [link] = re.findall(r"<(https?://[^>]+)>", mail["List-Unsubscribe"])
    path = urlsplit(link).path
    assert path.startswith("/u/") and "msg_" not in path  # opaque
    html = mail.get_body(("html",)).get_content()  # type: ignore[union-attr]
    assert link in html or link.replace("&", "&amp;") in html  # a visible link too

    page = client.get(path)  # a person, or a scanner prefetching: shows, does nothing
    assert page.status_code == 200 and "<button>" in page.text
    forged = client.post(path[:-2] + ("AA" if not path.endswith("AA") else "BB"),
                         content=b"List-Unsubscribe=One-Click")  # fmt: skip
    assert forged.status_code == 404 and forged.json()["error"]["code"] == "not_found"
    assert "anna" not in forged.text
    one_click = client.post(
        path, content=b"List-Unsubscribe=One-Click", follow_redirects=False,
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )  # fmt: skip
    assert one_click.status_code == 200  # never a redirect
    _send(client, shop, "track", {"userId": "anna", "event": "Product Added",
                                  "properties": {"cart_id": "cart-2", "name": "x"}})  # fmt: skip
    [skipped] = until(lambda: [m for m in _log(engine) if m.status == "skipped"])
    assert skipped.reason == "no consent to newsletter (unsubscribed)"
    confirmation = {"name": "receipt", "subject": "Receipt", "html": "<p>Thanks</p>"}
    assert (
        client.post("/api/v1/templates", json=confirmation, headers=auth(shop)).status_code == 201
    )
    receipt = client.post("/api/v1/messages", headers=auth(shop), json={
        "to": {"identifier": "user_id:anna"}, "template": "receipt"})  # fmt: skip
    assert receipt.json()["status"] == "sent", receipt.text  # transactional still goes out
    assert [m["Subject"] for m in sink.received] == ["Anna, your Trail Runner 2", "Receipt"]


def test_mail_is_dkim_signed_with_the_domains_key(
    client: TestClient, shop: Shop, sink: SmtpSink, engine: Engine
) -> None:
    key = dkim_keys.generate("shop.example", "nerve")
    with write_transaction(engine) as conn:
        secrets.put(conn, Vault(VAULT_KEY), shop.workspace_id, "dkim.shop.example",
                    dkim_keys.stored(key), actor="test")  # fmt: skip
    [(name, record)] = [
        (n, v) for n, v in dkim_keys.records(key, None).items() if "_domainkey" in n
    ]
    _ready(client, shop)
    _shopper(client, shop, "anna", "anna@example.com", "cart-1")
    [raw] = until(lambda: sink.raw)
    assert raw.startswith(b"DKIM-Signature:")
    signed = raw.split(b"\r\n\r\n", 1)[0].split(b"h=", 1)[1].split(b";", 1)[0]
    assert b"list-unsubscribe" in signed.replace(b"\r\n", b"").replace(b" ", b"")

    def dns(asked: bytes, timeout: int = 5) -> bytes:
        return record.encode() if asked.decode().rstrip(".") == name else b""

    assert dkim.verify(raw, dnsfunc=dns)
    tampered = raw.replace(b"Trail Runner 2", b"Trail Runner 3", 1)
    assert not dkim.verify(tampered, dnsfunc=dns)


def test_marketing_mail_needs_consent(
    client: TestClient, shop: Shop, sink: SmtpSink, engine: Engine
) -> None:
    _ready(client, shop)
    _shopper(client, shop, "cleo", "cleo@example.com", "cart-1", consent=False)
    [skipped] = until(lambda: [m for m in _log(engine) if m.status == "skipped"])
    assert skipped.reason == "no consent to newsletter (never given)"
    assert sink.received == []


def test_double_opt_in_end_to_end_with_its_proof(
    client: TestClient, shop: Shop, sink: SmtpSink, engine: Engine
) -> None:
    _ready(client, shop)
    signup = {"email": "Dora@Example.com", "topic": "newsletter", "text_version": "2026-11",
              "consent_text": "Yes, send me the newsletter (at most weekly)",
              "source_url": "https://shop.example/newsletter", "ip": "203.0.113.9",
              "user_agent": "Mozilla/5.0 (X11)"}  # fmt: skip
    signed = client.post("/api/v1/consent", json=signup, headers=auth(shop))
    assert signed.status_code == 201, signed.text
    assert (signed.json()["status"], signed.json()["confirmation"]) == ("pending", "sent")
    [confirmation] = until(lambda: sink.received)
    assert confirmation["To"] == "dora@example.com"
    assert "List-Unsubscribe" not in confirmation  # transactional, no advertising
    text = confirmation.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    [link] = re.findall(r"\((https?://\S+/c/\S+)\)", text)
    path = urlsplit(link).path

    _send(client, shop, "identify", {"userId": "dora", "traits": {"email": "dora@example.com"}})
    _send(client, shop, "track", {"userId": "dora", "event": "Product Added",
                                  "properties": {"cart_id": "c-1", "name": "x"}})  # fmt: skip
    [skipped] = until(lambda: [m for m in _log(engine) if m.status == "skipped"])
    assert skipped.reason == "no consent to newsletter (pending)"

    assert client.get(path).status_code == 200  # the page: a prefetch confirms nothing
    pending = client.get("/api/v1/consent", params={"email": "dora@example.com"},
                         headers=auth(shop)).json()["data"]  # fmt: skip
    assert pending[0]["status"] == "pending"
    clicked = client.post(path, headers={"User-Agent": "Mozilla/5.0 (iPhone)"})
    assert clicked.status_code == 200
    [record] = client.get("/api/v1/consent", params={"email": "dora@example.com"},
                          headers=auth(shop)).json()["data"]  # fmt: skip
    assert record["status"] == "subscribed" and record["via"] == "api"
    assert record["consent_text"] == signup["consent_text"] and record["ip"] == "203.0.113.9"
    assert record["confirmation_message_id"] == confirmation["Message-ID"]
    assert record["confirmation_sent_at"] and record["confirmed_at"]
    assert record["confirmed_user_agent"] == "Mozilla/5.0 (iPhone)"

    _send(client, shop, "track", {"userId": "dora", "event": "Product Added",
                                  "properties": {"cart_id": "c-2", "name": "Tea"}})  # fmt: skip
    until(lambda: len(sink.received) == 2)
    person = client.get("/api/v1/profiles", params={"identifier": "user_id:dora"},
                        headers=auth(shop)).json()  # fmt: skip
    exported = client.get(f"/api/v1/profiles/{person['id']}/export", headers=auth(shop)).json()
    assert exported["consents"][0]["consent_text"] == signup["consent_text"]
    erased = client.delete(f"/api/v1/profiles/{person['id']}", headers=auth(shop))
    assert erased.status_code in (200, 204), erased.text
    assert client.get("/api/v1/consent", params={"email": "dora@example.com"},
                      headers=auth(shop)).json()["data"] == []  # fmt: skip
    # The confirmation went to the address alone (no profile yet): hers all the same.
    assert confirmation["Message-ID"] in {m["message_id"] for m in exported["messages"]}
    assert [m for m in _log(engine) if m.recipient == "dora@example.com"] == []


def test_the_preference_page_turns_topics_off_and_leaves_everything(
    client: TestClient, shop: Shop, sink: SmtpSink, engine: Engine
) -> None:
    with_preferences = {**TEMPLATE, "html": TEMPLATE["html"].replace(
        "</body>", "<a href='{{ message.preferences_url }}'>Your mail settings</a></body>")}  # fmt: skip
    assert client.post("/api/v1/templates", json=with_preferences,
                       headers=auth(shop)).status_code == 201  # fmt: skip
    assert client.post("/api/v1/flows?environment=production", json=FLOW,
                       headers=auth(shop)).status_code == 201  # fmt: skip
    offers = {"title": "Offers", "description": "Sales and coupons"}
    assert client.put("/api/v1/consent/topics/email/offers", json=offers,
                      headers=auth(shop)).status_code == 201  # fmt: skip
    for topic in ("newsletter", "offers"):
        given = {"email": "eve@example.com", "topic": topic, "double_opt_in": False,
                 "consent_text": f"Yes to {topic}"}  # fmt: skip
        assert client.post("/api/v1/consent", json=given, headers=auth(shop)).status_code == 201
    _shopper(client, shop, "eve", "eve@example.com", "cart-1", consent=False)
    [mail] = until(lambda: sink.received)
    html = mail.get_body(("html",)).get_content()  # type: ignore[union-attr]
    [path] = set(re.findall(r"http://127\.0\.0\.1:8000(/p/[^'\"]+)", html))

    page = client.get(path)
    assert page.status_code == 200 and page.text.count('name="topic" value=') == 2
    saved = client.post(path, content=b"topic=offers&save=1",
                        headers={"Content-Type": "application/x-www-form-urlencoded"})  # fmt: skip
    assert saved.status_code == 200

    def consents() -> dict[str, dict[str, Any]]:
        found = client.get("/api/v1/consent", params={"email": "eve@example.com"},
                           headers=auth(shop)).json()["data"]  # fmt: skip
        return {c["topic"]: c for c in found}

    assert consents()["newsletter"]["status"] == "unsubscribed"
    assert consents()["newsletter"]["withdrawn_via"] == "preferences"
    assert consents()["offers"]["status"] == "subscribed"
    client.post(path, content=b"leave_all=1",
                headers={"Content-Type": "application/x-www-form-urlencoded"})  # fmt: skip
    assert {c["status"] for c in consents().values()} == {"unsubscribed"}
    forged = client.get(path[:-3] + "abc")
    assert forged.status_code == 404


def test_a_heads_form_starts_a_double_opt_in(
    client: TestClient, shop: Shop, sink: SmtpSink
) -> None:
    form = (f"email=fay%40example.com&topic=newsletter&consent_text=Yes%2C+news&text_version=3"
            f"&writeKey={shop.write_keys['web']}").encode()  # fmt: skip
    headers = {"Content-Type": "application/x-www-form-urlencoded",
               "User-Agent": "Mozilla/5.0 (Mac)", "Referer": "https://shop.example/signup"}  # fmt: skip
    signed = client.post("/v1/subscribe", content=form, headers=headers)
    assert signed.status_code == 201, signed.text
    record = signed.json()
    assert (record["status"], record["via"], record["confirmation"]) == ("pending", "form", "sent")
    assert record["source_url"] == "https://shop.example/signup"
    assert record["user_agent"] == "Mozilla/5.0 (Mac)" and record["ip"]
    [confirmation] = until(lambda: sink.received)
    assert confirmation["To"] == "fay@example.com"
    again = client.post("/v1/subscribe", content=form, headers=headers)
    assert again.json()["confirmation"] == "recently_sent"  # no flood of a stranger's inbox
    assert len(sink.received) == 1
    anonymous = client.post("/v1/subscribe", content=b"email=x%40example.com&topic=news",
                            headers={"Content-Type": "application/x-www-form-urlencoded"})  # fmt: skip
    assert anonymous.status_code == 401
    incomplete = client.post("/v1/subscribe", json={"email": "x@example.com"},
                             auth=(shop.write_keys["web"], ""))  # fmt: skip
    assert incomplete.status_code == 400 and "consent_text" in incomplete.text


def test_the_smtp_password_can_be_a_secret(settings: Settings, engine: Engine) -> None:
    sink = SmtpSink(login=("shop", "s3cret pass"))
    try:
        with write_transaction(engine) as conn:
            workspace = workspaces.ensure_workspace(conn)
            secrets.put(conn, Vault(VAULT_KEY), workspace, "smtp.password", "s3cret pass",
                        actor="test")  # fmt: skip
        configured = settings.model_copy(update={
            "smtp_url": SecretStr(f"smtp://shop@127.0.0.1:{sink.port}"),
            "email_from": "Shop <hi@shop.example>", "secret_key": SecretStr(VAULT_KEY)})  # fmt: skip
        service = email_service(engine, configured)
        assert service is not None
        sent = service.send(EmailRequest(
            workspace_id=workspace, profile_id=None, template=None, idempotency_key="k1",
            kind="transactional", address="a@example.com",
            content={"subject": "Hi", "preheader": "", "html": "<p>Hi</p>", "text": "Hi"}))  # fmt: skip
        service.transport.close()
        assert sent.status == "sent" and sink.logins == ["shop"]
        assert [m["Subject"] for m in sink.received] == ["Hi"]
    finally:
        sink.close()


def test_a_real_send_never_shows_the_samples_made_up_values(
    client: TestClient, shop: Shop, sink: SmtpSink
) -> None:
    """Templates are checked against a sample person, cart and order; a send renders only what
    its event and caller give — a mail about a product view must not show the sample's order."""
    template = {"name": "viewed", "subject": "Order {{ order.order_id | default: 'none' }}",
                "html": "<p>{% for p in products %}{{ p.name }};{% endfor %}"
                        "{{ cart.total | default: 'no cart' }}</p>"}  # fmt: skip
    assert client.post("/api/v1/templates", json=template, headers=auth(shop)).status_code == 201
    flow = {"name": "viewed_mail", "trigger": {"event": "Product Viewed"},
            "nodes": [{"id": "mail", "action": "send_email",
                       "with": {"template": "viewed", "transactional": True}}]}  # fmt: skip
    published = client.post("/api/v1/flows?environment=production", json=flow, headers=auth(shop))
    assert published.status_code == 201, published.text
    _send(client, shop, "identify", {"userId": "vera", "traits": {"email": "vera@example.com"}})
    _send(client, shop, "track", {"userId": "vera", "event": "Product Viewed",
                                  "properties": {"product_id": "p-9", "name": "Rain Jacket"}})  # fmt: skip
    [mail] = until(lambda: sink.received)
    assert mail["Subject"] == "Order none"
    html = mail.get_body(("html",)).get_content()  # type: ignore[union-attr]
    assert "Rain Jacket;" in html and "no cart" in html
    assert "S-1001" not in html and "Trail" not in html  # the sample's order and product


def _transactional(key: str, address: str) -> EmailRequest:
    return EmailRequest(
        workspace_id="", profile_id=None, template=None, idempotency_key=key,
        kind="transactional", address=address,
        content={"subject": "Hi", "preheader": "", "html": "<p>Hi</p>", "text": "Hi"},
    )  # fmt: skip


def test_only_a_refused_address_suppresses_it(settings: Settings, engine: Engine) -> None:
    """A wrong SMTP password or a refused sender is the shop's set-up: retried, never a bounce
    (it would suppress every customer); a message refused for its content bounces without
    suppressing the address; a refused mailbox is suppressed."""
    sink = SmtpSink(login=("shop", "right"))
    sink.refuse_content("spam@example.com", "554 5.7.1 Message looks like spam")
    sink.refuse("gone@example.com", "550 5.1.1 No such user")
    try:
        with write_transaction(engine) as conn:
            workspace = workspaces.ensure_workspace(conn)
        wrong = settings.model_copy(update={
            "smtp_url": SecretStr(f"smtp://shop:wrong@127.0.0.1:{sink.port}"),
            "email_from": "Shop <hi@shop.example>"})  # fmt: skip
        service = email_service(engine, wrong)
        assert service is not None
        request = dataclasses.replace(_transactional("k1", "a@example.com"), workspace_id=workspace)
        with pytest.raises(SendDeferred, match="refused the login"):
            service.send(request)
        service.transport.close()

        right = wrong.model_copy(update={
            "smtp_url": SecretStr(f"smtp://shop:right@127.0.0.1:{sink.port}")})  # fmt: skip
        service = email_service(engine, right)
        assert service is not None
        sent = [service.send(dataclasses.replace(_transactional(key, to), workspace_id=workspace))
                for key, to in (("k1", "a@example.com"), ("k2", "spam@example.com"),
                                ("k3", "gone@example.com"))]  # fmt: skip
        service.transport.close()
        assert [s.status for s in sent] == ["sent", "bounced", "bounced"]
        with engine.connect() as conn:
            suppressed = conn.execute(select(Suppression.reason, Suppression.detail)).all()
        assert [(s.reason, s.detail[:3]) for s in suppressed] == [("hard_bounce", "550")]
    finally:
        sink.close()


def test_a_dead_lettered_mail_says_so_and_its_replay_sends_it(
    client: TestClient, shop: Shop, sink: SmtpSink, engine: Engine
) -> None:
    """Out of retries (the server kept answering 4xx), the mail's row says it was
    dead-lettered instead of `will retry` for ever; the replay, once the server takes mail
    again, sends it on the same row."""
    saved = client.post("/api/v1/templates", json=TEMPLATE, headers=auth(shop))
    assert saved.status_code == 201, saved.text
    flow = {**FLOW, "nodes": [{**FLOW["nodes"][0], "retries": 0}]}  # type: ignore[index]
    published = client.post("/api/v1/flows?environment=production", json=flow, headers=auth(shop))
    assert published.status_code == 201, published.text
    sink.refuse("dora@example.com", "451 4.3.0 Try again later")
    _shopper(client, shop, "dora", "dora@example.com", "cart-1")
    [failed] = until(lambda: [m for m in _log(engine) if m.status == "failed"])
    assert failed.reason.startswith("dead-lettered: ") and "451" in failed.reason
    [letter] = client.get("/api/v1/dead-letters", headers=auth(shop)).json()["data"]
    sink.handler.refusals.clear()
    replayed = client.post(f"/api/v1/dead-letters/{letter['id']}/replay", headers=auth(shop))
    assert replayed.status_code == 200, replayed.text
    [mail] = until(lambda: sink.received)
    [sent] = until(lambda: [m for m in _log(engine) if m.status == "sent"])
    assert sent.id == failed.id and mail["Message-ID"] == sent.message_id
