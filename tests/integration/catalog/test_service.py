"""The catalog's service: offers for carts, upserts by sku, stock, and the events each change
emits once (both databases)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from sqlalchemy import Engine, select

from nerve.catalog import service
from nerve.catalog.schemas import InventoryIn, ProductIn
from nerve.db.base import table
from nerve.db.engine import write_transaction
from nerve.flows.models import ShopEvent
from tests.factories import make_shop


def _product(sku: str, **fields: Any) -> ProductIn:
    base: dict[str, Any] = {"sku": sku, "name": f"Shirt {sku}", "price": "19.99",
                            "currency": "EUR"}  # fmt: skip
    return ProductIn.model_validate(base | fields)


def _events(engine: Engine) -> list[tuple[str, dict[str, Any]]]:
    events = table(ShopEvent).c
    with engine.connect() as conn:
        rows = conn.execute(select(events.name, events.properties).order_by(events.id))
        return [(r.name, r.properties) for r in rows]


def test_offers_give_price_status_and_stock_summed_over_locations(engine: Engine) -> None:
    shop = make_shop(engine)
    with write_transaction(engine) as conn:
        service.upsert_products(conn, shop.workspace_id, [
            _product("TEE-1", product_id="TEE", price="19.90", url="https://s.example/tee"),
            _product("TEE-2", product_id="TEE", status="draft"),
            _product("O'NEILL-\\1", name="Quoted"),  # written into the SQL: escaped
        ])  # fmt: skip
        service.update_inventory(conn, shop.workspace_id, [
            InventoryIn(sku="TEE-1", on_hand=5, reserved=1),
            InventoryIn(sku="TEE-1", location="store", on_hand=2),
        ])  # fmt: skip
    with engine.connect() as conn:
        found = service.offers(
            conn, shop.workspace_id, ["TEE-1", "TEE-2", "NOPE", "O'NEILL-\\1", "NUL\x00"]
        )
    assert set(found) == {"TEE-1", "TEE-2", "O'NEILL-\\1"}
    tee = found["TEE-1"]
    assert (tee.product_id, tee.price, tee.currency, tee.status) == (
        "TEE",
        Decimal("19.90"),
        "EUR",
        "active",
    )
    assert tee.available == 6
    assert tee.url == "https://s.example/tee"
    assert found["TEE-2"].available is None
    assert found["TEE-2"].status == "draft"


def test_a_change_emits_its_events_once(engine: Engine) -> None:
    shop = make_shop(engine)
    ws = shop.workspace_id
    complete = {"gtin": "4006381333931", "category": ["Apparel", "Shirts"],
                "image_url": "https://i.example/1.jpg", "image_alt": "A red shirt"}  # fmt: skip
    for _ in range(2):  # the second time is the same state: nothing new
        with write_transaction(engine) as conn:
            service.upsert_products(conn, ws, [_product("A", collections=["Summer"], **complete)])
    assert [n for n, _ in _events(engine)] == ["product_published", "collection_published"]
    for _ in range(2):
        with write_transaction(engine) as conn:
            result = service.upsert_products(conn, ws, [_product("A", price="17.50", **complete)])
    assert result.changed == 0
    name, properties = _events(engine)[-1]
    assert name == "price_changed"
    assert properties["old_price"] == "19.99" and properties["new_price"] == "17.50"
    assert properties["currency"] == "EUR"


def test_stock_crossings_emit_below_minimum_out_of_stock_and_back_in_stock(
    engine: Engine,
) -> None:
    shop = make_shop(engine)
    ws = shop.workspace_id
    for on_hand in (10, 4, 3, 3, 0, 0, 5):
        with write_transaction(engine) as conn:
            service.set_inventory(conn, ws, "A", on_hand=on_hand, minimum=5)
    assert _events(engine) == [
        ("stock_below_minimum", {"sku": "A", "location": "default", "minimum": 5, "level": 4}),
        ("out_of_stock", {"sku": "A", "level": 0}),
        ("back_in_stock", {"sku": "A", "level": 5}),
    ]
    with engine.connect() as conn:
        assert service.offers(conn, ws, ["A"]) == {}  # stock without a product is no offer
        assert service.stock_of(conn, ws, "A")["available"] == 5


def test_an_active_product_missing_what_the_quality_report_asks_is_incomplete(
    engine: Engine,
) -> None:
    shop = make_shop(engine)
    with write_transaction(engine) as conn:
        service.upsert_products(conn, shop.workspace_id, [_product("A", status="draft")])
        service.upsert_products(conn, shop.workspace_id, [_product("A")])
    assert _events(engine)[-1] == (
        "product_incomplete",
        {"sku": "A", "product_id": "A", "name": "Shirt A",
         "missing": ["image", "image_alt", "gtin", "category"]},
    )  # fmt: skip
