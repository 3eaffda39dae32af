"""Web Push end to end: a browser subscribes through the write key, the push channel sends to a
push service on loopback (HTTPS), and the browser's keys decrypt what arrives; the VAPID
header verifies with the workspace's public key; 404/410 remove a subscription, 429 retries
only the devices not reached; no subscription, no consent, no key — each said plainly."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
from prometheus_client import REGISTRY
from py_vapid import jwt  # type: ignore[import-untyped]
from sqlalchemy import Engine
from starlette.testclient import TestClient

from nerve.channels.delivery import ChannelRequest, Delivery
from nerve.channels.push.channel import PushChannel, PushConfig
from nerve.channels.smtp import SendDeferred
from nerve.errors import NotFound
from nerve.outbound.policy import OutboundPolicy
from nerve.secrets.vault import Vault
from nerve.settings import Settings
from tests.factories import Shop
from tests.integration.channels.conftest import VAULT_KEY
from tests.integration.channels.push_services import (
    Browser,
    Certificates,
    PushService,
    certificates,
)
from tests.integration.channels.push_steps import (
    CONSENT_TEXT,
    logged,
    person,
    ready,
    subscribe,
    subscriptions,
    track,
)
from tests.waiting import auth, until

SUBJECT = "mailto:push@shop.example"


@pytest.fixture(scope="module")
def certs() -> Certificates:
    return certificates()


@pytest.fixture
def push_service(certs: Certificates) -> Iterator[PushService]:
    service = PushService(tls=certs.server)
    yield service
    service.close()


@pytest.fixture
def delivery(engine: Engine, settings: Settings, certs: Certificates) -> Iterator[Delivery]:
    channel = PushChannel(engine, Vault(VAULT_KEY), OutboundPolicy.configured(settings),
                          PushConfig(SUBJECT), verify=certs.client)  # fmt: skip
    delivery = Delivery(engine, channel)
    yield delivery
    delivery.close()


def _request(shop: Shop, profile_id: str, key: str = "step-1", **changes: Any) -> ChannelRequest:
    values: dict[str, Any] = {
        "workspace_id": shop.workspace_id, "channel": "push", "profile_id": profile_id,
        "idempotency_key": key, "kind": "marketing", "topic": "offers", "template": "cart_push",
        "context": {"event": {"properties": {"name": "Trail Runner 2"}}},
    }  # fmt: skip
    return ChannelRequest(**(values | changes))


def _browser(
    client: TestClient, shop: Shop, service: PushService, path: str, owner: dict[str, str]
) -> Browser:
    browser = Browser()
    body = {"subscription": browser.subscription(f"{service.url}{path}"), **owner,
            "topics": ["offers"], "consent_text": CONSENT_TEXT}  # fmt: skip
    subscribe(client, shop, body, headers={"User-Agent": "Firefox/140"})
    return browser


def _anna(client: TestClient, shop: Shop) -> str:
    track(client, shop, "identify", {"userId": "anna", "anonymousId": "anon-1",
                                     "traits": {"first_name": "Anna"}})  # fmt: skip
    return str(person(client, shop, "user_id:anna")["id"])


def test_a_push_decrypts_with_the_browsers_keys_and_its_vapid_header_verifies(
    client: TestClient, shop: Shop, engine: Engine, delivery: Delivery, push_service: PushService
) -> None:
    ready(client, shop, engine)
    # Subscribed before signing in: under the anonymous id, reached once identify links it.
    browser = _browser(client, shop, push_service, "/push/anna", {"anonymousId": "anon-1"})
    profile_id = _anna(client, shop)
    sent = delivery.send(_request(shop, profile_id))
    assert sent.status == "sent", sent
    [arrival] = push_service.arrivals
    assert arrival.path == "/push/anna"
    assert arrival.headers["Content-Encoding"] == "aes128gcm"
    assert arrival.headers["TTL"] == "86400" and arrival.headers["Urgency"] == "normal"
    assert browser.read(arrival.body) == {
        "title": "Anna, your cart", "body": "Trail Runner 2 are waiting",
        "url": "https://shop.example/cart", "icon": "https://shop.example/icon.png",
        "message_id": sent.message_id,
    }  # fmt: skip
    scheme, _, credentials = arrival.headers["Authorization"].partition(" ")
    parts = dict(part.split("=", 1) for part in credentials.split(","))
    published = client.get("/v1/push/vapid-public-key", auth=(shop.write_keys["web"], ""))
    assert scheme == "vapid" and parts["k"] == published.json()["public_key"]
    claims = jwt.decode(parts["t"], parts["k"])  # raises unless the signature verifies
    assert claims["aud"] == push_service.url and claims["sub"] == SUBJECT
    assert time.time() < claims["exp"] <= time.time() + 24 * 3600
    [row] = logged(engine)
    [subscription] = subscriptions(engine)
    assert (row.status, row.recipient, row.subject) == ("sent", "anonymous_id:anon-1",
                                                        "Anna, your cart")  # fmt: skip
    assert row.details["endpoints"] == [
        {"subscription": subscription.id, "kind": "webpush", "service": push_service.url,
         "status": 201, "outcome": "delivered"}
    ]  # fmt: skip
    assert subscription.last_sent_at is not None and subscription.user_agent == "Firefox/140"
    assert delivery.send(_request(shop, profile_id)).status == "sent"  # the same step: once
    assert len(push_service.arrivals) == 1


def test_the_push_consent_keeps_its_proof(client: TestClient, shop: Shop, engine: Engine) -> None:
    ready(client, shop, engine, key=False)
    registered = subscribe(client, shop, {
        "subscription": Browser().subscription("https://127.0.0.1:9/push/ben"),
        "userId": "ben", "topics": ["offers"], "consent_text": CONSENT_TEXT,
        "source_url": "https://shop.example/account",
    }, headers={"User-Agent": "Safari/18"})  # fmt: skip
    assert registered["identifier"] == "user_id:ben" and registered["topics"] == ["offers"]
    from nerve.consent import service as consent

    with engine.connect() as conn:
        [record] = consent.records(conn, shop.workspace_id, ["user_id:ben"])
    assert (record["channel"], record["topic"], record["status"]) == ("push", "offers",
                                                                      "subscribed")  # fmt: skip
    assert record["consent_text"] == CONSENT_TEXT and record["user_agent"] == "Safari/18"
    assert record["ip"] and record["source_url"] == "https://shop.example/account"
    assert record["signed_up_at"] is not None and record["via"] == "push_prompt"


def test_a_gone_subscription_is_removed_and_the_others_still_get_the_push(
    client: TestClient, shop: Shop, engine: Engine, delivery: Delivery, push_service: PushService
) -> None:
    ready(client, shop, engine)
    _browser(client, shop, push_service, "/push/laptop", {"userId": "anna"})
    phone = _browser(client, shop, push_service, "/push/phone", {"anonymousId": "anon-1"})
    push_service.answers["/push/laptop"] = [410]
    profile_id = _anna(client, shop)
    gone = {"kind": "webpush", "outcome": "gone"}
    before = REGISTRY.get_sample_value("nerve_push_answers_total", gone) or 0
    sent = delivery.send(_request(shop, profile_id))
    assert sent.status == "sent"
    assert REGISTRY.get_sample_value("nerve_push_answers_total", gone) == before + 1
    [left] = subscriptions(engine)
    assert left.endpoint.endswith("/push/phone")
    [row] = logged(engine)
    assert row.details["removed"] == 1
    outcomes = {line["status"]: line["outcome"] for line in row.details["endpoints"]}
    assert outcomes == {410: "gone", 201: "delivered"}
    [arrival] = [a for a in push_service.arrivals if a.path == "/push/phone"]
    assert phone.read(arrival.body)["title"] == "Anna, your cart"


def test_a_push_whose_only_subscription_is_gone_fails_then_the_next_is_skipped(
    client: TestClient, shop: Shop, engine: Engine, delivery: Delivery, push_service: PushService
) -> None:
    ready(client, shop, engine)
    _browser(client, shop, push_service, "/push/old", {"userId": "anna"})
    push_service.answers["/push/old"] = [404]
    profile_id = _anna(client, shop)
    failed = delivery.send(_request(shop, profile_id))
    assert failed.status == "failed" and "404" in (failed.reason or "")
    assert subscriptions(engine) == []
    assert logged(engine)[0].details["removed"] == 1
    skipped = delivery.send(_request(shop, profile_id, key="step-2"))
    assert (skipped.status, skipped.reason) == ("skipped", "no push subscription")


def test_a_429_retries_only_the_devices_not_reached(
    client: TestClient, shop: Shop, engine: Engine, delivery: Delivery, push_service: PushService
) -> None:
    ready(client, shop, engine)
    _browser(client, shop, push_service, "/push/busy", {"userId": "anna"})
    _browser(client, shop, push_service, "/push/fine", {"userId": "anna"})
    push_service.answers["/push/busy"] = [429, 503]
    profile_id = _anna(client, shop)
    for _ in range(2):
        with pytest.raises(SendDeferred, match=r"429|503"):
            delivery.send(_request(shop, profile_id))
    assert logged(engine)[0].status == "queued"
    assert delivery.send(_request(shop, profile_id)).status == "sent"
    paths = [a.path for a in push_service.arrivals]
    assert paths.count("/push/fine") == 1 and paths.count("/push/busy") == 3
    [row] = logged(engine)
    assert sorted(line["outcome"] for line in row.details["endpoints"]) == ["delivered"] * 2


def test_who_has_no_subscription_or_no_consent_is_skipped_with_the_reason(
    client: TestClient, shop: Shop, engine: Engine, delivery: Delivery, push_service: PushService
) -> None:
    ready(client, shop, engine)
    profile_id = _anna(client, shop)
    skipped = delivery.send(_request(shop, profile_id))
    assert (skipped.status, skipped.reason) == ("skipped", "no push subscription")
    browser = Browser()
    subscribe(client, shop, {"subscription": browser.subscription(f"{push_service.url}/p/a"),
                             "userId": "anna"})  # fmt: skip
    skipped = delivery.send(_request(shop, profile_id, key="step-2"))
    assert (skipped.status, skipped.reason) == ("skipped", "no consent to push offers "
                                                "(never given)")  # fmt: skip
    order = delivery.send(_request(shop, profile_id, key="step-3", kind="transactional",
                                   topic=None))  # fmt: skip
    assert order.status == "sent" and len(push_service.arrivals) == 1


def test_without_a_vapid_key_the_step_is_dead_lettered_saying_what_to_do(
    client: TestClient, shop: Shop, engine: Engine, delivery: Delivery, push_service: PushService
) -> None:
    ready(client, shop, engine, key=False)
    _browser(client, shop, push_service, "/push/anna", {"userId": "anna"})
    profile_id = _anna(client, shop)
    with pytest.raises(NotFound, match="nerve push vapid"):
        delivery.send(_request(shop, profile_id))
    missing = client.get("/v1/push/vapid-public-key", auth=(shop.write_keys["web"], ""))
    assert missing.status_code == 404 and "nerve push vapid" in missing.json()["error"]["message"]
    assert push_service.arrivals == [] and logged(engine) == []
    assert client.get("/v1/push/vapid-public-key", headers=auth(shop)).status_code == 401


def test_a_visitors_subscription_reaches_them_once_their_profiles_merge(
    client: TestClient, shop: Shop, engine: Engine, delivery: Delivery, push_service: PushService
) -> None:
    ready(client, shop, engine)
    # A visitor subscribes on the shop's site, anonymous: a profile of its own.
    track(client, shop, "page", {"anonymousId": "anon-9", "name": "Home"})
    browser = _browser(client, shop, push_service, "/push/visitor", {"anonymousId": "anon-9"})
    visitor = person(client, shop, "anonymous_id:anon-9")["id"]
    # Anna, known from the app by her user id.
    track(client, shop, "identify", {"userId": "anna", "traits": {"first_name": "Anna"}})
    anna = person(client, shop, "user_id:anna")["id"]
    assert visitor != anna
    skipped = delivery.send(_request(shop, anna, key="before"))
    assert (skipped.status, skipped.reason) == ("skipped", "no push subscription")
    # She signs in on that browser: the two profiles are one person now.
    track(client, shop, "identify", {"userId": "anna", "anonymousId": "anon-9"})
    until(lambda: person(client, shop, "anonymous_id:anon-9")["id"]
          == person(client, shop, "user_id:anna")["id"])  # fmt: skip
    merged = person(client, shop, "user_id:anna")
    for profile_id in {anna, visitor}:  # whichever profile a run holds
        sent = delivery.send(_request(shop, profile_id, key=f"after-{profile_id}"))
        assert sent.status == "sent", sent
    assert [browser.read(a.body)["title"] for a in push_service.arrivals] == [
        "Anna, your cart", "Anna, your cart"
    ]  # fmt: skip
    assert {i["type"] for i in merged["identifiers"]} >= {"anonymous_id", "user_id"}
