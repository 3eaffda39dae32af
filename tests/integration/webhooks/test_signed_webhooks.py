"""A flow's webhook to a named endpoint is signed per Standard Webhooks: a receiver verifies it
with the official `standardwebhooks` library; a tampered body or another secret does not verify;
after a rotation both secrets verify for the grace period, then only the new one. A receiver
answering 410 Gone disables the endpoint, and later steps to it are dead-lettered unsent."""

from __future__ import annotations

import base64
import os
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from prometheus_client import REGISTRY
from pydantic import SecretStr
from sqlalchemy import Engine, update
from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError
from starlette.testclient import TestClient

from nerve.app import create_app
from nerve.db.base import utcnow
from nerve.db.engine import write_transaction
from nerve.secrets.vault import new_key
from nerve.settings import Settings
from nerve.webhooks.models import WebhookEndpoint
from tests.factories import Shop
from tests.receivers import Delivery, Receiver
from tests.waiting import auth, until


@pytest.fixture
def client(settings: Settings) -> Iterator[TestClient]:
    keyed = settings.model_copy(update={"secret_key": SecretStr(new_key())})
    with TestClient(create_app(keyed)) as client:
        yield client


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    receiver = Receiver()
    yield receiver
    receiver.close()


def _endpoint(client: TestClient, shop: Shop, url: str, name: str = "crm") -> str:
    created = client.post("/api/v1/webhook-endpoints", json={"name": name, "url": url},
                          headers=auth(shop))  # fmt: skip
    assert created.status_code == 201, created.text
    secret: str = created.json()["secret"]
    return secret


def _publish(client: TestClient, shop: Shop, with_: dict[str, Any]) -> Any:
    flow = {"name": "sync_crm", "trigger": {"event": "Signed Up"},
            "nodes": [{"id": "to_crm", "action": "webhook", "with": with_, "retries": 0}]}  # fmt: skip
    return client.post("/api/v1/flows", params={"environment": "production"}, json=flow,
                       headers=auth(shop))  # fmt: skip


def _sign_up(client: TestClient, shop: Shop, user: str) -> None:
    response = client.post("/v1/track", json={"userId": user, "event": "Signed Up"},
                           auth=(shop.write_keys["web"], ""))  # fmt: skip
    assert response.status_code == 200, response.text


def _delivered(receiver: Receiver, count: int) -> Delivery:
    return until(lambda: len(receiver.deliveries) >= count and receiver.deliveries[count - 1])  # type: ignore[no-any-return]


def _verifies(secret: str, delivery: Delivery, body: bytes | None = None) -> bool:
    try:
        Webhook(secret).verify(delivery.raw if body is None else body, delivery.headers)
    except WebhookVerificationError:
        return False
    return True


def _disabled_count() -> float:
    """nerve_webhook_endpoints_disabled_total, in this process (the tests' embedded worker)."""
    return REGISTRY.get_sample_value("nerve_webhook_endpoints_disabled_total") or 0.0


def _dead_letters(client: TestClient, shop: Shop) -> list[dict[str, Any]]:
    response = client.get("/api/v1/dead-letters", headers=auth(shop))
    assert response.status_code == 200, response.text
    return response.json()["data"]  # type: ignore[no-any-return]


def test_a_webhook_to_an_endpoint_verifies_and_a_tampered_one_does_not(
    client: TestClient, shop: Shop, receiver: Receiver
) -> None:
    secret = _endpoint(client, shop, f"{receiver.url}/crm")
    assert secret.startswith("whsec_")
    assert _publish(client, shop, {"endpoint": "crm", "body": {"list": "vip"}}).status_code == 201
    _sign_up(client, shop, "anna")
    delivery = _delivered(receiver, 1)

    assert delivery.path == "/crm" and delivery.body["data"] == {"list": "vip"}
    assert Webhook(secret).verify(delivery.raw, delivery.headers) == delivery.body
    [signature] = delivery.headers["webhook-signature"].split(" ")
    assert signature.startswith("v1,")
    tampered = delivery.raw.replace(b'"vip"', b'"vip!"')
    assert tampered != delivery.raw and not _verifies(secret, delivery, tampered)
    other = Webhook("whsec_" + base64.b64encode(os.urandom(32)).decode())
    with pytest.raises(WebhookVerificationError):
        other.verify(delivery.raw, delivery.headers)
    forged = delivery.headers | {"webhook-id": "someone-elses-id"}
    with pytest.raises(WebhookVerificationError):
        Webhook(secret).verify(delivery.raw, forged)


def test_a_url_without_an_endpoint_still_works_unsigned(
    client: TestClient, shop: Shop, receiver: Receiver
) -> None:
    assert _publish(client, shop, {"url": f"{receiver.url}/plain"}).status_code == 201
    _sign_up(client, shop, "anna")
    delivery = _delivered(receiver, 1)
    assert "webhook-id" in delivery.headers and "webhook-signature" not in delivery.headers


def test_during_a_rotation_both_secrets_verify_and_after_it_only_the_new_one(
    client: TestClient, shop: Shop, receiver: Receiver, engine: Engine
) -> None:
    old = _endpoint(client, shop, receiver.url)
    assert _publish(client, shop, {"endpoint": "crm"}).status_code == 201
    rotated = client.post("/api/v1/webhook-endpoints/crm/rotate", headers=auth(shop))
    assert rotated.status_code == 200, rotated.text
    new = rotated.json()["secret"]
    assert new.startswith("whsec_") and new != old
    expires = rotated.json()["previous_secret_expires_at"]
    assert expires is not None

    _sign_up(client, shop, "anna")
    during = _delivered(receiver, 1)
    assert len(during.headers["webhook-signature"].split(" ")) == 2
    assert _verifies(old, during) and _verifies(new, during)

    with write_transaction(engine) as conn:  # the day of grace has passed
        conn.execute(
            update(WebhookEndpoint).values(previous_secret_expires_at=utcnow() - timedelta(1))
        )
    shown = client.get("/api/v1/webhook-endpoints/crm", headers=auth(shop)).json()
    assert shown["previous_secret_expires_at"] is None
    _sign_up(client, shop, "ben")
    after = _delivered(receiver, 2)
    assert len(after.headers["webhook-signature"].split(" ")) == 1
    assert _verifies(new, after) and not _verifies(old, after)


def test_a_rotation_without_grace_ends_the_old_secret_at_once(
    client: TestClient, shop: Shop, receiver: Receiver
) -> None:
    old = _endpoint(client, shop, receiver.url)
    assert _publish(client, shop, {"endpoint": "crm"}).status_code == 201
    rotated = client.post("/api/v1/webhook-endpoints/crm/rotate", json={"grace_seconds": 0},
                          headers=auth(shop))  # fmt: skip
    assert rotated.status_code == 200 and rotated.json()["previous_secret_expires_at"] is None
    _sign_up(client, shop, "anna")
    delivery = _delivered(receiver, 1)
    assert _verifies(rotated.json()["secret"], delivery) and not _verifies(old, delivery)


def test_a_410_disables_the_endpoint_and_later_steps_are_dead_lettered_unsent(
    client: TestClient, shop: Shop, receiver: Receiver
) -> None:
    _endpoint(client, shop, receiver.url)
    assert _publish(client, shop, {"endpoint": "crm"}).status_code == 201
    receiver.fail_with = 410
    disabled_before = _disabled_count()
    _sign_up(client, shop, "anna")
    [letter] = until(lambda: _dead_letters(client, shop))
    assert "410 Gone" in letter["error"]["message"] and "disabled" in letter["error"]["message"]
    assert letter["error"]["permanent"] is True and receiver.attempts == 1
    assert _disabled_count() == disabled_before + 1

    shown = client.get("/api/v1/webhook-endpoints/crm", headers=auth(shop)).json()
    assert shown["status"] == "disabled" and shown["disabled_at"] is not None
    assert "410 Gone" in shown["disabled_reason"] and "sync_crm" in shown["disabled_reason"]

    receiver.fail_with = None
    _sign_up(client, shop, "ben")
    letters = until(lambda: len(_dead_letters(client, shop)) == 2 and _dead_letters(client, shop))
    assert "is disabled since" in letters[1]["error"]["message"]
    assert "Nothing was sent" in letters[1]["error"]["message"]
    assert receiver.attempts == 1  # no request for ben's step

    enabled = client.post("/api/v1/webhook-endpoints/crm/enable", headers=auth(shop))
    assert enabled.status_code == 200, enabled.text
    assert enabled.json()["status"] == "enabled"
    assert enabled.json()["disabled_at"] is None and enabled.json()["disabled_reason"] is None
    replayed = client.post(f"/api/v1/dead-letters/{letters[1]['id']}/replay", headers=auth(shop))
    assert replayed.status_code == 200, replayed.text
    _delivered(receiver, 1)


def test_a_410_to_a_plain_url_disables_nothing(
    client: TestClient, shop: Shop, receiver: Receiver
) -> None:
    _endpoint(client, shop, receiver.url)
    assert _publish(client, shop, {"url": receiver.url}).status_code == 201
    receiver.fail_with = 410
    _sign_up(client, shop, "anna")
    [letter] = until(lambda: _dead_letters(client, shop))
    assert "refused with 410" in letter["error"]["message"]
    shown = client.get("/api/v1/webhook-endpoints/crm", headers=auth(shop)).json()
    assert shown["status"] == "enabled"


def test_publishing_a_flow_that_names_an_unknown_endpoint_is_refused_with_its_path(
    client: TestClient, shop: Shop, receiver: Receiver
) -> None:
    refused = _publish(client, shop, {"endpoint": "crm"})
    assert refused.status_code == 400, refused.text
    error = refused.json()["error"]
    assert error["code"] == "invalid_flow"
    [problem] = error["details"]
    assert problem["path"] == "nodes[0].with.endpoint" and "'crm'" in problem["reason"]

    both = _publish(client, shop, {"endpoint": "crm", "url": receiver.url}).json()["error"]
    assert both["details"][0]["path"] == "nodes[0].with.url"
    neither = _publish(client, shop, {"body": {}}).json()["error"]
    assert neither["details"][0]["path"] == "nodes[0].with.url"
    assert "endpoint" in neither["details"][0]["reason"]
    misspelt = _publish(client, shop, {"endpoint": "CRM!"}).json()["error"]
    assert misspelt["details"][0]["path"] == "nodes[0].with.endpoint"

    _endpoint(client, shop, receiver.url)
    assert _publish(client, shop, {"endpoint": "crm"}).status_code == 201


def test_a_deleted_endpoint_dead_letters_the_steps_that_name_it(
    client: TestClient, shop: Shop, receiver: Receiver
) -> None:
    _endpoint(client, shop, receiver.url)
    assert _publish(client, shop, {"endpoint": "crm"}).status_code == 201
    deleted = client.delete("/api/v1/webhook-endpoints/crm", headers=auth(shop))
    assert deleted.status_code == 204, deleted.text
    _sign_up(client, shop, "anna")
    [letter] = until(lambda: _dead_letters(client, shop))
    assert "no webhook endpoint named 'crm'" in letter["error"]["message"]
    assert receiver.attempts == 0
