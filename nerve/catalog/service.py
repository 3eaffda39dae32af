"""The catalog's logic: what a sku costs and whether it is there (`offers`, for carts), bulk
upserts of products and stock with their catalog events (the API, the CLI import and the shop
connectors all go through `upsert_products` and `update_inventory`), and reading products.

Writes are batched for bulk syncs: the stored rows of a batch are read at once, compared in
memory, and only the rows that changed are written, with one executemany.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import orjson
from sqlalchemy import Connection, bindparam, column, func, select
from sqlalchemy import table as sql_table

from nerve.catalog import events as catalog_events
from nerve.catalog.models import Inventory, Product, PublishedCollection
from nerve.catalog.schemas import InventoryIn, ProductIn
from nerve.db.base import table, utcnow
from nerve.db.dialect import dialect_of
from nerve.db.money import SCALE
from nerve.errors import NotFound

# The columns a sync sets (all but the key and the timestamps); compared to decide a change.
PRODUCT_FIELDS = (
    "product_id", "gtin", "name", "brand", "category", "price", "currency", "compare_at_price",
    "cost", "url", "image_url", "image_alt", "status", "tags", "collections", "attributes",
    "usage_days",
)  # fmt: skip
STOCK_FIELDS = (
    "on_hand", "reserved", "minimum", "lead_time_days", "supplier", "supplier_price",
    "supplier_currency",
)  # fmt: skip
# Keys per IN (...) list: well under SQLite's bound on variables.
_CHUNK = 500


@dataclass(frozen=True)
class Offer:
    """What a cart needs to know of a sku now."""

    sku: str
    product_id: str
    name: str
    price: Decimal
    currency: str
    status: str
    available: int | None  # sum over locations of on_hand - reserved; None: no stock rows
    url: str | None
    image_url: str | None
    category: str | None = None
    usage_days: int | None = None  # a consumable's: bought again about every so many days


@dataclass
class Applied:
    """What an upsert did: rows taken, rows that differed and were written, events emitted."""

    applied: int = 0
    changed: int = 0
    events: list[catalog_events.Event] = field(default_factory=list)

    def add(self, other: Applied) -> None:
        self.applied += other.applied
        self.changed += other.changed
        self.events.extend(other.events)


def _among(column: Any, values: Sequence[str]) -> Any:
    """`column IN (...)` with the values written into the statement. Bound one by one,
    PostgreSQL plans the statement once it is prepared (psycopg prepares a repeated one) for
    whatever values come: a bulk import's plan, made while the table was empty, read every
    row of the workspace for each batch (measured: 100,000 products took 160 s, not 20)."""
    kept = [v for v in values if "\x00" not in v]  # no sku holds one; PostgreSQL text cannot
    return column.in_(bindparam(f"among_{column.name}", kept, expanding=True,
                                literal_execute=True))  # fmt: skip


def _chunks(items: Sequence[Any]) -> Iterable[Sequence[Any]]:
    for start in range(0, len(items), _CHUNK):
        yield items[start : start + _CHUNK]


def available_by_sku(conn: Connection, workspace_id: str, skus: Sequence[str]) -> dict[str, int]:
    """Available stock (on hand - reserved, over every location) of the skus with stock rows."""
    stock = table(Inventory).c
    found: dict[str, int] = {}
    for chunk in _chunks(skus):
        query = (
            select(stock.sku, func.sum(stock.on_hand - stock.reserved))
            .where(stock.workspace_id == workspace_id, _among(stock.sku, chunk))
            .group_by(stock.sku)
        )
        found.update({sku: int(total) for sku, total in conn.execute(query)})
    return found


def offers(conn: Connection, workspace_id: str, skus: Iterable[str]) -> dict[str, Offer]:
    """The current offer of each known sku among `skus` (unknown skus are left out)."""
    wanted = sorted(set(skus))
    products = table(Product).c
    rows: list[Any] = []
    for chunk in _chunks(wanted):
        rows.extend(conn.execute(
            select(products.sku, products.product_id, products.name, products.price,
                   products.currency, products.status, products.url, products.image_url,
                   products.category, products.usage_days)
            .where(products.workspace_id == workspace_id, _among(products.sku, chunk))
        ))  # fmt: skip
    available = available_by_sku(conn, workspace_id, [r.sku for r in rows])
    return {
        r.sku: Offer(sku=r.sku, product_id=r.product_id, name=r.name, price=r.price,
                     currency=r.currency, status=r.status, available=available.get(r.sku),
                     url=r.url, image_url=r.image_url, category=r.category,
                     usage_days=r.usage_days)
        for r in rows
    }  # fmt: skip


def categories(conn: Connection, workspace_id: str) -> dict[str, str | None]:
    """Every sku of the workspace with its category path (recommendations train on them)."""
    products = table(Product).c
    query = select(products.sku, products.category).where(products.workspace_id == workspace_id)
    return {sku: category for sku, category in conn.execute(query)}


def _stored_products(
    conn: Connection, workspace_id: str, skus: Sequence[str]
) -> dict[str, dict[str, Any]]:
    products = table(Product).c
    columns = [products.sku, *(products[name] for name in PRODUCT_FIELDS)]
    stored: dict[str, dict[str, Any]] = {}
    for chunk in _chunks(skus):
        query = select(*columns).where(
            products.workspace_id == workspace_id, _among(products.sku, chunk)
        )
        # Two syncs of one sku at once (PostgreSQL) compare against what the other wrote.
        query = dialect_of(conn).for_update(query)
        stored.update({r.sku: dict(r._mapping) for r in conn.execute(query)})
    return stored


def _as_row(product: ProductIn) -> dict[str, Any]:
    row = product.model_dump()
    row["product_id"] = row["product_id"] or row["sku"]
    return row


def _new_collections(
    conn: Connection, workspace_id: str, rows: Iterable[dict[str, Any]]
) -> set[str]:
    """The collections of these active rows that no active product had until now."""
    names = {c for r in rows if r["status"] == "active" for c in r["collections"]}
    if not names:
        return set()
    known = table(PublishedCollection).c
    seen: set[str] = set()
    for chunk in _chunks(sorted(names)):
        query = select(known.name).where(
            known.workspace_id == workspace_id, _among(known.name, chunk)
        )
        seen.update(conn.execute(query).scalars())
    return names - seen


def upsert_products(conn: Connection, workspace_id: str, products: Sequence[ProductIn]) -> Applied:
    """Create or replace products by sku and emit their catalog events, in the caller's
    transaction. A later line for the same sku wins; each change is compared with the state
    before it, so a batch that sends a sku twice emits what each step changed."""
    rows = [_as_row(p) for p in products]
    current = _stored_products(conn, workspace_id, sorted({r["sku"] for r in rows}))
    unpublished = _new_collections(conn, workspace_id, rows)
    result = Applied(applied=len(rows))
    changed: dict[str, dict[str, Any]] = {}
    for row in rows:
        before = current.get(row["sku"])
        if before is not None and all(before[f] == row[f] for f in PRODUCT_FIELDS):
            continue
        fresh = (
            [c for c in row["collections"] if c in unpublished] if row["status"] == "active" else []
        )
        unpublished.difference_update(fresh)
        result.events.extend(catalog_events.product_events(before, row, fresh))
        current[row["sku"]] = changed[row["sku"]] = row
    result.changed = len(changed)
    _write_products(conn, workspace_id, list(changed.values()), published=_published(result))
    catalog_events.emit(conn, workspace_id, result.events)
    return result


def _published(result: Applied) -> list[str]:
    return [props["collection"] for name, props in result.events if name == "collection_published"]


# The upsert binds plain values (amounts as ten-thousandths, JSON as text) to an untyped table:
# SQLAlchemy's per-row type processing was the largest share of a bulk import (bench/).
_PRODUCT_ROWS = sql_table(
    "products", *(column(c) for c in ("workspace_id", "sku", *PRODUCT_FIELDS, "updated_at"))
)
_JSON_FIELDS = ("tags", "collections", "attributes")
_MONEY_FIELDS = ("price", "compare_at_price", "cost")
_UPSERTS: dict[str, Any] = {}


def _product_upsert(conn: Connection) -> Any:
    dialect = dialect_of(conn)
    if dialect.name not in _UPSERTS:
        _UPSERTS[dialect.name] = dialect.upsert(
            _PRODUCT_ROWS, ["workspace_id", "sku"], list(PRODUCT_FIELDS),
            also={"updated_at": func.now()},
        )  # fmt: skip
    return _UPSERTS[dialect.name]


def _bound(row: dict[str, Any], workspace_id: str) -> dict[str, Any]:
    values = row | {"workspace_id": workspace_id}
    for name in _MONEY_FIELDS:
        amount = values[name]
        # Validated amounts have at most four decimals: exact in ten-thousandths.
        values[name] = None if amount is None else int(amount.scaleb(SCALE))
    for name in _JSON_FIELDS:
        values[name] = orjson.dumps(values[name]).decode()
    return values


def _write_products(
    conn: Connection, workspace_id: str, rows: list[dict[str, Any]], published: list[str]
) -> None:
    if rows:
        conn.execute(_product_upsert(conn), [_bound(r, workspace_id) for r in rows])
    if published:
        statement = dialect_of(conn).insert_ignoring_duplicates(
            table(PublishedCollection), ["workspace_id", "name"]
        )
        conn.execute(statement, [{"workspace_id": workspace_id, "name": n} for n in published])


def _stored_stock(
    conn: Connection, workspace_id: str, skus: Sequence[str]
) -> dict[tuple[str, str], dict[str, Any]]:
    stock = table(Inventory).c
    stored: dict[tuple[str, str], dict[str, Any]] = {}
    for chunk in _chunks(skus):
        query = select(stock.sku, stock.location, *(stock[f] for f in STOCK_FIELDS)).where(
            stock.workspace_id == workspace_id, _among(stock.sku, chunk)
        )
        query = dialect_of(conn).for_update(query)
        stored.update({(r.sku, r.location): dict(r._mapping) for r in conn.execute(query)})
    return stored


def _sku_totals(rows: dict[tuple[str, str], dict[str, Any]]) -> dict[str, int]:
    totals: dict[str, int] = {}
    for (sku, _), row in rows.items():
        totals[sku] = totals.get(sku, 0) + row["on_hand"] - row["reserved"]
    return totals


def _stock(row: dict[str, Any] | None) -> catalog_events.Stock | None:
    if row is None:
        return None
    return catalog_events.Stock(row["on_hand"] - row["reserved"], row["minimum"])


def update_inventory(
    conn: Connection, workspace_id: str, changes: Sequence[InventoryIn]
) -> Applied:
    """Apply stock changes per (sku, location) — only the fields each change sets — and emit
    `stock_below_minimum`, `out_of_stock` and `back_in_stock`, in the caller's transaction."""
    skus = sorted({c.sku for c in changes})
    current = _stored_stock(conn, workspace_id, skus)
    totals_before = _sku_totals(current)
    result = Applied(applied=len(changes))
    changed: dict[tuple[str, str], dict[str, Any]] = {}
    for change in changes:
        key = (change.sku, change.location)
        before = current.get(key)
        base = before or {"sku": change.sku, "location": change.location, "on_hand": 0,
                          "reserved": 0} | {f: None for f in STOCK_FIELDS[2:]}  # fmt: skip
        row = base | change.model_dump(include=change.model_fields_set - {"sku", "location"})
        if before is not None and row == before:
            continue
        result.events.extend(catalog_events.location_events(
            change.sku, change.location, _stock(before), _stock(row)  # type: ignore[arg-type]
        ))  # fmt: skip
        current[key] = changed[key] = row
    totals_after = _sku_totals(current)
    for sku in skus:
        result.events.extend(
            catalog_events.sku_events(sku, totals_before.get(sku), totals_after.get(sku))
        )
    result.changed = len(changed)
    _write_stock(conn, workspace_id, list(changed.values()))
    catalog_events.emit(conn, workspace_id, result.events)
    return result


def _write_stock(conn: Connection, workspace_id: str, rows: list[dict[str, Any]]) -> None:
    if not rows:
        return
    statement = dialect_of(conn).upsert(
        table(Inventory), ["workspace_id", "sku", "location"], [*STOCK_FIELDS, "updated_at"]
    )
    now = utcnow()
    conn.execute(statement, [r | {"workspace_id": workspace_id, "updated_at": now} for r in rows])


def set_inventory(
    conn: Connection, workspace_id: str, sku: str, location: str = "default", **fields: Any
) -> Applied:
    """One sku's stock at one location: `set_inventory(conn, ws, "TEE-1", on_hand=3)`."""
    return update_inventory(conn, workspace_id, [InventoryIn(sku=sku, location=location, **fields)])


def stock_levels(
    conn: Connection, workspace_id: str, skus: Sequence[str]
) -> dict[str, list[dict[str, Any]]]:
    """Each sku's stock rows, by location."""
    stock = table(Inventory).c
    levels: dict[str, list[dict[str, Any]]] = {}
    for chunk in _chunks(skus):
        query = (
            select(stock.sku, stock.location, *(stock[f] for f in STOCK_FIELDS))
            .where(stock.workspace_id == workspace_id, _among(stock.sku, chunk))
            .order_by(stock.sku, stock.location)
        )
        for r in conn.execute(query):
            row = dict(r._mapping)
            row["available"] = row["on_hand"] - row["reserved"]
            levels.setdefault(row.pop("sku"), []).append(row)
    return levels


def _with_stock(conn: Connection, workspace_id: str, rows: list[dict[str, Any]]) -> None:
    levels = stock_levels(conn, workspace_id, [r["sku"] for r in rows])
    for row in rows:
        row["inventory"] = levels.get(row["sku"], [])
        row["available"] = (
            sum(s["available"] for s in row["inventory"]) if row["inventory"] else None
        )


def product(conn: Connection, workspace_id: str, sku: str) -> dict[str, Any]:
    """One product with its stock per location; NotFound for an unknown sku."""
    found = _stored_products(conn, workspace_id, [sku]).get(sku)
    if found is None:
        raise NotFound(f"no product with sku {sku!r}", details={"sku": sku})
    rows = [found]
    _with_stock(conn, workspace_id, rows)
    return found


def products_page(
    conn: Connection, workspace_id: str, after: str | None, limit: int,
    status: str | None = None,
) -> list[dict[str, Any]]:  # fmt: skip
    """Products in sku order after the sku `after`, with their stock."""
    products = table(Product).c
    query = select(products.sku, *(products[f] for f in PRODUCT_FIELDS)).where(
        products.workspace_id == workspace_id
    )
    if after is not None:
        query = query.where(products.sku > after)
    if status is not None:
        query = query.where(products.status == status)
    rows = [dict(r._mapping) for r in conn.execute(query.order_by(products.sku).limit(limit))]
    _with_stock(conn, workspace_id, rows)
    return rows


def stock_of(conn: Connection, workspace_id: str, sku: str) -> dict[str, Any]:
    """A sku's stock per location and available in all (None without stock rows)."""
    rows = [{"sku": sku}]
    _with_stock(conn, workspace_id, rows)
    return rows[0]
