"""What the segment tests share: sending a head's events, reading a person's segments and
the metric that counts evaluations."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from prometheus_client import REGISTRY
from starlette.testclient import TestClient

from tests.factories import Shop
from tests.waiting import auth

RUNNING_FANS = {
    "key": "running_fans",
    "name": "Running fans",
    "public": True,
    "where": {"all": [
        {"event": "Product Viewed", "properties": {"category": "Running"}, "at_least": 3,
         "within": "7d"},
        {"not": {"event": "Order Completed", "within": "30d"}},
    ]},
}  # fmt: skip


def send(client: TestClient, shop: Shop, kind: str, message: dict[str, Any]) -> None:
    response = client.post(f"/v1/{kind}", json=message, auth=(shop.write_keys["web"], ""))
    assert response.status_code == 200, response.text


def view(client: TestClient, shop: Shop, who: dict[str, str], category: str,
         at: datetime | None = None) -> None:  # fmt: skip
    message: dict[str, Any] = {**who, "event": "Product Viewed", "messageId": uuid.uuid4().hex,
                               "properties": {"sku": "SHOE-1", "category": category}}  # fmt: skip
    if at is not None:
        message["timestamp"] = at.isoformat()
    send(client, shop, "track", message)


def apply(client: TestClient, shop: Shop, definition: dict[str, Any]) -> Any:
    response = client.post("/api/v1/segments", json=definition, headers=auth(shop))
    assert response.status_code in (200, 201), response.text
    return response.json()


def person_id(client: TestClient, shop: Shop, identifier: str) -> str | None:
    found = client.get("/api/v1/profiles", params={"identifier": identifier},
                       headers=auth(shop))  # fmt: skip
    return found.json()["id"] if found.status_code == 200 else None


def segments_of(client: TestClient, shop: Shop, identifier: str) -> list[str]:
    person = person_id(client, shop, identifier)
    if person is None:
        return []
    found = client.get(f"/api/v1/profiles/{person}/segments", headers=auth(shop))
    assert found.status_code == 200, found.text
    return [s["key"] for s in found.json()["segments"]]


def evaluations(key: str) -> float:
    return REGISTRY.get_sample_value("nerve_segment_evaluations_total", {"segment": key}) or 0.0


def ready(client: TestClient, shop: Shop, key: str) -> Any:
    """Wait for the segment's background build to finish; its detail."""
    from tests.waiting import until

    def built() -> Any:
        detail = client.get(f"/api/v1/segments/{key}", headers=auth(shop)).json()
        return detail if detail["status"] == "ready" else None

    return until(built)
