"""What the recommendation tests share: a small running-and-coffee shop, orders sent as a
head's `Order Completed` events (backdated where the test needs it), and the calls."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import Engine
from starlette.testclient import TestClient

from nerve.catalog import service as catalog
from nerve.catalog.schemas import ProductIn
from nerve.db.engine import write_transaction
from tests.factories import Shop
from tests.integration.carts.conftest import admin, settle, track

# sku: (name, price, category, usage days)
PRODUCTS: dict[str, tuple[str, str, str, int | None]] = {
    "SHOE-1": ("Trail shoe", "120.00", "Running > Shoes", None),
    "SOCK-1": ("Running sock", "9.99", "Running > Socks", None),
    "BOTTLE-1": ("Trail bottle", "19.90", "Running > Bottles", None),
    "CAP-1": ("Cap", "25.00", "Apparel > Caps", None),
    "COFFEE-1": ("House blend", "12.50", "Home > Coffee", 30),
    "TEA-1": ("Green tea", "6.50", "Home > Tea", 30),
    "OUT-1": ("Sold-out gaiter", "15.00", "Running > Gaiters", None),
    "OLD-1": ("Last year's vest", "45.00", "Running > Vests", None),
}


def stock(engine: Engine, shop: Shop) -> None:
    with write_transaction(engine) as conn:
        catalog.upsert_products(conn, shop.workspace_id, [
            ProductIn(sku=sku, name=name, price=Decimal(price), currency="EUR",
                      category=category, usage_days=usage, url=f"https://shop.example/p/{sku}",
                      image_url=f"https://shop.example/i/{sku}.jpg")
            for sku, (name, price, category, usage) in PRODUCTS.items()
        ])  # fmt: skip
        for sku in PRODUCTS:
            catalog.set_inventory(conn, shop.workspace_id, sku, on_hand=10)


def order(
    client: TestClient, shop: Shop, user: str, order_id: str, skus: list[str], days_ago: float = 1
) -> None:
    at = datetime.now(UTC) - timedelta(days=days_ago)
    track(client, shop.write_keys["web"], "track", {
        "userId": user, "event": "Order Completed", "timestamp": at.isoformat(),
        "properties": {"order_id": order_id, "currency": "EUR", "products": [
            {"sku": sku, "price": float(PRODUCTS[sku][1]), "quantity": 1} for sku in skus]},
    })  # fmt: skip


def viewed(client: TestClient, shop: Shop, user: str, sku: str) -> None:
    track(client, shop.write_keys["web"], "track",
          {"userId": user, "event": "Product Viewed", "properties": {"sku": sku}})  # fmt: skip


def profile_id(client: TestClient, shop: Shop, user: str) -> str:
    found = admin(client, shop.secret_key, "GET", "/api/v1/profiles",
                  params={"identifier": f"user_id:{user}"})  # fmt: skip
    assert found.status_code == 200, found.text
    return str(found.json()["id"])


def skus(response: Any) -> list[str]:
    assert response.status_code == 200, response.text
    return [item["sku"] for item in response.json()["items"]]


__all__ = ["admin", "order", "profile_id", "settle", "skus", "stock", "viewed"]
