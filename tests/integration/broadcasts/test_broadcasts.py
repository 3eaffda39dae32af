"""A broadcast through the real API: the blast radius before, one run per member after, each
once; a scheduled one waits for its time; what cannot be a broadcast is refused with a path."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine
from starlette.testclient import TestClient

from nerve.audit import service as audit
from tests.factories import Shop, make_key
from tests.integration.broadcasts.steps import (
    broadcast,
    people,
    publish,
    runs,
    seed_segment,
    sleeper,
)
from tests.waiting import auth, until


def test_the_audience_is_shown_before_and_every_member_enters_once(
    client: TestClient, shop: Shop, engine: Engine
) -> None:
    members = people(1200)
    seed_segment(engine, shop.workspace_id, "vip", members)
    seed_segment(engine, shop.workspace_id, "others", people(1300)[1200:])
    publish(client, shop, sleeper("newsletter", "vip"))
    preview = client.post("/api/v1/flows/newsletter/broadcasts/preview", json={},
                          headers=auth(shop))  # fmt: skip
    assert preview.status_code == 200, preview.text
    assert preview.json()["audience"] == 1200 and preview.json()["estimated_runs"] == 1200
    assert runs(engine) == (0, 0)  # a preview starts nothing
    started = client.post("/api/v1/flows/newsletter/broadcasts", json={}, headers=auth(shop))
    assert started.status_code == 201, started.text
    assert started.json()["status"] == "running" and started.json()["audience"] == 1200
    done = until(lambda: (b := broadcast(client, shop, started.json()["id"]))["status"] == "done"
                 and b)  # fmt: skip
    assert (done["entered"], done["skipped"], done["percent"]) == (1200, 0, 100.0)
    assert runs(engine) == (1200, 1200)
    listed = client.get("/api/v1/flows/newsletter/broadcasts", headers=auth(shop)).json()
    assert [b["id"] for b in listed["data"]] == [done["id"]]
    with engine.connect() as conn:
        logged = audit.entries(conn, shop.workspace_id)
    assert ("broadcast.started", done["id"]) in [(e["action"], e["target"]) for e in logged]


def test_a_condition_on_the_person_lets_in_only_those_it_holds_for(
    client: TestClient, shop: Shop, engine: Engine
) -> None:
    for user, country in (("ann", "DE"), ("bob", "FR"), ("cid", "DE")):
        sent = client.post("/v1/identify", json={"userId": user, "traits": {"country": country}},
                           auth=(shop.write_keys["web"], ""))  # fmt: skip
        assert sent.status_code == 200

    def person(user: str) -> str | None:
        found = client.get("/api/v1/profiles", params={"identifier": f"user_id:{user}"},
                           headers=auth(shop))  # fmt: skip
        return found.json()["id"] if found.status_code == 200 else None

    ids = [until(lambda u=user: person(u)) for user in ("ann", "bob", "cid")]  # type: ignore[misc]
    seed_segment(engine, shop.workspace_id, "everyone", ids)
    publish(client, shop, sleeper("german", "everyone", where='profile.traits.country == "DE"'))
    preview = client.post("/api/v1/flows/german/broadcasts/preview", json={}, headers=auth(shop))
    assert (preview.json()["audience"], preview.json()["passing"]) == (3, 2)
    started = client.post("/api/v1/flows/german/broadcasts", json={}, headers=auth(shop)).json()
    done = until(lambda: (b := broadcast(client, shop, started["id"]))["status"] == "done" and b)
    assert (done["entered"], done["skipped"]) == (2, 1)
    assert runs(engine) == (2, 2)


def test_a_scheduled_broadcast_waits_for_its_time(
    client: TestClient, shop: Shop, engine: Engine
) -> None:
    seed_segment(engine, shop.workspace_id, "vip", people(10))
    publish(client, shop, sleeper("newsletter", "vip"))
    at = (datetime.now(UTC) + timedelta(seconds=1.5)).isoformat()
    started = client.post("/api/v1/flows/newsletter/broadcasts", json={"at": at},
                          headers=auth(shop)).json()  # fmt: skip
    assert started["status"] == "scheduled" and started["audience"] is None
    assert broadcast(client, shop, started["id"])["entered"] == 0 and runs(engine) == (0, 0)
    done = until(lambda: (b := broadcast(client, shop, started["id"]))["status"] == "done" and b)
    assert done["audience"] == 10 and runs(engine) == (10, 10)


def test_what_cannot_be_a_broadcast_is_refused_with_the_path(
    client: TestClient, shop: Shop, engine: Engine
) -> None:
    seed_segment(engine, shop.workspace_id, "vip", people(3))
    unknown = publish(client, shop, sleeper("typo", "vipp"), status=400)
    assert [p["path"] for p in unknown["error"]["details"]] == ["trigger.segment"]
    schedule = sleeper("weekly", "vip", event="schedule", every="10m")
    problems = publish(client, shop, schedule, status=400)["error"]["details"]
    assert sorted(p["path"] for p in problems) == ["trigger.at", "trigger.every"]
    wrong = publish(client, shop, sleeper("odd", "vip", event="Order Completed"), status=400)
    assert [p["path"] for p in wrong["error"]["details"]] == ["trigger.event"]
    # Not started by hand: an event flow, a flow that starts on a catalog event, no flow.
    publish(client, shop, {"name": "plain", "trigger": {"event": "Order Completed"},
                           "nodes": [{"id": "w", "wait": "1d"}]})  # fmt: skip
    publish(client, shop, sleeper("price", "vip", event="price_changed"))
    for name, status in (("plain", 409), ("price", 409), ("missing", 404)):
        answer = client.post(f"/api/v1/flows/{name}/broadcasts", json={}, headers=auth(shop))
        assert answer.status_code == status, answer.text
        assert answer.json()["error"]["code"] in ("conflict", "not_found")
    naive = client.post("/api/v1/flows/price/broadcasts", json={"at": "2030-01-01T09:00:00"},
                        headers=auth(shop))  # fmt: skip
    assert naive.status_code == 400
    assert naive.json()["error"]["details"][0]["location"] == ["body", "at"]


def test_a_builder_starts_a_broadcast_and_an_analyst_follows_it(
    client: TestClient, shop: Shop, engine: Engine
) -> None:
    seed_segment(engine, shop.workspace_id, "vip", people(3))
    publish(client, shop, sleeper("newsletter", "vip"))
    analyst = {"Authorization": f"Bearer {make_key(engine, shop.workspace_id, 'analyst')}"}
    builder = {"Authorization": f"Bearer {make_key(engine, shop.workspace_id, 'builder')}"}
    path = "/api/v1/flows/newsletter/broadcasts"
    assert client.post(f"{path}/preview", json={}, headers=builder).json()["audience"] == 3
    for write in (f"{path}/preview", path):
        assert client.post(write, json={}, headers=analyst).status_code == 403
    started = client.post(path, json={}, headers=builder)
    assert started.status_code == 201
    assert client.get(path, headers=analyst).json()["data"][0]["id"] == started.json()["id"]
