"""A running app with a vault key, a shop and a connector per platform; requests signed as
each platform signs them (real HMAC over the raw body)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import pytest
from pydantic import SecretStr
from starlette.testclient import TestClient

from nerve.app import create_app
from nerve.connectors.signatures import Platform, signature
from nerve.secrets.vault import new_key
from nerve.settings import Settings
from tests.factories import Shop
from tests.waiting import auth

VAULT_KEY = new_key()
SECRETS: dict[str, str] = {
    "shopify": "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",
    "woocommerce": "wc-webhook-secret-3141",
    "shopware": "shopware-app-secret-2718",
}


@pytest.fixture
def client(settings: Settings) -> Iterator[TestClient]:
    keyed = settings.model_copy(update={"secret_key": SecretStr(VAULT_KEY)})
    with TestClient(create_app(keyed)) as client:
        yield client


@pytest.fixture
def urls(client: TestClient, shop: Shop) -> dict[str, str]:
    """The webhook path of each platform's connector."""
    found = {}
    for platform, secret in SECRETS.items():
        answer = client.post("/api/v1/connectors", headers=auth(shop),
                             json={"platform": platform, "name": f"{platform}-main",
                                   "secret": secret})  # fmt: skip
        assert answer.status_code == 201, answer.text
        found[platform] = urlsplit(answer.json()["webhook_url"]).path
    return found


def post(
    client: TestClient, url: str, platform: Platform, body: Any, headers: dict[str, str],
    secret: str | None = None,
) -> Any:  # fmt: skip
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    signed = dict(headers)
    header = {"shopify": "X-Shopify-Hmac-Sha256", "woocommerce": "X-WC-Webhook-Signature",
              "shopware": "shopware-shop-signature"}[platform]  # fmt: skip
    signed[header] = signature(platform, secret or SECRETS[platform], raw)
    return client.post(url, content=raw,
                       headers={"Content-Type": "application/json", **signed})  # fmt: skip


def shopify_headers(topic: str, webhook_id: str) -> dict[str, str]:
    return {"X-Shopify-Topic": topic, "X-Shopify-Webhook-Id": webhook_id,
            "X-Shopify-Shop-Domain": "nerve-demo.myshopify.com",
            "X-Shopify-API-Version": "2024-07",
            "X-Shopify-Triggered-At": "2026-03-02T10:00:00Z"}  # fmt: skip
