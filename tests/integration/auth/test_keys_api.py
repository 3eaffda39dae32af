"""The API-key admin API as an admin uses it: list, create, revoke and rotate keys; a revoked
key is refused at once, by every process; only admins manage keys; every change is audited."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest
from sqlalchemy import Engine, select
from starlette.testclient import TestClient

from nerve.app import create_app
from nerve.audit.models import AuditRecord
from nerve.auth.roles import ROLES
from nerve.auth.schemas import Role
from nerve.settings import Settings
from tests.factories import Shop, make_key, make_shop


def _bearer(secret_key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {secret_key}"}


def _ok(response: Any, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json()


def _error(response: Any, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error"} and body["error"]["code"] == code, body
    return body["error"]  # type: ignore[no-any-return]


def _key_id(secret_key: str) -> str:
    return secret_key.removeprefix("nrv_").partition(".")[0]


def _audit(engine: Engine, workspace_id: str) -> list[tuple[str, str, str]]:
    with engine.connect() as conn:
        rows = conn.execute(
            select(AuditRecord.actor, AuditRecord.action, AuditRecord.target)
            .where(AuditRecord.workspace_id == workspace_id)
            .order_by(AuditRecord.id)
        ).all()
    return [tuple(row) for row in rows]


def test_the_openapi_roles_are_the_role_table() -> None:
    assert Role.__args__ == ROLES  # type: ignore[attr-defined]


def test_an_admin_creates_lists_and_revokes_keys(
    client: TestClient, shop: Shop, engine: Engine
) -> None:
    admin = _bearer(shop.secret_key)
    created = _ok(client.post("/api/v1/keys", json={"role": "analyst"}, headers=admin), 201)
    assert created["role"] == "analyst" and created["secret_key"].startswith("nrv_key_")
    analyst = _bearer(created["secret_key"])
    assert client.get("/api/v1/events", headers=analyst).status_code == 200

    listed = _ok(client.get("/api/v1/keys", headers=admin))["data"]
    assert [(k["id"], k["role"], k["revoked_at"]) for k in listed] == [
        (_key_id(shop.secret_key), "admin", None),
        (created["id"], "analyst", None),
    ]
    assert all(set(k) == {"id", "role", "created_at", "revoked_at"} for k in listed)
    assert (
        created["secret_key"].partition(".")[2]
        not in client.get("/api/v1/keys", headers=admin).text
    )

    revoked = _ok(client.post(f"/api/v1/keys/{created['id']}/revoke", headers=admin))
    assert revoked["id"] == created["id"] and revoked["revoked_at"] is not None
    _error(client.get("/api/v1/events", headers=analyst), 401, "unauthorized")
    again = _error(
        client.post(f"/api/v1/keys/{created['id']}/revoke", headers=admin), 409, "conflict"
    )
    assert datetime.fromisoformat(again["details"]["revoked_at"]) == datetime.fromisoformat(
        revoked["revoked_at"]
    )
    listed = _ok(client.get("/api/v1/keys", headers=admin))["data"]
    assert listed[1]["revoked_at"] == revoked["revoked_at"]

    actor = _key_id(shop.secret_key)
    assert _audit(engine, shop.workspace_id)[-2:] == [
        (actor, "api_key.created", created["id"]),
        (actor, "api_key.revoked", created["id"]),
    ]


def test_rotation_gives_a_new_secret_with_the_same_role_and_refuses_the_old_one(
    client: TestClient, shop: Shop, engine: Engine
) -> None:
    admin = _bearer(shop.secret_key)
    builder = make_key(engine, shop.workspace_id, "builder")
    old_id = _key_id(builder)

    rotated = _ok(client.post(f"/api/v1/keys/{old_id}/rotate", headers=admin))
    assert rotated["role"] == "builder" and rotated["replaces"] == old_id
    assert rotated["id"] != old_id and rotated["secret_key"] != builder
    _error(client.get("/api/v1/flows", headers=_bearer(builder)), 401, "unauthorized")
    assert client.get("/api/v1/flows", headers=_bearer(rotated["secret_key"])).status_code == 200

    # A revoked key stays revoked: rotating it would hand its access back.
    _error(client.post(f"/api/v1/keys/{old_id}/rotate", headers=admin), 409, "conflict")
    actor = _key_id(shop.secret_key)
    assert _audit(engine, shop.workspace_id)[-2:] == [
        (actor, "api_key.rotated", old_id),
        (actor, "api_key.created", rotated["id"]),
    ]


def test_an_admin_key_that_rotates_itself_must_use_the_new_one(
    client: TestClient, shop: Shop
) -> None:
    old = _bearer(shop.secret_key)
    rotated = _ok(client.post(f"/api/v1/keys/{_key_id(shop.secret_key)}/rotate", headers=old))
    _error(client.get("/api/v1/keys", headers=old), 401, "unauthorized")
    assert client.get("/api/v1/keys", headers=_bearer(rotated["secret_key"])).status_code == 200


def test_a_key_revoked_through_one_process_is_refused_at_once_by_another(
    client: TestClient, shop: Shop, engine: Engine, settings: Settings
) -> None:
    analyst = make_key(engine, shop.workspace_id, "analyst")
    with TestClient(create_app(settings)) as other_process:
        assert other_process.get("/api/v1/events", headers=_bearer(analyst)).status_code == 200
        _ok(
            client.post(f"/api/v1/keys/{_key_id(analyst)}/revoke", headers=_bearer(shop.secret_key))
        )
        _error(other_process.get("/api/v1/events", headers=_bearer(analyst)), 401, "unauthorized")


@pytest.mark.parametrize("role", ["builder", "analyst", "staff"])
def test_only_admins_manage_keys(client: TestClient, shop: Shop, engine: Engine, role: str) -> None:
    key = _bearer(make_key(engine, shop.workspace_id, role))
    admin_id = _key_id(shop.secret_key)
    for method, path, body in [
        ("GET", "/api/v1/keys", None),
        ("POST", "/api/v1/keys", {"role": "admin"}),
        ("POST", f"/api/v1/keys/{admin_id}/revoke", None),
        ("POST", f"/api/v1/keys/{admin_id}/rotate", None),
    ]:
        error = _error(client.request(method, path, json=body, headers=key), 403, "forbidden")
        assert error["details"] == {"permission": "keys:manage", "roles": ["admin"]}
    assert client.get("/api/v1/keys", headers=_bearer(shop.secret_key)).status_code == 200


def test_keys_of_another_workspace_are_not_found(
    client: TestClient, shop: Shop, engine: Engine
) -> None:
    other = make_shop(engine, workspace="other shop", kinds=("web",))
    admin = _bearer(shop.secret_key)
    for action in ("revoke", "rotate"):
        path = f"/api/v1/keys/{_key_id(other.secret_key)}/{action}"
        _error(client.post(path, headers=admin), 404, "not_found")
    assert [k["id"] for k in _ok(client.get("/api/v1/keys", headers=admin))["data"]] == [
        _key_id(shop.secret_key)
    ]
    assert client.get("/api/v1/keys", headers=_bearer(other.secret_key)).status_code == 200


def test_an_unknown_role_is_refused_with_the_roles_there_are(
    client: TestClient, shop: Shop
) -> None:
    response = client.post("/api/v1/keys", json={"role": "owner"}, headers=_bearer(shop.secret_key))
    error = _error(response, 400, "invalid_request")
    assert error["details"][0]["location"] == ["body", "role"]


def test_the_openapi_document_says_keys_need_the_keys_manage_permission(
    client: TestClient,
) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    operations = [
        paths["/api/v1/keys"]["get"],
        paths["/api/v1/keys"]["post"],
        paths["/api/v1/keys/{key_id}/revoke"]["post"],
        paths["/api/v1/keys/{key_id}/rotate"]["post"],
    ]
    for operation in operations:
        assert operation["security"] == [{"HTTPBearer": ["keys:manage"]}]
    created = paths["/api/v1/keys"]["post"]["responses"]["201"]["content"]["application/json"]
    assert created["schema"]["$ref"].endswith("/CreatedApiKey")
