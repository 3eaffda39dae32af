"""Secrets as an admin stores them: written through the API, encrypted in the table (bound to
their row), never returned, audited; only admins may touch them; rotation keeps them readable."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from pydantic import SecretStr
from sqlalchemy import Engine, select, update
from starlette.testclient import TestClient

from nerve.app import create_app
from nerve.audit.models import AuditRecord
from nerve.db.engine import write_transaction
from nerve.errors import Unavailable
from nerve.secrets import service
from nerve.secrets.models import Secret
from nerve.secrets.vault import Vault, new_key
from nerve.settings import Settings
from tests.factories import Shop, make_key

KEY = new_key()
VALUE = "pa55-w0rd-ÿ-9f3a"


@pytest.fixture
def keyed(settings: Settings) -> Settings:
    return settings.model_copy(update={"secret_key": SecretStr(KEY)})


@pytest.fixture
def client(keyed: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(keyed)) as client:
        yield client


def _bearer(secret_key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {secret_key}"}


def _stored(engine: Engine) -> list[Any]:
    with engine.connect() as conn:
        return conn.execute(select(Secret)).all()


def test_a_secret_goes_in_encrypted_and_never_comes_out(
    client: TestClient, shop: Shop, engine: Engine
) -> None:
    admin = _bearer(shop.secret_key)
    put = client.put("/api/v1/secrets/smtp.password", json={"value": VALUE}, headers=admin)
    assert put.status_code == 200, put.text
    assert set(put.json()) == {"name", "created_at", "updated_at"}
    listed = client.get("/api/v1/secrets", headers=admin)
    assert [s["name"] for s in listed.json()["data"]] == ["smtp.password"]
    for response in (put, listed):
        assert VALUE not in response.text
    [row] = _stored(engine)
    assert VALUE not in row.ciphertext and VALUE.encode() not in row.ciphertext.encode()
    with engine.connect() as conn:
        assert service.reveal(conn, Vault(KEY), shop.workspace_id, "smtp.password") == VALUE
        actions = conn.execute(select(AuditRecord.action, AuditRecord.target)).all()
    assert ("secret.set", "smtp.password") in [tuple(a) for a in actions]

    replaced = client.put("/api/v1/secrets/smtp.password", json={"value": "new"}, headers=admin)
    assert replaced.status_code == 200
    with engine.connect() as conn:
        assert service.reveal(conn, Vault(KEY), shop.workspace_id, "smtp.password") == "new"
    assert client.delete("/api/v1/secrets/smtp.password", headers=admin).status_code == 204
    gone = client.delete("/api/v1/secrets/smtp.password", headers=admin)
    assert gone.status_code == 404 and gone.json()["error"]["code"] == "not_found"
    assert _stored(engine) == []


@pytest.mark.parametrize("role", ["builder", "analyst", "staff"])
def test_only_admins_manage_secrets(
    client: TestClient, shop: Shop, engine: Engine, role: str
) -> None:
    other = _bearer(make_key(engine, shop.workspace_id, role))
    for response in (
        client.get("/api/v1/secrets", headers=other),
        client.put("/api/v1/secrets/smtp.password", json={"value": VALUE}, headers=other),
        client.delete("/api/v1/secrets/smtp.password", headers=other),
    ):
        assert response.status_code == 403 and response.json()["error"]["code"] == "forbidden"
    assert _stored(engine) == []


@pytest.mark.parametrize(
    ("name", "body"),
    [("Upper", {"value": "x"}), ("a" * 129, {"value": "x"}), ("ok", {"value": ""}),
     ("ok", {}), ("ok", {"value": "x" * (65 * 1024)})],
)  # fmt: skip
def test_bad_input_is_refused_in_the_error_shape(
    client: TestClient, shop: Shop, engine: Engine, name: str, body: dict[str, Any]
) -> None:
    response = client.put(f"/api/v1/secrets/{name}", json=body, headers=_bearer(shop.secret_key))
    assert response.status_code == 400, response.text
    assert response.json()["error"]["code"] in {"invalid_request", "invalid_json"}
    assert "x" * 100 not in response.text  # the value is not echoed back
    assert _stored(engine) == []


def test_without_a_key_nothing_is_stored(settings: Settings, shop: Shop, engine: Engine) -> None:
    with TestClient(create_app(settings)) as client:
        response = client.put(
            "/api/v1/secrets/smtp.password", json={"value": VALUE},
            headers=_bearer(shop.secret_key),
        )  # fmt: skip
    assert response.status_code == 503
    assert "nerve secrets new-key" in response.json()["error"]["message"]
    assert _stored(engine) == []


def test_rotation_re_encrypts_under_the_first_key(shop: Shop, engine: Engine) -> None:
    old, new = Vault(KEY), new_key()
    with write_transaction(engine) as conn:
        service.put(conn, old, shop.workspace_id, "dkim.shop.example", VALUE, actor="t")
        assert service.rotate(conn, Vault(f"{new},{KEY}")) == 1
    with engine.connect() as conn:
        assert service.reveal(conn, Vault(new), shop.workspace_id, "dkim.shop.example") == VALUE
        with pytest.raises(Unavailable, match="no longer listed"):
            service.reveal(conn, old, shop.workspace_id, "dkim.shop.example")


def test_a_ciphertext_moved_to_another_row_is_refused(shop: Shop, engine: Engine) -> None:
    vault = Vault(KEY)
    with write_transaction(engine) as conn:
        service.put(conn, vault, shop.workspace_id, "smtp.password", VALUE, actor="t")
        service.put(conn, vault, shop.workspace_id, "slack.webhook", "https://x", actor="t")
        stolen = conn.scalar(select(Secret.ciphertext).where(Secret.name == "smtp.password"))
        conn.execute(update(Secret).where(Secret.name == "slack.webhook").values(ciphertext=stolen))
    with engine.connect() as conn, pytest.raises(Unavailable, match="another row"):
        service.reveal(conn, vault, shop.workspace_id, "slack.webhook")
