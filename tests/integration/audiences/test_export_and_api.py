"""The CSV export lists exactly the current members' hashes (of those who allow the topic),
through the API and the CLI; bad input answers in the error shape with its path."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import orjson
from sqlalchemy import Engine
from starlette.testclient import TestClient
from typer.testing import CliRunner

from nerve.cli import app
from nerve.settings import get_settings
from tests.factories import Shop, make_key
from tests.integration.audiences.conftest import (
    audience,
    consent_to_ads,
    endpoint,
    members,
    ok,
    person,
    segment,
    sha,
)
from tests.waiting import auth, until


def _export(client: TestClient, shop: Shop, audience_id: str) -> list[dict[str, str]]:
    answer = client.get(f"/api/v1/audiences/{audience_id}/export.csv", headers=auth(shop))
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"].startswith("text/csv")
    return list(csv.DictReader(io.StringIO(answer.text)))


def test_the_export_lists_exactly_the_current_members_who_allow_it(
    client: TestClient, shop: Shop, engine: Engine, database_url: str, tmp_path: Path
) -> None:
    segment(client, shop)
    consent_to_ads(client, shop, "anna@example.com")
    person(client, shop, "anna", email="anna@example.com", phone="+4915112345678", tier="vip")
    person(client, shop, "dora", email="dora@example.com", tier="vip")
    person(client, shop, "emil", email="emil@example.com", tier="vip")
    until(lambda: members(client, shop) == 3)
    person(client, shop, "emil", tier="regular")  # left again
    until(lambda: members(client, shop) == 2)
    everyone = audience(client, shop, name="all_vips", destination="csv", endpoint=None)
    consenting = audience(client, shop, name="ads_vips", destination="csv", endpoint=None,
                          consent_topic="ads")  # fmt: skip

    rows = _export(client, shop, everyone["id"])
    assert sorted(r["email_sha256"] for r in rows) == sorted(
        [sha("anna@example.com"), sha("dora@example.com")])  # fmt: skip
    [anna] = _export(client, shop, consenting["id"])
    assert anna == {"email_sha256": sha("anna@example.com"), "phone_sha256": sha("4915112345678"),
                    "phone_e164_sha256": sha("+4915112345678"), "external_id": sha("anna")}  # fmt: skip

    written = tmp_path / "vips.csv"
    env = {
        "NERVE_DATABASE_URL": database_url,
        "NERVE_API_KEY": make_key(engine, shop.workspace_id, "analyst"),
    }
    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(app, ["audiences", "export", consenting["id"], "-o",
                                          str(written), "--json"], env=env)  # fmt: skip
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 0, result.output
    assert orjson.loads(result.stdout) == {"exported": 1, "output": str(written)}
    assert sha("anna@example.com") in written.read_text() and "dora" not in written.read_text()


def test_bad_input_answers_with_its_path(client: TestClient, shop: Shop) -> None:
    segment(client, shop)
    new = {"name": "meta_vips", "segment": "vips", "destination": "csv"}
    for change, path in (
        ({"segment": "nobody"}, "segment"),
        ({"destination": "fax"}, "destination"),
        ({"destination": "webhook"}, "endpoint"),
        ({"destination": "webhook", "endpoint": "missing"}, "endpoint"),
        ({"endpoint": "ads-bridge"}, "endpoint"),
        ({"consent_topic": "nope"}, "consent_topic"),
        ({"name": "Bad Name"}, "name"),
        ({"members": 3}, "members"),
    ):
        answer = client.post("/api/v1/audiences", json=new | change, headers=auth(shop))
        assert answer.status_code == 400, (change, answer.text)
        assert path in answer.text, (change, answer.text)
    csv_only = new
    ok(client.post("/api/v1/audiences", json=csv_only, headers=auth(shop)), 201)
    taken = client.post("/api/v1/audiences", json=csv_only, headers=auth(shop))
    assert taken.status_code == 409 and taken.json()["error"]["code"] == "conflict"
    assert client.get("/api/v1/audiences/aud_nope", headers=auth(shop)).status_code == 404
    assert client.get("/api/v1/audiences/aud_nope/export.csv",
                      headers=auth(shop)).status_code == 404  # fmt: skip


def test_pause_resume_and_delete(client: TestClient, shop: Shop, engine: Engine) -> None:
    segment(client, shop)
    endpoint(client, shop, "http://127.0.0.1:9/unused")
    made = audience(client, shop)
    path = f"/api/v1/audiences/{made['id']}"
    assert ok(client.post(f"{path}/pause", headers=auth(shop)))["status"] == "paused"
    listed = ok(client.get("/api/v1/audiences", headers=auth(shop)))["data"]
    assert [(a["name"], a["status"]) for a in listed] == [("meta_vips", "paused")]
    assert ok(client.post(f"{path}/resume", headers=auth(shop)))["status"] == "active"
    assert client.delete(path, headers=auth(shop)).status_code == 204
    assert client.get(path, headers=auth(shop)).status_code == 404
    analyst = {"Authorization": f"Bearer {make_key(engine, shop.workspace_id, 'analyst')}"}
    assert client.get("/api/v1/audiences", headers=analyst).status_code == 200
    refused = client.post("/api/v1/audiences", json={}, headers=analyst)
    assert refused.status_code == 403
