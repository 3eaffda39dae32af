"""Segment definitions through the API: problems with their paths, versions like flows, a
preview that saves nothing, archiving, roles."""

from __future__ import annotations

from sqlalchemy import Engine
from starlette.testclient import TestClient

from tests.factories import make_key, make_shop
from tests.integration.segments.conftest import RUNNING_FANS, apply, view
from tests.waiting import auth, until


def test_problems_name_their_paths(client: TestClient, engine: Engine) -> None:
    shop = make_shop(engine)
    bad = {
        "key": "Bad Key",
        "name": "x",
        "where": {"all": [
            {"event": "Product Viewed", "within": "7x"},
            {"trait": "plan", "equals": "gold", "contains": "g"},
            {"consent": "no_such_topic"},
            {"segment": "nowhere"},
            {"computed": "last_seen", "gt": 3},
            {"trait": "plan", "sounds_like": "gold"},
            {"cart": {}, "orders": {}},
        ]},
    }  # fmt: skip
    response = client.post("/api/v1/segments/validate", json=bad, headers=auth(shop))
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert error["code"] == "invalid_segment"
    paths = {p["path"] for p in error["details"]}
    assert {"key", "where.all[0].within", "where.all[1]", "where.all[4].gt",
            "where.all[5].sounds_like", "where.all[6]"} <= paths  # fmt: skip
    window = next(p for p in error["details"] if p["path"] == "where.all[0].within")
    assert "7x" in window["reason"]
    # The workspace's problems come once the document itself is valid.
    unknown = {"key": "k", "name": "k", "where": {"all": [{"consent": "no_such_topic"},
                                                         {"segment": "nowhere"}]}}  # fmt: skip
    response = client.post("/api/v1/segments/validate", json=unknown, headers=auth(shop))
    reasons = " ".join(p["reason"] for p in response.json()["error"]["details"])
    assert "no_such_topic" in reasons and "unknown segment 'nowhere'" in reasons


def test_cycles_between_segments_are_refused(client: TestClient, engine: Engine) -> None:
    shop = make_shop(engine)
    apply(client, shop, {"key": "a", "name": "A", "where": {"trait": "x", "exists": True}})
    apply(client, shop, {"key": "b", "name": "B", "where": {"segment": "a"}})
    cyclic = {"key": "a", "name": "A", "where": {"segment": "b"}}
    response = client.post("/api/v1/segments", json=cyclic, headers=auth(shop))
    assert response.status_code == 400
    assert "cycle" in response.json()["error"]["details"][0]["reason"]
    archived = client.delete("/api/v1/segments/a", headers=auth(shop))
    assert archived.status_code == 409  # b still reads it


def test_every_change_is_a_new_version_and_the_same_is_none(
    client: TestClient, engine: Engine
) -> None:
    shop = make_shop(engine)
    first = client.post("/api/v1/segments", json=RUNNING_FANS, headers=auth(shop))
    assert first.status_code == 201 and first.json()["version"] == 1
    same = client.post("/api/v1/segments", json=RUNNING_FANS, headers=auth(shop))
    assert same.status_code == 200 and same.json() == {"key": "running_fans", "version": 1,
                                                       "unchanged": True}  # fmt: skip
    changed = RUNNING_FANS | {"name": "Runners"}
    assert apply(client, shop, changed)["version"] == 2
    detail = client.get("/api/v1/segments/running_fans", headers=auth(shop)).json()
    assert detail["name"] == "Runners" and [v["version"] for v in detail["versions"]] == [2, 1]
    assert detail["public"] is True and detail["build"]["version"] == 2
    listed = client.get("/api/v1/segments", headers=auth(shop)).json()["segments"]
    assert [s["key"] for s in listed] == ["running_fans"]
    assert client.delete("/api/v1/segments/running_fans", headers=auth(shop)).status_code == 204
    assert client.get("/api/v1/segments/running_fans", headers=auth(shop)).status_code == 404
    assert client.get("/api/v1/segments", headers=auth(shop)).json()["segments"] == []


def test_preview_counts_and_samples_without_saving(client: TestClient, engine: Engine) -> None:
    shop = make_shop(engine)
    for n in range(3):
        for _ in range(3):
            view(client, shop, {"anonymousId": f"runner-{n}"}, "Running")
    view(client, shop, {"anonymousId": "walker"}, "Hiking")

    def previewed() -> object:
        found = client.post("/api/v1/segments/preview", json=RUNNING_FANS, headers=auth(shop))
        assert found.status_code == 200, found.text
        return found.json() if found.json()["members"] == 3 else None

    preview = until(previewed)
    assert len(preview["sample"]) == 3 and all(p.startswith("prf_") for p in preview["sample"])
    assert client.get("/api/v1/segments/running_fans", headers=auth(shop)).status_code == 404


def test_roles(client: TestClient, engine: Engine) -> None:
    shop = make_shop(engine)
    analyst = {"Authorization": f"Bearer {make_key(engine, shop.workspace_id, 'analyst')}"}
    assert client.get("/api/v1/segments", headers=analyst).status_code == 200
    refused = client.post("/api/v1/segments", json=RUNNING_FANS, headers=analyst)
    assert refused.status_code == 403
    staff = {"Authorization": f"Bearer {make_key(engine, shop.workspace_id, 'staff')}"}
    assert client.get("/api/v1/segments", headers=staff).status_code == 403
