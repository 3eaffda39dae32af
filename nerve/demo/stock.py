"""The demo shop's stock: its catalogue put into Nerve's real catalog at start (the catalog
service, as `PUT /api/v1/products` and `PATCH /api/v1/inventory` apply it), and the shelves the
simulated customers shop from, which the shop's back office keeps in step with the catalog as
orders take stock and the supplier brings more.

Stock lives in the warehouse (online orders) and in the three stores (the tills). Only the
warehouse has a minimum: going below it is a `stock_below_minimum` catalog event, none left
anywhere an `out_of_stock`, the supplier's delivery a `back_in_stock`. A few products start
just at their minimum, so the first orders of a run take them below it.

A product that exists in the catalog keeps its stock across runs of the demo (the supplier
refills what an earlier run left low); only the missing rows are stocked.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import Engine

from nerve.catalog import service as catalog
from nerve.catalog.schemas import InventoryIn, ProductIn
from nerve.db.engine import write_transaction
from nerve.demo.catalog import CURRENCY, PRODUCTS, Product
from nerve.demo.people import STORES

WAREHOUSE = "warehouse"
# Seconds (at speed 1) the demo's supplier takes per day of a product's lead time.
SECONDS_PER_LEAD_DAY = 20.0


def store_location(code: str) -> str:
    return f"store-{code.lower()}"


@dataclass(frozen=True)
class Supply:
    """How a product is stocked: in the warehouse (with its minimum) and in each store."""

    warehouse: int
    minimum: int
    in_store: int
    supplier: str
    lead_time_days: int
    supplier_price: Decimal


def _supply(product: Product) -> Supply:
    scarce = {"TRL-001": 3, "SCK-001": 6, "ACC-003": 4, "RUN-003": 3}  # at their minimum
    minimum = {"Socks": 5, "Accessories": 3}.get(product.category, 3)
    on_hand = scarce.get(product.product_id, minimum + 6)
    minimum = min(minimum, on_hand) if product.product_id in scarce else minimum
    in_store = 0 if product.product_id in scarce else 2
    supplier = {"Stridewell": "Stridewell GmbH", "Pacer Lab": "Pacer Lab B.V.",
                "Ridgeline": "Ridgeline Outdoor AB", "Fjellstig": "Fjellstig AS",
                "Norrland": "Norrland Textil AB"}.get(product.brand, product.brand)  # fmt: skip
    cost = (product.price * Decimal("0.45")).quantize(Decimal("0.01"))
    return Supply(on_hand, minimum, in_store, supplier, 2 if in_store else 3, cost)


SUPPLY: dict[str, Supply] = {product.sku: _supply(product) for product in PRODUCTS}
LOCATIONS = (WAREHOUSE, *(store_location(store.code) for store in STORES))


def gtin(product: Product) -> str:
    """An EAN-13 from the range for a shop's own numbers (prefix 20-29), with its check digit."""
    digits = "20" + "".join(str(ord(c) % 10) for c in product.sku)[:10].ljust(10, "0")
    total = sum(int(d) * (3 if i % 2 else 1) for i, d in enumerate(digits))
    return digits + str((10 - total % 10) % 10)


def product_line(product: Product) -> ProductIn:
    """The product as the shop's catalogue sync sends it."""
    supply = SUPPLY[product.sku]
    return ProductIn(
        sku=product.sku, product_id=product.product_id, gtin=gtin(product), name=product.name,
        brand=product.brand, category=product.category, price=product.price, currency=CURRENCY,
        cost=supply.supplier_price, url=product.url, image_url=product.image_url,
        image_alt=f"{product.name} by {product.brand}, {product.variant}",
        attributes={"variant": product.variant}, tags=[product.category.lower()],
    )  # fmt: skip


def stock_lines(missing: set[tuple[str, str]]) -> list[InventoryIn]:
    """The first stock of the rows in `missing` (sku, location)."""
    lines = []
    for sku, location in sorted(missing):
        supply = SUPPLY[sku]
        if location == WAREHOUSE:
            lines.append(InventoryIn(
                sku=sku, location=location, on_hand=supply.warehouse, minimum=supply.minimum,
                supplier=supply.supplier, lead_time_days=supply.lead_time_days,
                supplier_price=supply.supplier_price, supplier_currency=CURRENCY,
            ))  # fmt: skip
        else:
            lines.append(InventoryIn(sku=sku, location=location, on_hand=supply.in_store))
    return lines


class Shelves:
    """What the shop has, per sku and location: the demo's mirror of the catalog's stock,
    which the back office alone changes (and writes to Nerve's catalog as it does)."""

    def __init__(self, levels: dict[tuple[str, str], int] | None = None) -> None:
        self._lock = threading.Lock()
        self._levels = dict(levels or {})

    def available(self, sku: str) -> int | None:
        """Over every location; None for a sku the shop does not count (everything, without
        a catalog: the unit tests' customers)."""
        with self._lock:
            found = [level for (s, _), level in self._levels.items() if s == sku]
        return sum(max(level, 0) for level in found) if found else None

    def in_stock(self, product: Product) -> bool:
        available = self.available(product.sku)
        return available is None or available > 0

    def level(self, sku: str, location: str) -> int:
        with self._lock:
            return self._levels.get((sku, location), 0)

    def take(self, sku: str, quantity: int, location: str) -> dict[str, int]:
        """Take `quantity` from `location` first, then the warehouse, then any store; returns
        the new on-hand level of each location changed (none left anywhere: sold anyway, as a
        shop does with a parcel already packed, and the warehouse goes below zero)."""
        changed: dict[str, int] = {}
        with self._lock:
            order = [location, WAREHOUSE, *(loc for loc in LOCATIONS if loc != location)]
            for place in dict.fromkeys(order):
                if quantity <= 0:
                    break
                have = self._levels.get((sku, place), 0)
                taken = min(have, quantity)
                if taken > 0:
                    self._levels[(sku, place)] = changed[place] = have - taken
                    quantity -= taken
            if quantity > 0:
                left = self._levels.get((sku, WAREHOUSE), 0) - quantity
                self._levels[(sku, WAREHOUSE)] = changed[WAREHOUSE] = left
        return changed

    def deliver(self, sku: str, quantity: int) -> int:
        """The supplier's delivery to the warehouse; returns its new level."""
        with self._lock:
            level = self._levels.get((sku, WAREHOUSE), 0) + quantity
            self._levels[(sku, WAREHOUSE)] = level
            return level

    def low(self) -> list[tuple[str, int, int]]:
        """Skus whose warehouse is below its minimum: (sku, level, minimum), lowest first."""
        with self._lock:
            found = [(sku, self._levels.get((sku, WAREHOUSE), 0), supply.minimum)
                     for sku, supply in SUPPLY.items()
                     if self._levels.get((sku, WAREHOUSE), 0) < supply.minimum]  # fmt: skip
        return sorted(found, key=lambda item: item[1])

    def sold_out(self) -> list[str]:
        return [sku for sku in SUPPLY if self.available(sku) == 0]


def stock_catalog(engine: Engine, workspace_id: str) -> Shelves:
    """The catalogue upserted (unchanged products change nothing and emit nothing), the
    missing stock rows stocked, and the shelves as the catalog has them now."""
    skus = [product.sku for product in PRODUCTS]
    with write_transaction(engine) as conn:
        catalog.upsert_products(conn, workspace_id, [product_line(p) for p in PRODUCTS])
        stored = catalog.stock_levels(conn, workspace_id, skus)
        have = {(sku, row["location"]) for sku, rows in stored.items() for row in rows}
        missing = {(sku, location) for sku in skus for location in LOCATIONS} - have
        if missing:
            catalog.update_inventory(conn, workspace_id, stock_lines(missing))
        stored = catalog.stock_levels(conn, workspace_id, skus)
    levels = {(sku, row["location"]): row["on_hand"] - row["reserved"]
              for sku, rows in stored.items() for row in rows}  # fmt: skip
    return Shelves(levels)
