"""`nerve connectors add|list|dead-letters|replay|remove` as an operator uses them: the secret
is never printed, the URL is, and a dead letter sent by the shop can be listed and replayed."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlsplit

from starlette.testclient import TestClient
from typer.testing import CliRunner

from nerve.cli import app
from nerve.settings import Settings, get_settings
from tests.factories import Shop
from tests.integration.connectors.conftest import VAULT_KEY, post, shopify_headers


def _nerve(settings: Settings, *args: str) -> Any:
    env = {"NERVE_DATABASE_URL": settings.database_url, "NERVE_SECRET_KEY": VAULT_KEY,
           "NERVE_AUTO_MIGRATE": "false", "NERVE_API_KEY": ""}  # fmt: skip
    get_settings.cache_clear()  # the settings are read once per process
    try:
        result = CliRunner().invoke(app, [*args, "--workspace", "shop", "--json"], env=env)
    finally:
        get_settings.cache_clear()
    return result


def test_an_operator_adds_a_connector_and_replays_its_dead_letter(
    client: TestClient, shop: Shop, settings: Settings
) -> None:
    added = _nerve(settings, "connectors", "add", "shopify", "shopify-cli",
                   "--secret", "shpss_cli_secret", "--currency", "EUR")  # fmt: skip
    assert added.exit_code == 0, added.output
    shown = json.loads(added.output)
    assert shown["webhook_url"].endswith(f"/webhooks/shopify/{shown['source_id']}")
    assert "shpss_cli_secret" not in added.output
    listed = json.loads(_nerve(settings, "connectors", "list").output)
    assert [c["name"] for c in listed["data"]] == ["shopify-cli"]
    again = _nerve(settings, "connectors", "add", "shopify", "shopify-cli", "--secret", "x")
    assert again.exit_code == 1 and json.loads(again.output)["error"]["code"] == "conflict"

    url = urlsplit(shown["webhook_url"]).path
    answer = post(client, url, "shopify", {"id": 5}, shopify_headers("app/uninstalled", "u-1"),
                  secret="shpss_cli_secret")  # fmt: skip
    assert answer.json()["outcome"] == "dead_lettered"
    letters = json.loads(_nerve(settings, "connectors", "dead-letters").output)["data"]
    assert [(d["topic"], d["reason"]) for d in letters] == [
        ("app/uninstalled", "no mapping for the shopify topic 'app/uninstalled'")
    ]
    replayed = _nerve(settings, "connectors", "replay", str(letters[0]["id"]))
    assert json.loads(replayed.output)["outcome"] == "dead_lettered"
    removed = _nerve(settings, "connectors", "remove", "shopify-cli")
    assert json.loads(removed.output) == {"name": "shopify-cli", "removed": True}
    gone = post(client, url, "shopify", {"id": 5}, shopify_headers("app/uninstalled", "u-2"),
                secret="shpss_cli_secret")  # fmt: skip
    assert gone.status_code == 404
