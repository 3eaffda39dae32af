"""`/api/v1/webhook-endpoints` as a shop's developer uses it: a signing secret is shown once,
when it is made, kept encrypted, never returned again; URLs go where the outbound policy
allows; admins and builders manage endpoints, analysts and staff may not; all is audited."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from pydantic import SecretStr
from sqlalchemy import Engine, select
from starlette.testclient import TestClient

from nerve.app import create_app
from nerve.audit.models import AuditRecord
from nerve.secrets.models import Secret
from nerve.secrets.vault import new_key
from nerve.settings import Settings
from tests.factories import Shop, make_key
from tests.waiting import auth

URL = "https://crm.shop.example/nerve"


@pytest.fixture
def client(settings: Settings) -> Iterator[TestClient]:
    keyed = settings.model_copy(update={"secret_key": SecretStr(new_key())})
    with TestClient(create_app(keyed)) as client:
        yield client


def _bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def _create(client: TestClient, headers: dict[str, str], name: str = "crm") -> Any:
    return client.post("/api/v1/webhook-endpoints", json={"name": name, "url": URL},
                       headers=headers)  # fmt: skip


def test_the_secret_is_shown_once_stored_encrypted_and_never_returned(
    client: TestClient, shop: Shop, engine: Engine
) -> None:
    created = _create(client, auth(shop))
    assert created.status_code == 201, created.text
    body = created.json()
    secret = body.pop("secret")
    assert secret.startswith("whsec_") and len(secret) > len("whsec_") + 32
    assert body["name"] == "crm" and body["url"] == URL and body["status"] == "enabled"
    assert body["previous_secret_expires_at"] is None and body["disabled_at"] is None

    rotated = client.post("/api/v1/webhook-endpoints/crm/rotate", json={"grace_seconds": 3600},
                          headers=auth(shop))  # fmt: skip
    assert rotated.status_code == 200, rotated.text
    new = rotated.json()["secret"]
    assert new != secret and rotated.json()["previous_secret_expires_at"] is not None

    answers = [
        client.get("/api/v1/webhook-endpoints", headers=auth(shop)),
        client.get("/api/v1/webhook-endpoints/crm", headers=auth(shop)),
        client.post("/api/v1/webhook-endpoints/crm/enable", headers=auth(shop)),
        client.post(
            "/api/v1/webhook-endpoints/crm/disable",
            json={"reason": "CRM migration"},
            headers=auth(shop),
        ),
        client.get("/api/v1/secrets", headers=auth(shop)),
    ]
    for answer in answers:
        assert answer.status_code == 200, answer.text
        assert "whsec_" not in answer.text and 'secret"' not in answer.text
    [listed] = answers[0].json()["data"]
    assert listed == answers[1].json() and "secret" not in listed
    assert answers[3].json()["status"] == "disabled"
    assert answers[3].json()["disabled_reason"] == "CRM migration"
    names = [s["name"] for s in answers[4].json()["data"]]
    assert names == ["webhook.crm", "webhook.crm.previous"]

    with engine.connect() as conn:
        stored = conn.execute(select(Secret.ciphertext)).scalars().all()
        actions = conn.execute(select(AuditRecord.action, AuditRecord.target)).all()
    for text in (secret, new, secret.removeprefix("whsec_"), new.removeprefix("whsec_")):
        assert all(text not in ciphertext for ciphertext in stored)
    assert {("webhook_endpoint.created", "crm"), ("webhook_endpoint.secret_rotated", "crm"),
            ("webhook_endpoint.disabled", "crm")} <= {tuple(a) for a in actions}  # fmt: skip

    assert client.delete("/api/v1/webhook-endpoints/crm", headers=auth(shop)).status_code == 204
    assert client.get("/api/v1/secrets", headers=auth(shop)).json()["data"] == []
    gone = client.get("/api/v1/webhook-endpoints/crm", headers=auth(shop))
    assert gone.status_code == 404 and gone.json()["error"]["code"] == "not_found"


def test_names_are_unique_and_urls_go_where_the_outbound_policy_allows(
    client: TestClient, shop: Shop
) -> None:
    assert _create(client, auth(shop)).status_code == 201
    again = _create(client, auth(shop))
    assert again.status_code == 409 and again.json()["error"]["code"] == "conflict"
    for url, said in [("http://169.254.169.254/latest", "link-local"),
                      ("ftp://crm.shop.example/", "http or https"),
                      ("http://10.0.0.7/hook", "private")]:  # fmt: skip
        refused = client.post("/api/v1/webhook-endpoints", json={"name": "erp", "url": url},
                              headers=auth(shop))  # fmt: skip
        assert refused.status_code == 400, refused.text
        assert said in refused.json()["error"]["message"]
    bad_name = client.post("/api/v1/webhook-endpoints", json={"name": "CRM", "url": URL},
                           headers=auth(shop))  # fmt: skip
    assert bad_name.status_code == 400
    long_grace = client.post("/api/v1/webhook-endpoints/crm/rotate",
                             json={"grace_seconds": 8 * 86400}, headers=auth(shop))  # fmt: skip
    assert long_grace.status_code == 400
    unknown = client.post("/api/v1/webhook-endpoints/erp/rotate", headers=auth(shop))
    assert unknown.status_code == 404


def test_without_a_secret_key_no_endpoint_is_made(
    settings: Settings, shop: Shop, engine: Engine
) -> None:
    with TestClient(create_app(settings)) as client:
        refused = _create(client, auth(shop))
        assert refused.status_code == 503, refused.text
        assert refused.json()["error"]["code"] == "unavailable"
        assert client.get("/api/v1/webhook-endpoints", headers=auth(shop)).json()["data"] == []


@pytest.mark.parametrize("role", ["analyst", "staff"])
def test_analysts_and_staff_cannot_manage_endpoints(
    client: TestClient, shop: Shop, engine: Engine, role: str
) -> None:
    assert _create(client, auth(shop)).status_code == 201
    other = _bearer(make_key(engine, shop.workspace_id, role))
    for response in (
        _create(client, other, "erp"),
        client.get("/api/v1/webhook-endpoints", headers=other),
        client.get("/api/v1/webhook-endpoints/crm", headers=other),
        client.post("/api/v1/webhook-endpoints/crm/rotate", headers=other),
        client.post("/api/v1/webhook-endpoints/crm/enable", headers=other),
        client.delete("/api/v1/webhook-endpoints/crm", headers=other),
    ):
        assert response.status_code == 403, response.text
        assert response.json()["error"]["details"]["permission"] == "webhooks:manage"


def test_builders_manage_endpoints(client: TestClient, shop: Shop, engine: Engine) -> None:
    builder = _bearer(make_key(engine, shop.workspace_id, "builder"))
    assert _create(client, builder).status_code == 201
    assert client.post("/api/v1/webhook-endpoints/crm/rotate", headers=builder).status_code == 200
