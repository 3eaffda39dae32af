"""An erased person stays erased: events with their user id, email or phone are dropped at
ingest, until they sign up again."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine, func, select
from starlette.testclient import TestClient

from nerve.events.models import Event
from nerve.privacy.models import ErasedIdentifier
from tests.factories import Shop, make_shop
from tests.integration.profiles.test_identity import settle
from tests.waiting import auth

EMAIL, PHONE = "gone@example.com", "+4915112345678"


def _send(client: TestClient, shop: Shop, *messages: dict[str, Any]) -> None:
    response = client.post(
        "/v1/batch", json={"batch": list(messages)}, auth=(shop.write_keys["web"], "")
    )
    assert response.status_code == 200, response.text
    assert response.json() == {"success": True}


def _stored(engine: Engine, user_id: str) -> int:
    with engine.connect() as conn:
        return conn.scalar(select(func.count()).where(Event.user_id == user_id)) or 0


def _lookup(client: TestClient, shop: Shop, identifier: str) -> int:
    response = client.get("/api/v1/profiles", params={"identifier": identifier}, headers=auth(shop))
    return response.status_code


def _erase_someone(client: TestClient, engine: Engine) -> Shop:
    shop = make_shop(engine, kinds=("web",))
    _send(client, shop, {"type": "identify", "userId": "u-1",
                         "traits": {"email": EMAIL, "phone": PHONE}})  # fmt: skip
    settle(engine)
    person = client.get(
        "/api/v1/profiles", params={"identifier": f"email:{EMAIL}"}, headers=auth(shop)
    ).json()
    assert client.delete(f"/api/v1/profiles/{person['id']}", headers=auth(shop)).status_code == 204
    return shop


def test_events_of_an_erased_person_are_dropped_and_create_no_one(
    client: TestClient, engine: Engine
) -> None:
    shop = _erase_someone(client, engine)
    dropped_before = _suppressed_total(client)
    _send(
        client, shop,
        {"type": "identify", "userId": "u-2", "traits": {"email": EMAIL.upper()}},
        {"type": "track", "userId": "u-3", "event": "Product Viewed",
         "context": {"traits": {"phone": "0151 12345678"}}},  # the same phone, national form
        {"type": "track", "userId": "u-4", "event": "Product Viewed"},  # someone else
        {"type": "track", "userId": "u-1", "event": "Product Viewed"},  # their account
    )  # fmt: skip
    settle(engine)
    stored = [_stored(engine, user) for user in ("u-2", "u-3", "u-4")]
    assert stored == [0, 0, 1]
    assert _stored(engine, "u-1") == 0, "the erased person's own event is gone, the new one too"
    assert _lookup(client, shop, f"email:{EMAIL}") == 404
    assert _suppressed_total(client) - dropped_before == 3


def _suppressed_total(client: TestClient) -> float:
    for line in client.get("/metrics").text.splitlines():
        if line.startswith("nerve_events_suppressed_total "):
            return float(line.split()[1])
    raise AssertionError("no nerve_events_suppressed_total on /metrics")


def test_signing_up_again_is_consent_anew(client: TestClient, engine: Engine) -> None:
    shop = _erase_someone(client, engine)
    _send(
        client, shop,
        {"type": "track", "userId": "u-5", "event": "Signed Up",
         "context": {"traits": {"email": EMAIL}}},
        {"type": "identify", "userId": "u-5", "traits": {"email": EMAIL, "phone": PHONE}},
    )  # fmt: skip
    # The phone came with the sign-up's later identify, not with the sign-up: still erased.
    assert (_stored(engine, "u-5")) == 1
    _send(client, shop, {"type": "identify", "userId": "u-5", "traits": {"email": EMAIL}})
    settle(engine)
    assert _stored(engine, "u-5") == 2
    assert _lookup(client, shop, f"email:{EMAIL}") == 200
    with engine.connect() as conn:
        kept = set(conn.scalars(select(ErasedIdentifier.type)))
    assert kept == {"phone", "user_id"}
