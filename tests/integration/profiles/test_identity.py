"""Identity resolution and the 360° profile through the real API and database."""

from __future__ import annotations

import time
from typing import Any

from sqlalchemy import Engine, func, select
from starlette.testclient import TestClient

from nerve.events.models import Event
from nerve.identity.resolver import resolve_pending
from nerve.pipeline import CONSUMERS
from tests.factories import Shop, make_shop


def settle(engine: Engine) -> None:
    """Resolve every stored event now (the embedded worker may be doing the same)."""
    deadline = time.monotonic() + 10
    while True:
        resolve_pending(engine, CONSUMERS)
        with engine.connect() as conn:
            pending = conn.scalar(select(func.count()).where(Event.profile_id.is_(None)))
        if pending == 0:
            return
        assert time.monotonic() < deadline, f"{pending} events still unresolved"
        time.sleep(0.02)


def _send(client: TestClient, shop: Shop, head: str, path: str, message: dict[str, Any]) -> None:
    response = client.post(f"/v1/{path}", json=message, auth=(shop.write_keys[head], ""))
    assert response.status_code == 200, response.text


def _get(client: TestClient, shop: Shop, path: str, **params: Any) -> Any:
    response = client.get(
        path, params=params, headers={"Authorization": f"Bearer {shop.secret_key}"}
    )
    assert response.status_code == 200, response.text
    return response.json()


def test_anna_across_app_laptop_and_store_is_one_person(client: TestClient, engine: Engine) -> None:
    shop = make_shop(engine, kinds=("app", "web", "pos"))
    running = {"product_id": "RUN-1", "category": "Running Shoes", "brand": "Asics", "price": 120}
    _send(
        client,
        shop,
        "app",
        "track",
        {
            "anonymousId": "phone-1",
            "event": "Product Viewed",
            "properties": running,
            "timestamp": "2026-11-01T08:00:00Z",
            "context": {"timezone": "Europe/Berlin"},
        },
    )
    _send(
        client,
        shop,
        "web",
        "track",
        {
            "anonymousId": "laptop-1",
            "event": "Product Added",
            "properties": running,
            "timestamp": "2026-11-01T09:00:00Z",
        },
    )
    _send(
        client,
        shop,
        "app",
        "identify",
        {
            "anonymousId": "phone-1",
            "userId": "anna-42",
            "traits": {"email": "anna@example.com", "name": "Anna"},
            "timestamp": "2026-11-01T10:00:00Z",
        },
    )
    _send(
        client,
        shop,
        "web",
        "identify",
        {
            "anonymousId": "laptop-1",
            "userId": "anna-42",
            "traits": {"email": "  Anna@Example.COM ", "name": "Anna Schmidt"},
            "timestamp": "2026-11-01T11:00:00Z",
        },
    )
    order = {
        "order_id": "POS-1001",
        "total": 129.9,
        "revenue": 120,
        "currency": "EUR",
        "products": [running],
    }
    _send(
        client,
        shop,
        "pos",
        "track",
        {
            "anonymousId": "receipt-1001",
            "event": "Order Completed",
            "properties": order,
            "context": {"traits": {"email": "anna@example.com"}},
            "timestamp": "2026-11-02T15:00:00Z",
        },
    )
    settle(engine)

    person = _get(client, shop, "/api/v1/profiles", identifier="email:anna@example.com")
    assert person == _get(client, shop, "/api/v1/profiles", identifier="user_id:anna-42")
    assert person == _get(client, shop, "/api/v1/profiles", identifier="anonymous_id:laptop-1")
    assert person["traits"]["name"] == "Anna Schmidt"  # the later event wins
    computed = person["computed"]
    assert computed["order_count"] == 1 and computed["total_spent"] == 129.9
    assert computed["average_order_value"] == 129.9
    assert computed["timezone"] == "Europe/Berlin"
    assert {s["kind"] for s in computed["sources"]} == {"app", "web", "pos"}
    interests = computed["interests"]
    assert interests["category:Running Shoes"] == interests["brand:Asics"] > 0
    assert computed["first_seen"].startswith("2026-11-01T08:00")

    timeline = _get(client, shop, f"/api/v1/profiles/{person['id']}/timeline")["data"]
    assert [e["sourceId"] for e in timeline] == [
        shop.source_ids[h] for h in ("app", "web", "app", "web", "pos")
    ]
    assert [e["timestamp"] for e in timeline] == sorted(e["timestamp"] for e in timeline)
    merges = _get(client, shop, f"/api/v1/profiles/{person['id']}/merges")["data"]
    assert [m["kind"] for m in merges] == ["merged"] and merges[0]["event_id"]
    # A merged-away profile id still resolves to the survivor.
    assert _get(client, shop, f"/api/v1/profiles/{merges[0]['merged_id']}")["id"] == person["id"]


def test_two_customers_on_one_kiosk_stay_two_people(client: TestClient, engine: Engine) -> None:
    shop = make_shop(engine, kinds=("kiosk",))
    _send(
        client,
        shop,
        "kiosk",
        "page",
        {"anonymousId": "kiosk-7", "name": "Welcome", "timestamp": "2026-11-01T10:00:00Z"},
    )
    _send(
        client,
        shop,
        "kiosk",
        "identify",
        {"anonymousId": "kiosk-7", "userId": "ben", "timestamp": "2026-11-01T10:01:00Z"},
    )
    _send(
        client,
        shop,
        "kiosk",
        "identify",
        {"anonymousId": "kiosk-7", "userId": "cleo", "timestamp": "2026-11-01T11:00:00Z"},
    )
    _send(
        client,
        shop,
        "kiosk",
        "track",
        {"anonymousId": "kiosk-7", "event": "Product Viewed", "timestamp": "2026-11-01T11:05:00Z"},
    )
    settle(engine)

    ben = _get(client, shop, "/api/v1/profiles", identifier="user_id:ben")
    cleo = _get(client, shop, "/api/v1/profiles", identifier="user_id:cleo")
    assert ben["id"] != cleo["id"]
    # From the second login on, the device is Cleo's.
    assert (
        _get(client, shop, "/api/v1/profiles", identifier="anonymous_id:kiosk-7")["id"]
        == cleo["id"]
    )
    cleo_events = [
        e.get("event") or e["type"]
        for e in _get(client, shop, f"/api/v1/profiles/{cleo['id']}/timeline")["data"]
    ]
    assert cleo_events == ["identify", "Product Viewed"]
    log = _get(client, shop, f"/api/v1/profiles/{cleo['id']}/merges")["data"]
    rejected = [m for m in log if m["kind"] == "rejected"]
    assert rejected and "user_id" in rejected[0]["reason"]
    assert any(m["kind"] == "relinked" for m in log)


def test_unmerge_gives_back_identifiers_events_and_traits(
    client: TestClient, engine: Engine
) -> None:
    shop = make_shop(engine, kinds=("web",))
    _send(
        client,
        shop,
        "web",
        "identify",
        {
            "anonymousId": "shared-laptop",
            "traits": {"favourite": "trail"},
            "timestamp": "2026-11-01T10:00:00Z",
        },
    )
    _send(
        client,
        shop,
        "web",
        "identify",
        {"userId": "dora", "traits": {"favourite": "road"}, "timestamp": "2026-11-01T09:00:00Z"},
    )
    _send(
        client,
        shop,
        "web",
        "identify",
        {"userId": "dora", "anonymousId": "shared-laptop", "timestamp": "2026-11-01T12:00:00Z"},
    )
    settle(engine)
    dora = _get(client, shop, "/api/v1/profiles", identifier="user_id:dora")
    assert dora["traits"]["favourite"] == "trail" and len(dora["merged_ids"]) == 1
    merged_id = dora["merged_ids"][0]

    response = client.post(
        f"/api/v1/profiles/{merged_id}/unmerge",
        headers={"Authorization": f"Bearer {shop.secret_key}"},
    )
    assert response.status_code == 200, response.text
    dora_after = _get(client, shop, "/api/v1/profiles", identifier="user_id:dora")
    laptop = _get(client, shop, "/api/v1/profiles", identifier="anonymous_id:shared-laptop")
    assert laptop["id"] == merged_id != dora_after["id"]
    assert dora_after["traits"] == {"favourite": "road"} and laptop["traits"] == {
        "favourite": "trail"
    }
    assert len(_get(client, shop, f"/api/v1/profiles/{merged_id}/timeline")["data"]) == 1
    again = client.post(
        f"/api/v1/profiles/{merged_id}/unmerge",
        headers={"Authorization": f"Bearer {shop.secret_key}"},
    )
    assert again.status_code == 404 and again.json()["error"]["code"] == "not_found"


def test_profile_api_errors(client: TestClient, engine: Engine) -> None:
    shop = make_shop(engine, kinds=("web",))
    headers = {"Authorization": f"Bearer {shop.secret_key}"}
    for params, status in (
        ({"identifier": "nocolon"}, 400),
        ({"identifier": "email:nobody@example.com"}, 404),
        ({}, 400),
    ):
        response = client.get("/api/v1/profiles", params=params, headers=headers)
        assert response.status_code == status and set(response.json()) == {"error"}
    # An identifier type Nerve has never seen is a mistake in the request, not a missing
    # person: 400, listing the types it knows.
    unknown = client.get("/api/v1/profiles", params={"identifier": "mail:a@b.c"}, headers=headers)
    assert unknown.status_code == 400, unknown.text
    assert "email" in unknown.json()["error"]["details"]["identifier_types"]
    # A type first seen as context.externalIds is known from then on: 404 for another value.
    _send(client, shop, "web", "identify",
          {"userId": "u-ext", "context": {"externalIds": [{"id": "77", "type": "crm_id"}]}})  # fmt: skip
    settle(engine)
    assert _get(client, shop, "/api/v1/profiles", identifier="crm_id:77")["id"]
    other = client.get("/api/v1/profiles", params={"identifier": "crm_id:78"}, headers=headers)
    assert other.status_code == 404
    assert client.get("/api/v1/profiles/prf_nope", headers=headers).status_code == 404
    assert client.get("/api/v1/profiles/prf_nope").status_code == 401


def test_merge_rules_are_configurable_per_workspace(client: TestClient, engine: Engine) -> None:
    shop = make_shop(engine, kinds=("web",))
    headers = {"Authorization": f"Bearer {shop.secret_key}"}
    assert client.get("/api/v1/identity/rules", headers=headers).json()["unique_types"] == [
        "user_id",
        "email",
    ]
    bad = client.put("/api/v1/identity/rules", json={"max_anonymous_ids": 0}, headers=headers)
    assert bad.status_code == 400 and bad.json()["error"]["code"] == "invalid_request"
    rules = client.put(
        "/api/v1/identity/rules",
        json={"unique_types": ["user_id"], "max_anonymous_ids": 1},
        headers=headers,
    )
    assert rules.status_code == 200 and rules.json()["max_anonymous_ids"] == 1

    # With email no longer unique, two emails may share a profile; one anonymous id per profile.
    _send(
        client, shop, "web", "identify", {"userId": "eve", "traits": {"email": "eve@work.example"}}
    )
    _send(
        client, shop, "web", "identify", {"userId": "eve", "traits": {"email": "eve@home.example"}}
    )
    _send(client, shop, "web", "identify", {"userId": "eve", "anonymousId": "dev-1"})
    _send(client, shop, "web", "identify", {"userId": "eve", "anonymousId": "dev-2"})
    settle(engine)
    eve = _get(client, shop, "/api/v1/profiles", identifier="user_id:eve")
    assert {i["value"] for i in eve["identifiers"]} == {
        "eve",
        "eve@work.example",
        "eve@home.example",
        "dev-1",
    }
    log = _get(client, shop, f"/api/v1/profiles/{eve['id']}/merges")["data"]
    assert any(m["kind"] == "rejected" and "anonymous" in m["reason"] for m in log)
