"""A flow sends SMS to a Twilio-shaped provider on loopback (a real HTTP server): Twilio's
request format and Basic auth, the provider's `sid` and the segments in the log; a marketing
SMS needs an opt-in recorded with its proof; a STOP reply (signed as Twilio signs) withdraws
every SMS consent of the number and the next marketing SMS is skipped while an order message
still goes; bad input is skipped or dead-lettered with its reason, and nothing else is lost."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from typing import Any

import pytest
from pydantic import SecretStr
from sqlalchemy import Engine, select
from starlette.testclient import TestClient
from typer.testing import CliRunner

from nerve.app import create_app
from nerve.channels.models import Message, Suppression
from nerve.channels.sms.inbound import signature
from nerve.cli import app
from nerve.settings import Settings, get_settings
from tests.factories import Shop
from tests.integration.channels.conftest import VAULT_KEY
from tests.integration.channels.twilio_receiver import ACCOUNT, SENDER, TOKEN, TwilioReceiver
from tests.waiting import auth, until

ANNA = "+4915123456789"
TEMPLATES = [
    {"name": "cart_sms", "channel": "sms",
     "text": "Hi {{ person.traits.first_name }}, your {{ event.properties.name }} is waiting"},
    {"name": "shipped_sms", "channel": "sms",
     "text": "Order {{ event.properties.order_id | default: 'S-0' }} is on its way 📦"},
]  # fmt: skip
FLOWS = [
    {"name": "cart_sms", "trigger": {"event": "Product Added", "key": "properties.cart_id"},
     "nodes": [{"id": "remind", "action": "send_sms", "retries": 2,
                "with": {"template": "cart_sms", "topic": "cart-alerts"}}]},
    {"name": "shipped_sms", "trigger": {"event": "Order Shipped", "key": "properties.order_id"},
     "nodes": [{"id": "tell", "action": "send_sms", "retries": 0,
                "with": {"template": "shipped_sms", "transactional": True}}]},
]  # fmt: skip


@pytest.fixture
def provider() -> Iterator[TwilioReceiver]:
    receiver = TwilioReceiver()
    yield receiver
    receiver.close()


@pytest.fixture
def client(settings: Settings, provider: TwilioReceiver) -> Iterator[TestClient]:
    texting = settings.model_copy(
        update={"sms_url": provider.url, "sms_account_sid": ACCOUNT, "sms_from": SENDER,
                "secret_key": SecretStr(VAULT_KEY)}
    )  # fmt: skip
    with TestClient(create_app(texting)) as client:
        yield client


def _ok(response: Any, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json()


def _ready(client: TestClient, shop: Shop, token: bool = True) -> None:
    if token:
        _ok(client.put("/api/v1/secrets/sms.auth_token", json={"value": TOKEN},
                       headers=auth(shop)))  # fmt: skip
    _ok(client.put("/api/v1/consent/topics/sms/cart-alerts", json={"title": "Cart reminders"},
                   headers=auth(shop)), 201)  # fmt: skip
    for template in TEMPLATES:
        _ok(client.post("/api/v1/templates", json=template, headers=auth(shop)), 201)
    for flow in FLOWS:
        _ok(client.post("/api/v1/flows?environment=production", json=flow, headers=auth(shop)),
            201)  # fmt: skip


def _opt_in(client: TestClient, shop: Shop, phone: str) -> Any:
    given = {"phone": phone, "topic": "cart-alerts", "double_opt_in": False,
             "consent_text": "Text me about my cart (msg & data rates may apply, STOP to end)",
             "text_version": "sms-v2", "source_url": "https://shop.example/checkout",
             "ip": "203.0.113.9", "user_agent": "Mozilla/5.0 (iPhone)"}  # fmt: skip
    return _ok(client.post("/api/v1/consent", json=given, headers=auth(shop)), 201)


def _event(client: TestClient, shop: Shop, path: str, message: dict[str, Any]) -> None:
    _ok(client.post(f"/v1/{path}", json=message, auth=(shop.write_keys["web"], "")))


def _person(client: TestClient, shop: Shop, user: str, phone: Any) -> None:
    traits = {"first_name": "Anna"} | ({"phone": phone} if phone is not None else {})
    _event(client, shop, "identify", {"userId": user, "traits": traits})


def _cart(client: TestClient, shop: Shop, user: str, cart: str) -> None:
    _event(client, shop, "track", {"userId": user, "event": "Product Added",
                                   "properties": {"cart_id": cart, "name": "Trail Runner 2"}})  # fmt: skip


def _log(engine: Engine, status: str | None = None) -> list[Any]:
    with engine.connect() as conn:
        rows = conn.execute(select(Message).order_by(Message.created_at)).all()
    return [row for row in rows if status is None or row.status == status]


def _reply(client: TestClient, shop: Shop, body: str, token: str = TOKEN) -> Any:
    path = f"/v1/sms/inbound/{shop.write_keys['web']}"
    form = {"From": ANNA, "To": SENDER, "Body": body, "MessageSid": "SM" + "1" * 32,
            "AccountSid": ACCOUNT}  # fmt: skip
    signed = signature(token, f"http://testserver{path}", form.items())
    return client.post(path, data=form, headers={"X-Twilio-Signature": signed})


def test_a_flow_sends_an_sms_in_twilios_request_format(
    client: TestClient, shop: Shop, provider: TwilioReceiver, engine: Engine
) -> None:
    _ready(client, shop)
    consent = _opt_in(client, shop, "+49 1512 3456789")
    assert (consent["channel"], consent["address"], consent["status"]) == ("sms", ANNA,
                                                                           "subscribed")  # fmt: skip
    _person(client, shop, "anna", "01512 3456789")  # national: the workspace's region, DE
    _cart(client, shop, "anna", "cart-1")
    [request] = until(lambda: provider.sent)
    assert request.path == f"/2010-04-01/Accounts/{ACCOUNT}/Messages.json"
    assert request.headers["Content-Type"] == "application/x-www-form-urlencoded"
    basic = base64.b64encode(f"{ACCOUNT}:{TOKEN}".encode()).decode()
    assert request.headers["Authorization"] == f"Basic {basic}"
    assert request.form == {"To": ANNA, "From": SENDER,
                            "Body": "Hi Anna, your Trail Runner 2 is waiting"}  # fmt: skip
    assert request.headers["Idempotency-Key"]  # the step's key: the same on every attempt
    [sent] = until(lambda: _log(engine, "sent"))
    assert (sent.channel, sent.recipient, sent.topic, sent.kind) == ("sms", ANNA, "cart-alerts",
                                                                     "marketing")  # fmt: skip
    assert sent.details == {"sid": "SM" + "0" * 32, "provider_status": "queued", "segments": 1,
                            "encoding": "GSM-7", "characters": 39}  # fmt: skip
    proof = _ok(client.get("/api/v1/consent", params={"phone": ANNA}, headers=auth(shop)))
    [record] = proof["data"]
    assert (record["text_version"], record["ip"], record["via"]) == ("sms-v2", "203.0.113.9",
                                                                     "api")  # fmt: skip


def test_a_stop_reply_unsubscribes_the_number_at_once(
    client: TestClient, shop: Shop, provider: TwilioReceiver, engine: Engine
) -> None:
    _ready(client, shop)
    _opt_in(client, shop, ANNA)
    _person(client, shop, "anna", ANNA)
    _cart(client, shop, "anna", "cart-1")
    until(lambda: provider.sent)

    stopped = _reply(client, shop, " Stop ")
    assert stopped.status_code == 200 and stopped.headers["content-type"].startswith("text/xml")
    assert stopped.text == '<?xml version="1.0" encoding="UTF-8"?><Response></Response>'
    [record] = _ok(client.get("/api/v1/consent", params={"phone": ANNA}, headers=auth(shop)))[
        "data"
    ]
    assert record["status"] == "unsubscribed" and record["withdrawn_via"] == "sms_stop"
    assert record["withdrawn_at"] is not None and record["consent_text"]  # the proof stays
    anna = _ok(client.get("/api/v1/profiles", params={"identifier": f"phone:{ANNA}"},
                          headers=auth(shop)))  # fmt: skip
    timeline = f"/api/v1/profiles/{anna['id']}/timeline"
    [stop] = until(lambda: [e for e in _ok(client.get(timeline, headers=auth(shop)))["data"]
                            if e.get("event") == "SMS Unsubscribed"])  # fmt: skip
    assert stop["properties"]["topics"] == ["cart-alerts"]

    _cart(client, shop, "anna", "cart-2")
    _event(client, shop, "track", {"userId": "anna", "event": "Order Shipped",
                                   "properties": {"order_id": "S-77"}})  # fmt: skip
    [skipped] = until(lambda: _log(engine, "skipped"))
    assert skipped.reason == "the address is suppressed (unsubscribed)"
    until(lambda: len(provider.sent) == 2)
    assert provider.sent[1].form["Body"] == "Order S-77 is on its way 📦"  # an order's news goes
    [shipped] = until(lambda: [m for m in _log(engine, "sent") if m.kind == "transactional"])
    assert (shipped.details["encoding"], shipped.details["segments"]) == ("UCS-2", 1)

    # START lifts the STOP, but the opt-in it withdrew stays withdrawn: a new one is needed.
    assert _reply(client, shop, "start").status_code == 200
    _cart(client, shop, "anna", "cart-3")
    until(lambda: len(_log(engine, "skipped")) == 2)
    assert _log(engine, "skipped")[1].reason == "no consent to sms cart-alerts (unsubscribed)"
    _opt_in(client, shop, ANNA)
    _cart(client, shop, "anna", "cart-4")
    until(lambda: len(provider.sent) == 3)


def test_a_marketing_sms_without_opt_in_is_skipped_with_its_reason(
    client: TestClient, shop: Shop, provider: TwilioReceiver, engine: Engine
) -> None:
    _ready(client, shop)
    _person(client, shop, "ben", "+4915223456789")
    _cart(client, shop, "ben", "cart-1")
    [skipped] = until(lambda: _log(engine, "skipped"))
    assert skipped.reason == "no consent to sms cart-alerts (never given)"
    assert skipped.recipient == "+4915223456789" and provider.requests == []


def test_bad_numbers_are_skipped_with_their_reason(
    client: TestClient, shop: Shop, provider: TwilioReceiver, engine: Engine
) -> None:
    _ready(client, shop)
    _person(client, shop, "carl", "12ab")
    _person(client, shop, "dora", None)
    _cart(client, shop, "carl", "cart-1")
    _cart(client, shop, "dora", "cart-2")
    until(lambda: len(_log(engine, "skipped")) == 2)
    reasons = sorted(m.reason for m in _log(engine, "skipped"))
    assert reasons == ["the person has no phone number",
                       "the person's phone number is not a valid number"]  # fmt: skip
    # The provider says a number cannot get SMS: this message fails and the number is
    # suppressed, so the next one is not even tried.
    provider.invalid.add(ANNA)
    _opt_in(client, shop, ANNA)
    _person(client, shop, "anna", ANNA)
    _cart(client, shop, "anna", "cart-3")
    [failed] = until(lambda: _log(engine, "failed"))
    assert "400, error 21211" in failed.reason
    with engine.connect() as conn:
        [suppressed] = conn.execute(select(Suppression).where(Suppression.channel == "sms")).all()
    assert suppressed.reason == "hard_bounce" and ANNA not in suppressed.address_hash
    _cart(client, shop, "anna", "cart-4")
    until(lambda: len(_log(engine, "skipped")) == 3)
    assert _log(engine, "skipped")[2].reason == "the address is suppressed (hard_bounce)"
    assert len(provider.requests) == 1


def test_a_missing_auth_token_dead_letters_the_step_and_replays_once_set(
    client: TestClient, shop: Shop, provider: TwilioReceiver, engine: Engine
) -> None:
    _ready(client, shop, token=False)
    _opt_in(client, shop, ANNA)
    _person(client, shop, "anna", ANNA)
    _cart(client, shop, "anna", "cart-1")
    [letter] = until(lambda: _ok(client.get("/api/v1/dead-letters", headers=auth(shop)))["data"])
    assert "set the secret sms.auth_token" in str(letter["error"])
    assert provider.requests == [] and _log(engine) == []  # nothing sent, nothing half-logged
    unverifiable = _reply(client, shop, "STOP")  # no token: no signature can be checked
    assert unverifiable.status_code == 403 and "sms.auth_token" in unverifiable.text
    _ok(client.put("/api/v1/secrets/sms.auth_token", json={"value": TOKEN}, headers=auth(shop)))
    _ok(client.post(f"/api/v1/dead-letters/{letter['id']}/replay", headers=auth(shop)))
    [request] = until(lambda: provider.sent)
    assert request.form["To"] == ANNA and until(lambda: _log(engine, "sent"))


def test_a_busy_provider_is_retried_and_a_long_message_refused(
    client: TestClient, shop: Shop, provider: TwilioReceiver, engine: Engine
) -> None:
    _ready(client, shop)
    _opt_in(client, shop, ANNA)
    provider.answers = [429]
    _person(client, shop, "anna", ANNA)
    _cart(client, shop, "anna", "cart-1")
    until(lambda: provider.sent, seconds=30)
    assert [r.form["To"] for r in provider.requests] == [ANNA, ANNA]
    assert (
        provider.requests[0].headers["Idempotency-Key"]
        == provider.sent[0].headers["Idempotency-Key"]
    )
    [sent] = until(lambda: _log(engine, "sent"))
    assert sent.details["sid"] and len(_log(engine)) == 1  # one message, two attempts

    long = {"name": "cart_sms", "channel": "sms", "text": "{{ event.properties.name }} " * 45}
    _ok(client.post("/api/v1/templates", json=long, headers=auth(shop)), 201)
    _cart(client, shop, "anna", "cart-2")
    [failed] = until(lambda: _log(engine, "failed"))
    assert failed.reason.startswith("the message is 5 segments (GSM-7, 674 characters); at most 4")
    assert len(provider.requests) == 2


def test_a_tampered_reply_is_refused_in_the_error_shape(
    client: TestClient, shop: Shop, provider: TwilioReceiver
) -> None:
    _ready(client, shop)
    _opt_in(client, shop, ANNA)
    forged = _reply(client, shop, "STOP", token="not-the-token")
    assert forged.status_code == 403
    assert forged.json()["error"]["code"] == "forbidden"
    assert "X-Twilio-Signature" in forged.json()["error"]["message"]
    [record] = _ok(client.get("/api/v1/consent", params={"phone": ANNA}, headers=auth(shop)))[
        "data"
    ]
    assert record["status"] == "subscribed"  # nothing changed
    unknown = client.post("/v1/sms/inbound/nope", data={"From": ANNA, "Body": "STOP"})
    assert unknown.status_code == 404 and unknown.json()["error"]["code"] == "not_found"
    as_json = client.post(f"/v1/sms/inbound/{shop.write_keys['web']}", json={"Body": "STOP"})
    assert as_json.status_code == 415


def test_sms_opt_ins_are_checked(client: TestClient, shop: Shop) -> None:
    _ready(client, shop)
    base = {"topic": "cart-alerts", "consent_text": "yes", "double_opt_in": False}
    for body, needle in (
        ({**base, "phone": "12ab"}, "not a valid phone number"),
        ({**base, "phone": ANNA, "double_opt_in": True}, "double_opt_in false"),
        ({**base, "phone": ANNA, "topic": "newsletter"}, "no sms topic named 'newsletter'"),
        ({**base, "phone": ANNA, "email": "anna@example.com"}, "one"),
        (base, "one"),
    ):
        refused = client.post("/api/v1/consent", json=body, headers=auth(shop))
        assert refused.status_code == 400, refused.text
        assert needle in refused.text
    both = client.get("/api/v1/consent", params={"phone": ANNA, "email": "a@example.com"},
                      headers=auth(shop))  # fmt: skip
    assert both.status_code == 400


def test_staging_records_what_would_go_without_a_provider_or_token(
    settings: Settings, shop: Shop, engine: Engine, tmp_path: Any
) -> None:
    path = tmp_path / "sms.jsonl"
    staging = settings.model_copy(
        update={"sms_url": f"recording:{path}", "sms_from": SENDER,
                "secret_key": SecretStr(VAULT_KEY)}
    )  # fmt: skip
    with TestClient(create_app(staging)) as client:
        _ready(client, shop, token=False)
        _opt_in(client, shop, ANNA)
        _person(client, shop, "anna", ANNA)
        _cart(client, shop, "anna", "cart-1")
        [sent] = until(lambda: _log(engine, "sent"))
    [line] = path.read_text(encoding="utf-8").splitlines()
    recorded = json.loads(line)
    assert (recorded["to"], recorded["from"]) == (ANNA, SENDER)
    assert recorded["body"] == "Hi Anna, your Trail Runner 2 is waiting"
    assert sent.details["sid"] == recorded["sid"] and sent.details["provider_status"] == "recorded"


def test_the_cli_gives_the_replies_url_and_replays_the_sends_the_provider_failed(
    client: TestClient, shop: Shop, provider: TwilioReceiver, database_url: str
) -> None:
    env = {"NERVE_DATABASE_URL": database_url, "NERVE_API_KEY": "", "NERVE_SECRET_KEY": VAULT_KEY,
           "NERVE_PUBLIC_URL": "https://nerve.shop.example"}  # fmt: skip

    def nerve(*args: str) -> Any:
        get_settings.cache_clear()  # the settings are read once per process
        try:
            result = CliRunner().invoke(app, [*args, "--workspace", "shop", "--json"], env=env)
        finally:
            get_settings.cache_clear()
        assert result.exit_code == 0, result.stdout
        return json.loads(result.stdout)

    url = nerve("sms", "inbound-url", "web")["url"]
    assert url == f"https://nerve.shop.example/v1/sms/inbound/{shop.write_keys['web']}"
    _ready(client, shop, token=False)
    _opt_in(client, shop, ANNA)
    _person(client, shop, "anna", ANNA)
    _cart(client, shop, "anna", "cart-1")
    [letter] = until(lambda: _ok(client.get("/api/v1/dead-letters", headers=auth(shop)))["data"])
    _ok(client.put("/api/v1/secrets/sms.auth_token", json={"value": TOKEN}, headers=auth(shop)))
    assert nerve("sms", "replay") == {"replayed": [letter["id"]]}
    [request] = until(lambda: provider.sent)
    assert request.form["To"] == ANNA
    assert nerve("sms", "replay") == {"replayed": []}  # nothing left to replay
