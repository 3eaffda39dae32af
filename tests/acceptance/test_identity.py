"""Against a running server: the embedded resolver attaches events from every head by itself."""

from __future__ import annotations

import time
from typing import Any

import httpx
import pytest

from tests.acceptance.conftest import NerveProcess

pytestmark = pytest.mark.slow


def _wait_for(fetch: Any, ready: Any, seconds: float = 15) -> Any:
    deadline = time.monotonic() + seconds
    while True:
        value = fetch()
        if ready(value) or time.monotonic() > deadline:
            return value
        time.sleep(0.05)


def test_the_anna_scenario_on_a_running_server(nerve: NerveProcess) -> None:
    nerve.start()
    keys = {
        kind: nerve.cli("sources", "create", kind, "--kind", kind)["write_key"]
        for kind in ("app", "web", "pos")
    }
    secret = nerve.cli("keys", "create")["secret_key"]
    shoe = {"product_id": "RUN-1", "category": "Running Shoes", "brand": "Asics", "price": 120}
    sends = [
        ("app", "track", {"anonymousId": "a-phone", "event": "Product Viewed", "properties": shoe}),
        ("web", "track", {"anonymousId": "a-laptop", "event": "Product Added", "properties": shoe}),
        (
            "app",
            "identify",
            {"anonymousId": "a-phone", "userId": "anna", "traits": {"email": "anna@example.com"}},
        ),
        (
            "web",
            "identify",
            {
                "anonymousId": "a-laptop",
                "userId": "anna",
                "traits": {"email": " Anna@Example.com "},
            },
        ),
        (
            "pos",
            "track",
            {
                "anonymousId": "receipt-9",
                "event": "Order Completed",
                "properties": {"order_id": "S-9", "total": 99.5, "products": [shoe]},
                "context": {"traits": {"email": "anna@example.com"}},
            },
        ),
    ]
    for head, path, message in sends:
        assert (
            httpx.post(f"{nerve.url}/v1/{path}", json=message, auth=(keys[head], "")).status_code
            == 200
        )

    headers = {"Authorization": f"Bearer {secret}"}

    def anna() -> dict[str, Any]:
        response = httpx.get(
            f"{nerve.url}/api/v1/profiles",
            params={"identifier": "email:anna@example.com"},
            headers=headers,
        )
        return response.json() if response.status_code == 200 else {}

    person = _wait_for(anna, lambda p: p.get("computed", {}).get("order_count") == 1)
    assert person["computed"]["order_count"] == 1 and person["computed"]["total_spent"] == 99.5
    assert {s["kind"] for s in person["computed"]["sources"]} == {"app", "web", "pos"}
    assert "category:Running Shoes" in person["computed"]["interests"]
    timeline = httpx.get(
        f"{nerve.url}/api/v1/profiles/{person['id']}/timeline", headers=headers
    ).json()["data"]
    assert len(timeline) == 5
    metrics = httpx.get(f"{nerve.url}/metrics").text
    assert "nerve_identity_resolution_lag_seconds_count" in metrics
