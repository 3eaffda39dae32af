"""An operator lists, rotates and revokes secret API keys with the real CLI while a real
`nerve serve` runs: a revoked key is refused at once, a secret is never shown again."""

from __future__ import annotations

import json

import httpx
import pytest

from tests.acceptance.conftest import NerveProcess

pytestmark = pytest.mark.slow


def _admin_api(nerve: NerveProcess, secret_key: str, path: str) -> httpx.Response:
    headers = {"Authorization": f"Bearer {secret_key}"}
    return httpx.get(f"{nerve.url}{path}", headers=headers, timeout=10)


def test_secret_keys_revoked_or_rotated_from_the_cli_are_refused_by_the_server_at_once(
    nerve: NerveProcess,
) -> None:
    nerve.start()
    first = nerve.cli("keys", "create", "--role", "admin")
    analyst = nerve.cli("keys", "create", "--role", "analyst")
    assert _admin_api(nerve, first["secret_key"], "/api/v1/keys").status_code == 200

    rotated = nerve.cli("keys", "rotate", first["id"])
    assert rotated["role"] == "admin" and rotated["replaces"] == first["id"]
    assert _admin_api(nerve, first["secret_key"], "/api/v1/keys").status_code == 401
    keys = _admin_api(nerve, rotated["secret_key"], "/api/v1/keys")
    assert keys.status_code == 200
    assert [k["id"] for k in keys.json()["data"]] == [first["id"], analyst["id"], rotated["id"]]

    nerve.cli("keys", "revoke", analyst["id"])
    assert _admin_api(nerve, analyst["secret_key"], "/api/v1/events").status_code == 401
    listed = nerve.cli("keys", "list")
    assert [(k["id"], k["role"], k["revoked_at"] is not None) for k in listed["data"]] == [
        (first["id"], "admin", True),
        (analyst["id"], "analyst", True),
        (rotated["id"], "admin", False),
    ]
    listed_text = json.dumps(listed)
    for secret in (first["secret_key"], analyst["secret_key"], rotated["secret_key"]):
        assert secret.partition(".")[2] not in listed_text

    # The CLI acting with a revoked key is refused too.
    error = nerve.cli_error("keys", "list", NERVE_API_KEY=analyst["secret_key"])
    assert error["code"] == "unauthorized"
