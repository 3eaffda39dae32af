"""What the cart tests share: a shop with a small catalog, settling the event pipeline, and
calls with a secret key or a head's write key."""

from __future__ import annotations

import time
from decimal import Decimal
from typing import Any

from sqlalchemy import Engine, func, select
from starlette.testclient import TestClient

from nerve.catalog import service as catalog
from nerve.catalog.schemas import ProductIn
from nerve.db.engine import write_transaction
from nerve.events.models import Event
from nerve.identity.resolver import resolve_pending
from nerve.pipeline import CONSUMERS
from tests.factories import Shop

PRODUCTS = {"SHOE-1": ("Trail shoe", "120.00"), "SOCK-1": ("Running sock", "9.99"),
            "CAP-1": ("Cap", "25.00")}  # fmt: skip


def stock_catalog(engine: Engine, shop: Shop) -> None:
    with write_transaction(engine) as conn:
        catalog.upsert_products(conn, shop.workspace_id, [
            ProductIn(sku=sku, name=name, price=Decimal(price), currency="EUR")
            for sku, (name, price) in PRODUCTS.items()
        ])  # fmt: skip
        for sku in PRODUCTS:
            catalog.set_inventory(conn, shop.workspace_id, sku, on_hand=10)


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


def admin(client: TestClient, key: str, method: str, path: str, **kwargs: Any) -> Any:
    return client.request(method, path, headers={"Authorization": f"Bearer {key}"}, **kwargs)


def head(client: TestClient, write_key: str, method: str, path: str, **kwargs: Any) -> Any:
    return client.request(method, path, auth=(write_key, ""), **kwargs)


def track(client: TestClient, write_key: str, path: str, message: dict[str, Any]) -> None:
    response = client.post(f"/v1/{path}", json=message, auth=(write_key, ""))
    assert response.status_code == 200, response.text
