"""What the personalization tests share: saving slots with the admin key, asking
`/v1/personalize` as a head, tracking a device's events and settling the pipeline."""

from __future__ import annotations

import time
from typing import Any

from starlette.testclient import TestClient

from tests.factories import Shop
from tests.integration.carts.conftest import admin, settle, track

__all__ = ["admin", "settle", "track"]

BANNER: dict[str, Any] = {
    "key": "home_banner",
    "name": "Home page banner",
    "default": "winter_jacket",
    "variants": [
        {"key": "winter_jacket", "content": {"title": "Winter jackets -20 %", "image": "/w.jpg"}},
        {"key": "running_shoes", "content": {"title": "New running shoes", "image": "/r.jpg"}},
    ],
    "rules": [
        {"name": "runners", "when": {"interest": {"key": "category:Running", "top": 1}},
         "variant": "running_shoes"},
    ],
}  # fmt: skip


def save_slot(client: TestClient, shop: Shop, slot: dict[str, Any], status: int = 201) -> Any:
    saved = admin(client, shop.secret_key, "POST", "/api/v1/slots", json=slot)
    assert saved.status_code == status, saved.text
    return saved.json()


def personalize(client: TestClient, write_key: str, expect: int = 200, **params: Any) -> Any:
    answer = client.get("/v1/personalize", params=params, auth=(write_key, ""))
    assert answer.status_code == expect, answer.text
    return answer.json()


def stats(client: TestClient, shop: Shop, slot: str, impressions: int) -> list[dict[str, Any]]:
    """The slot's stats once `impressions` are written (the log writes them each second)."""
    deadline = time.monotonic() + 10
    while True:
        found = admin(client, shop.secret_key, "GET", f"/api/v1/slots/{slot}/stats")
        assert found.status_code == 200, found.text
        rows: list[dict[str, Any]] = found.json()["data"]
        if sum(row["impressions"] for row in rows) >= impressions:
            return rows
        assert time.monotonic() < deadline, rows
        time.sleep(0.1)


def view(client: TestClient, write_key: str, category: str, **ids: str) -> None:
    track(client, write_key, "track", {**ids, "event": "Product Viewed",
                                       "properties": {"sku": "SHOE-1", "category": category}})  # fmt: skip
