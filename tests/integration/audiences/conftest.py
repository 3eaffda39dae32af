"""An app with a secret key (webhook endpoints keep their secrets encrypted), a loopback
receiver, and helpers that drive segments, consent and people through the real API."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from typing import Any

import pytest
from pydantic import SecretStr
from starlette.testclient import TestClient

from nerve.app import create_app
from nerve.secrets.vault import new_key
from nerve.settings import Settings
from tests.factories import Shop
from tests.receivers import Receiver
from tests.waiting import auth

VIPS = {"key": "vips", "name": "VIPs", "where": {"trait": "tier", "equals": "vip"}}


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


def sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def ok(response: Any, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json() if response.content else None


def segment(client: TestClient, shop: Shop) -> None:
    ok(client.post("/api/v1/segments", json=VIPS, headers=auth(shop)), 201)


def endpoint(client: TestClient, shop: Shop, url: str) -> str:
    made = ok(client.post("/api/v1/webhook-endpoints", json={"name": "ads-bridge", "url": url},
                          headers=auth(shop)), 201)  # fmt: skip
    secret: str = made["secret"]
    return secret


def consent_to_ads(client: TestClient, shop: Shop, email: str) -> None:
    ok(client.put("/api/v1/consent/topics/email/ads", json={"title": "Personalised ads"},
                  headers=auth(shop)), 201)  # fmt: skip
    given = {"email": email, "topic": "ads", "double_opt_in": False,
             "consent_text": "Show me ads for what I like"}  # fmt: skip
    ok(client.post("/api/v1/consent", json=given, headers=auth(shop)), 201)


def person(client: TestClient, shop: Shop, user: str, **traits: Any) -> None:
    body = {"userId": user, "traits": traits}
    ok(client.post("/v1/identify", json=body, auth=(shop.write_keys["web"], "")))


def audience(client: TestClient, shop: Shop, **fields: Any) -> dict[str, Any]:
    new = {"name": "meta_vips", "segment": "vips", "destination": "webhook",
           "endpoint": "ads-bridge", **fields}  # fmt: skip
    made: dict[str, Any] = ok(client.post("/api/v1/audiences", json=new, headers=auth(shop)), 201)
    return made


def members(client: TestClient, shop: Shop, key: str = "vips") -> int:
    """How many members the segment has now."""
    found: int = ok(client.get(f"/api/v1/segments/{key}", headers=auth(shop)))["members"]
    return found


def status(client: TestClient, shop: Shop, audience_id: str) -> dict[str, Any]:
    found: dict[str, Any] = ok(client.get(f"/api/v1/audiences/{audience_id}", headers=auth(shop)))
    return found
