"""Shop webhooks are verified against the raw body with each platform's HMAC, stored once per
delivery, and what cannot be mapped is kept in the connector dead-letter list with its reason
and replayed later — a wrong signature stores nothing."""

from __future__ import annotations

import json
from typing import Any

import pytest
from sqlalchemy import Engine, func, select
from starlette.testclient import TestClient

from nerve.connectors import mapping
from nerve.connectors.mapping import shopify
from nerve.connectors.models import ConnectorDelivery
from nerve.events.models import Event
from tests.factories import Shop
from tests.integration.connectors.conftest import SECRETS, post, shopify_headers
from tests.waiting import auth

# Shaped like Shopify's documented customers/create example.
CUSTOMER = {
    "id": 706405506930370084, "email": "Bob@Biller.example", "created_at": "2026-03-01T12:00:00-05:00",
    "updated_at": "2026-03-01T12:00:00-05:00", "first_name": "Bob", "last_name": "Biller",
    "state": "enabled", "note": "This customer loves ice cream", "verified_email": True,
    "multipass_identifier": None, "tax_exempt": False, "tags": "", "currency": "USD",
    "phone": "+16136120707", "addresses": [], "admin_graphql_api_id":
    "gid://shopify/Customer/706405506930370084", "default_address": None,
}  # fmt: skip


def _deliveries(engine: Engine) -> list[Any]:
    with engine.connect() as conn:
        return list(conn.execute(select(ConnectorDelivery).order_by(ConnectorDelivery.id)))


def _events(engine: Engine) -> list[dict[str, Any]]:
    with engine.connect() as conn:
        return [row.payload for row in conn.execute(select(Event).order_by(Event.id))]


def test_a_signed_shopify_customer_becomes_an_identify_from_the_connectors_source(
    client: TestClient, urls: dict[str, str], engine: Engine
) -> None:
    answer = post(
        client,
        urls["shopify"],
        "shopify",
        CUSTOMER,
        shopify_headers("customers/create", "b54557e4-bdd9-4b37-8a5f-bf7d70bcd043"),
    )
    assert answer.status_code == 200, answer.text
    assert answer.json()["outcome"] == "applied"
    [event] = _events(engine)
    assert event["type"] == "identify"
    assert event["anonymousId"] == "shopify-main:customer:706405506930370084"
    assert event["traits"] == {
        "email": "bob@biller.example",
        "phone": "+16136120707",
        "first_name": "Bob",
        "last_name": "Biller",
        "name": "Bob Biller",
    }
    [delivery] = _deliveries(engine)
    assert delivery.status == "applied" and delivery.body is None  # nothing personal kept


def test_a_wrong_or_missing_signature_is_refused_and_stores_nothing(
    client: TestClient, urls: dict[str, str], engine: Engine
) -> None:
    headers = shopify_headers("customers/create", "wrong-1")
    wrong = post(client, urls["shopify"], "shopify", CUSTOMER, headers, secret="not-the-secret")
    assert wrong.status_code == 401
    assert wrong.json()["error"]["code"] == "unauthorized"
    raw = json.dumps(CUSTOMER).encode()
    missing = client.post(urls["shopify"], content=raw, headers=headers)
    assert missing.status_code == 401
    # Signed, then changed on the way: the signature covers the raw bytes.
    signed = post(client, urls["shopify"], "shopify", CUSTOMER, headers)
    assert signed.status_code == 200
    tampered_body = raw.replace(b"Bob", b"Eve")
    tampered = client.post(
        urls["shopify"],
        content=tampered_body,
        headers={
            **headers,
            "X-Shopify-Webhook-Id": "wrong-2",
            "X-Shopify-Hmac-Sha256": signed.request.headers["X-Shopify-Hmac-Sha256"],
        },
    )
    assert tampered.status_code == 401
    # Another platform's secret does not sign for this connector either.
    other = post(
        client,
        urls["shopify"],
        "shopify",
        CUSTOMER,
        {**headers, "X-Shopify-Webhook-Id": "wrong-3"},
        secret=SECRETS["woocommerce"],
    )
    assert other.status_code == 401
    assert len(_deliveries(engine)) == 1 and len(_events(engine)) == 1


def test_a_replayed_delivery_is_stored_and_applied_once(
    client: TestClient, urls: dict[str, str], engine: Engine
) -> None:
    headers = shopify_headers("customers/create", "0f7f1b6b-retried")
    outcomes = [post(client, urls["shopify"], "shopify", CUSTOMER, headers).json()["outcome"]
                for _ in range(3)]  # fmt: skip
    assert outcomes == ["applied", "duplicate", "duplicate"]
    [delivery] = _deliveries(engine)
    assert delivery.attempts == 3
    assert len(_events(engine)) == 1


def test_the_woocommerce_ping_is_answered_and_stores_nothing(
    client: TestClient, urls: dict[str, str], engine: Engine
) -> None:
    answer = client.post(
        urls["woocommerce"],
        content=b"webhook_id=17",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert answer.status_code == 200, answer.text
    assert answer.json() == {"success": True, "outcome": "ping", "delivery_id": None}
    assert _deliveries(engine) == [] and _events(engine) == []
    # Anything else unsigned is refused.
    other = client.post(
        urls["woocommerce"],
        content=b"webhook_id=17&x=1",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert other.status_code == 401


def test_a_woocommerce_customer_signed_with_its_secret(
    client: TestClient, urls: dict[str, str], engine: Engine
) -> None:
    customer = {"id": 25, "date_created_gmt": "2026-03-01T16:00:00", "email": "john.doe@example.com",
                "first_name": "John", "last_name": "Doe", "role": "customer",
                "billing": {"first_name": "John", "last_name": "Doe", "phone": "(555) 555-5555",
                            "email": "john.doe@example.com", "country": "US"}}  # fmt: skip
    headers = {"X-WC-Webhook-Topic": "customer.created", "X-WC-Webhook-Resource": "customer",
               "X-WC-Webhook-Event": "created", "X-WC-Webhook-ID": "3",
               "X-WC-Webhook-Delivery-ID": "36e520ebabc2fa725092ff4a47acedf2",
               "X-WC-Webhook-Source": "https://shop.example/"}  # fmt: skip
    assert (
        post(client, urls["woocommerce"], "woocommerce", customer, headers).json()["outcome"]
        == "applied"
    )
    assert post(client, urls["woocommerce"], "woocommerce", customer, headers,
                secret="guess").status_code == 401  # fmt: skip
    [event] = _events(engine)
    assert event["anonymousId"] == "woocommerce-main:customer:25"
    assert event["traits"]["email"] == "john.doe@example.com"


def test_a_shopware_webhook_signed_in_hex(
    client: TestClient, urls: dict[str, str], engine: Engine
) -> None:
    body = {"data": {"event": "checkout.customer.register", "payload": {"customer": {
                "id": "0189a4b1c2d34e5f8a9b0c1d2e3f4a5b", "customerNumber": "10042",
                "email": "maria@example.de", "firstName": "Maria", "lastName": "Muster",
                "createdAt": "2026-03-01T15:00:00.000+00:00"}}},
            "source": {"url": "https://shopware.example", "appVersion": "1.0.0",
                       "shopId": "dgrH7nLU6tlE", "eventId": "8c0b3f0e6e0b4d6f"},
            "timestamp": 1772377200}  # fmt: skip
    first = post(client, urls["shopware"], "shopware", body, {})
    assert first.status_code == 200 and first.json()["outcome"] == "applied", first.text
    again = post(client, urls["shopware"], "shopware", body, {})
    assert again.json()["outcome"] == "duplicate"
    wrong = post(client, urls["shopware"], "shopware", body, {}, secret=SECRETS["shopify"])
    assert wrong.status_code == 401
    [event] = _events(engine)
    assert event["traits"]["email"] == "maria@example.de"


def test_an_unmappable_delivery_is_dead_lettered_then_replayed_after_the_fix(
    client: TestClient, urls: dict[str, str], shop: Shop, engine: Engine,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    broken = dict(CUSTOMER, created_at="yesterday")
    answer = post(
        client, urls["shopify"], "shopify", broken, shopify_headers("customers/create", "dead-1")
    )
    assert answer.status_code == 200 and answer.json()["outcome"] == "dead_lettered"
    unknown = post(
        client, urls["shopify"], "shopify", CUSTOMER, shopify_headers("customers/enable", "dead-2")
    )
    assert unknown.json()["outcome"] == "dead_lettered"
    letters = client.get("/api/v1/connectors/dead-letters", headers=auth(shop)).json()["data"]
    assert [(d["topic"], d["reason"]) for d in letters] == [
        ("customers/create", "created_at is not an ISO 8601 time: 'yesterday'"),
        ("customers/enable", "no mapping for the shopify topic 'customers/enable'"),
    ]
    assert json.loads(letters[0]["body"])["email"] == "Bob@Biller.example"
    assert _events(engine) == []  # nothing half-applied

    still = client.post(f"/api/v1/connectors/dead-letters/{letters[1]['id']}/replay",
                        headers=auth(shop))  # fmt: skip
    assert still.json()["outcome"] == "dead_lettered"
    # The mapping fix: customers/enable (an invited customer activating the account) maps
    # as a customer does.
    monkeypatch.setitem(mapping.TOPICS["shopify"], "customers/enable",
                        shopify.customers_create)  # fmt: skip
    fixed = client.post(f"/api/v1/connectors/dead-letters/{letters[1]['id']}/replay",
                        headers=auth(shop))  # fmt: skip
    assert fixed.json() == {"delivery_id": letters[1]["id"], "outcome": "applied", "reason": None}
    assert [e["traits"]["email"] for e in _events(engine)] == ["bob@biller.example"]
    again = client.post(f"/api/v1/connectors/dead-letters/{letters[1]['id']}/replay",
                        headers=auth(shop))  # fmt: skip
    assert again.status_code == 409
    assert again.json()["error"]["code"] == "conflict"
    missing = client.post("/api/v1/connectors/dead-letters/999999/replay", headers=auth(shop))
    assert missing.status_code == 404
    remaining = client.get("/api/v1/connectors/dead-letters", headers=auth(shop)).json()["data"]
    assert [d["topic"] for d in remaining] == ["customers/create"]
    with engine.connect() as conn:
        assert conn.scalar(select(func.count()).select_from(ConnectorDelivery)) == 2
