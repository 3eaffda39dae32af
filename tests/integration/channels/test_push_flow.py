"""`send_push` in a flow, through the registry's push channel: an app's FCM token (registered
before sign-in) gets the FCM HTTP v1 message at an FCM-shaped receiver on loopback; a token FCM
calls UNREGISTERED is removed; a person without subscriptions is skipped with the reason; an
erase takes the subscriptions and their consents along."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import orjson
import pytest
from sqlalchemy import Engine
from starlette.testclient import TestClient

from nerve.channels.push import fcm
from nerve.consent import service as consent
from nerve.db.engine import write_transaction
from nerve.secrets import service as secrets
from nerve.secrets.vault import Vault
from nerve.settings import Settings
from tests.conftest import LOOPBACK_RECEIVERS
from tests.factories import Shop
from tests.integration.channels.conftest import VAULT_KEY
from tests.integration.channels.push_services import PushService
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

TOKEN = "fcm-token:APA91bH" + "x" * 140
FLOW = {
    "name": "cart_push",
    "trigger": {"event": "Product Added", "key": "properties.cart_id"},
    "nodes": [{"id": "nudge", "action": "send_push",
               "with": {"template": "cart_push", "topic": "offers", "urgency": "high"}}],
}  # fmt: skip
UNREGISTERED = {"error": {"code": 404, "message": "Requested entity was not found.",
                          "status": "NOT_FOUND",
                          "details": [{"@type": "type.googleapis.com/google.firebase.fcm.v1"
                                       ".FcmError", "errorCode": "UNREGISTERED"}]}}  # fmt: skip


@pytest.fixture
def receiver() -> Iterator[PushService]:
    service = PushService()
    service.respond = lambda _: (200, b'{"name": "projects/shop-app/messages/0:1"}')
    yield service
    service.close()


@pytest.fixture
def settings(database_url: str, receiver: PushService) -> Settings:
    return Settings(
        database_url=database_url, auto_migrate=False, outbound_allow=[LOOPBACK_RECEIVERS],
        push_fcm_project="shop-app", push_fcm_url=receiver.url,
        _env_file=None,  # type: ignore[call-arg]
    )  # fmt: skip


def _ready(client: TestClient, shop: Shop, engine: Engine) -> None:
    ready(client, shop, engine)
    with write_transaction(engine) as conn:
        secrets.put(conn, Vault(VAULT_KEY), shop.workspace_id, fcm.SECRET, "ya29.test-token",
                    actor="test")  # fmt: skip
    published = client.post("/api/v1/flows?environment=production", json=FLOW, headers=auth(shop))
    assert published.status_code == 201, published.text


def _app_user(client: TestClient, shop: Shop, topics: list[str]) -> None:
    """The app registers its token before sign-in, then the person signs in."""
    subscribe(client, shop, {"kind": "fcm", "token": TOKEN, "anonymousId": "device-7",
                             "topics": topics, "consent_text": CONSENT_TEXT})  # fmt: skip
    track(client, shop, "identify", {"userId": "cleo", "anonymousId": "device-7",
                                     "traits": {"first_name": "Cleo"}})  # fmt: skip


def _cart(client: TestClient, shop: Shop, user: str, cart: str) -> None:
    track(client, shop, "track", {"userId": user, "event": "Product Added",
                                  "properties": {"cart_id": cart, "name": "Trail Runner 2"}})  # fmt: skip


def _finished(engine: Engine) -> list[Any]:
    return [m for m in logged(engine) if m.status not in ("queued", "deferred")]


def test_a_flow_pushes_to_an_app_through_fcm_http_v1(
    client: TestClient, shop: Shop, engine: Engine, receiver: PushService
) -> None:
    _ready(client, shop, engine)
    _app_user(client, shop, ["offers"])
    person(client, shop, "user_id:cleo")
    _cart(client, shop, "cleo", "cart-1")
    [row] = until(lambda: _finished(engine))
    assert row.status == "sent", row.reason
    [arrival] = receiver.arrivals
    assert arrival.path == "/v1/projects/shop-app/messages:send"
    assert arrival.headers["Authorization"] == "Bearer ya29.test-token"
    message = orjson.loads(arrival.body)["message"]
    assert message["token"] == TOKEN
    assert message["notification"] == {"title": "Cleo, your cart",
                                       "body": "Trail Runner 2 are waiting"}  # fmt: skip
    assert message["data"] == {"url": "https://shop.example/cart",
                               "icon": "https://shop.example/icon.png",
                               "message_id": row.message_id}  # fmt: skip
    assert message["android"] == {"ttl": "86400s", "priority": "high"}
    [line] = row.details["endpoints"]
    assert (line["kind"], line["status"], line["outcome"]) == ("fcm", 200, "delivered")


def test_a_token_fcm_calls_unregistered_is_removed(
    client: TestClient, shop: Shop, engine: Engine, receiver: PushService
) -> None:
    receiver.respond = lambda _: (404, orjson.dumps(UNREGISTERED))
    _ready(client, shop, engine)
    _app_user(client, shop, ["offers"])
    person(client, shop, "user_id:cleo")
    _cart(client, shop, "cleo", "cart-1")
    [row] = until(lambda: _finished(engine))
    assert row.status == "failed" and "UNREGISTERED" in row.reason
    assert row.details["removed"] == 1 and subscriptions(engine) == []


def test_a_person_without_subscriptions_is_skipped_with_the_reason(
    client: TestClient, shop: Shop, engine: Engine, receiver: PushService
) -> None:
    _ready(client, shop, engine)
    track(client, shop, "identify", {"userId": "dan", "traits": {"first_name": "Dan"}})
    person(client, shop, "user_id:dan")
    _cart(client, shop, "dan", "cart-1")
    [row] = until(lambda: _finished(engine))
    assert (row.status, row.reason) == ("skipped", "no push subscription")
    assert receiver.arrivals == []


def test_an_erase_removes_the_subscriptions_and_their_consents(
    client: TestClient, shop: Shop, engine: Engine
) -> None:
    _ready(client, shop, engine)
    _app_user(client, shop, ["offers"])
    subscribe(client, shop, {"kind": "fcm", "token": TOKEN + "2", "userId": "other"})
    found = person(client, shop, "user_id:cleo")
    export = client.get(f"/api/v1/profiles/{found['id']}/export", headers=auth(shop))
    assert export.status_code == 200, export.text
    [exported] = export.json()["push_subscriptions"]
    assert (exported["endpoint"], exported["identifier_value"]) == (TOKEN, "device-7")
    assert [c["address"] for c in export.json()["consents"]] == ["anonymous_id:device-7"]
    erased = client.delete(f"/api/v1/profiles/{found['id']}", headers=auth(shop))
    assert erased.status_code == 204, erased.text
    [left] = subscriptions(engine)
    assert left.identifier_value == "other"
    with engine.connect() as conn:
        assert consent.records(conn, shop.workspace_id, ["anonymous_id:device-7"]) == []
