"""The role matrix, read from the OpenAPI document: every operation declares exactly one known
permission or says it is public (a route added without one fails here), and every role gets
what nerve/auth/roles.py grants it — 401 without a key, 403 in the error shape without the
permission, never 401 or 403 with it — on both databases."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy import Engine
from starlette.testclient import TestClient

from nerve.app import create_app
from nerve.auth.roles import ROLES, Permission, allowed
from nerve.auth.service import create_key
from nerve.db.engine import write_transaction
from nerve.settings import Settings
from tests.factories import make_shop

PUBLIC, WRITE_KEY = "public", "write-key"


@dataclass(frozen=True)
class Operation:
    method: str
    path: str
    access: str  # a Permission's value, PUBLIC or WRITE_KEY
    spec: dict[str, Any]

    def __str__(self) -> str:
        return f"{self.method} {self.path}"


def _access(spec: dict[str, Any]) -> str:
    """What an operation says it needs; fails unless that is exactly one thing we know."""
    marked = spec.get("x-nerve-access")
    security = spec.get("security")
    if marked == PUBLIC:
        assert not security, "a public operation needs no credentials"
        return PUBLIC
    if marked == WRITE_KEY:
        assert {"WriteKey": []} in security, "tracking operations take the write key"
        return WRITE_KEY
    assert marked is None, f"unknown x-nerve-access {marked!r}"
    assert security, "neither a permission nor marked public"
    [requirement] = security
    [(scheme, scopes)] = requirement.items()
    assert scheme == "HTTPBearer" and len(scopes) == 1, "exactly one permission"
    [permission] = scopes
    assert permission in {p.value for p in Permission}, f"unknown permission {permission}"
    return str(permission)


def _operations(document: dict[str, Any]) -> list[Operation]:
    operations = []
    for path, item in document["paths"].items():
        for method, spec in item.items():
            operation = f"{method.upper()} {path}"
            try:
                access = _access(spec)
            except AssertionError as exc:
                raise AssertionError(f"{operation}: {exc}") from None
            operations.append(Operation(method.upper(), path, access, spec))
    return operations


def test_every_operation_declares_one_known_permission_or_is_public(tmp_path: Any) -> None:
    app = create_app(Settings(database_url=f"sqlite:///{tmp_path}/unused.db", _env_file=None))  # type: ignore[call-arg]
    operations = _operations(TestClient(app).get("/openapi.json").json())
    kinds = {operation.access for operation in operations}
    assert PUBLIC in kinds and WRITE_KEY in kinds and len(kinds) > 2
    assert len([o for o in operations if o.access not in (PUBLIC, WRITE_KEY)]) >= 18


def _request(operation: Operation) -> dict[str, Any]:
    """A call of the operation with dummy ids and placeholder input: enough to get past
    routing to the authorization, which comes before anything is looked up."""
    path = operation.path
    params = {}
    for parameter in operation.spec.get("parameters", []):
        if parameter["in"] == "path":
            path = path.replace("{" + parameter["name"] + "}", "nrv-test-missing")
        elif parameter.get("required"):
            params[parameter["name"]] = "email:nobody@example.com"
    request: dict[str, Any] = {"method": operation.method, "url": path, "params": params}
    if operation.spec.get("requestBody", {}).get("required"):
        request["json"] = {}
    return request


def _error(response: Any, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert list(body) == ["error"] and body["error"]["code"] == code, body
    assert set(body["error"]) == {"code", "message", "details"} and body["error"]["message"]
    return body["error"]  # type: ignore[no-any-return]


@pytest.fixture
def role_keys(engine: Engine) -> dict[str, str]:
    shop = make_shop(engine, kinds=("web",))
    with write_transaction(engine) as conn:
        return {role: create_key(conn, shop.workspace_id, role).secret_key for role in ROLES}


def test_every_role_gets_exactly_what_its_permissions_grant(
    client: TestClient, role_keys: dict[str, str]
) -> None:
    assert set(role_keys) == {"admin", "builder", "analyst", "staff"}
    operations = _operations(client.get("/openapi.json").json())
    checked = 0
    for operation in operations:
        request = _request(operation)
        anonymous = client.request(**request)
        if operation.access == PUBLIC:
            assert anonymous.status_code not in (401, 403), f"{operation}: {anonymous.text}"
            continue
        if operation.access == WRITE_KEY:
            _error(anonymous, 401, "missing_write_key")
            admin = {"Authorization": f"Bearer {role_keys['admin']}"}
            _error(client.request(**request, headers=admin), 401, "missing_write_key")
            continue
        _error(anonymous, 401, "unauthorized")
        for role, key in role_keys.items():
            response = client.request(**request, headers={"Authorization": f"Bearer {key}"})
            if allowed(role, operation.access):
                assert response.status_code not in (401, 403), f"{operation} as {role}"
            else:
                error = _error(response, 403, "forbidden")
                assert error["details"]["permission"] == operation.access, operation
                assert role not in error["details"]["roles"], operation
            if role == "analyst" and operation.method != "GET":
                assert response.status_code == 403, f"{operation}: analysts only read"
            checked += 1
    assert checked >= 18 * 4
