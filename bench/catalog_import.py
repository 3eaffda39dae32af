"""Catalog import: products/s for `--products` products (100,000) from an NDJSON file through
the real import path (`nerve catalog import`'s: nerve/catalog/imports.py — each line parsed
and validated, the batch's stored rows read at once, compared, changed rows upserted with one
executemany, catalog events recorded, progress committed every `--batch` lines), beside a plain
executemany of the same rows (orjson and INSERT, nothing checked) in the same run and database.

    .venv/bin/python bench/catalog_import.py                        # both backends
    .venv/bin/python bench/catalog_import.py --backends sqlite --products 20000
    .venv/bin/python bench/catalog_import.py --url postgresql+psycopg://.../nerve

Goal (issue 12): 100,000 products in under 20 s on SQLite, at least 0.5 of the plain insert.
A second import of the unchanged file (every row compared, none written) is shown too.
"""

from __future__ import annotations

import argparse
import random
import tempfile
import time
from decimal import Decimal
from pathlib import Path

import orjson
from rich.console import Console
from rich.table import Table
from sqlalchemy import Engine, insert
from tracking_server import throwaway_database

from nerve.catalog import imports
from nerve.catalog.models import Product
from nerve.db import migrate
from nerve.db.base import table
from nerve.db.engine import make_engine, write_transaction
from nerve.settings import Settings
from nerve.workspaces.service import ensure_workspace

console = Console()
SIZES, COLORS = ["XS", "S", "M", "L", "XL"], ["Red", "Blue", "Gray", "Black"]


def write_catalog(path: Path, products: int) -> None:
    """Complete, active products, five sizes per product, a few collections."""
    rng = random.Random(12)
    with path.open("wb") as file:
        for i in range(products):
            file.write(orjson.dumps({
                "sku": f"SKU-{i:07d}", "product_id": f"P-{i // 5:06d}", "gtin": f"{i:013d}",
                "name": f"Shirt {i // 5} {SIZES[i % 5]}", "brand": "Nerve Wear",
                "category": "Apparel > Shirts", "price": f"{rng.randint(5, 99)}.99",
                "currency": "EUR", "url": f"https://shop.example/p/{i}",
                "image_url": f"https://img.example/{i}.jpg", "image_alt": "A shirt",
                "tags": ["cotton"], "collections": [f"Drop {i % 20}"],
                "attributes": {"size": SIZES[i % 5], "color": COLORS[i % 4]},
            }) + b"\n")  # fmt: skip


def plain_insert(engine: Engine, workspace_id: str, path: Path, batch: int) -> None:
    """The floor: every line as a row, prices as Decimals, one executemany per batch."""
    statement = insert(table(Product))
    rows = []
    with path.open("rb") as file:
        for raw in file:
            row = orjson.loads(raw)
            row.update(workspace_id=workspace_id, price=Decimal(row["price"]), status="active",
                       compare_at_price=None, cost=None, usage_days=None)  # fmt: skip
            rows.append(row)
            if len(rows) == batch:
                with write_transaction(engine) as conn:
                    conn.execute(statement, rows)
                rows = []
    if rows:
        with write_transaction(engine) as conn:
            conn.execute(statement, rows)


def measure(url: str, products: int, batch: int, workdir: Path) -> dict[str, float]:
    path = workdir / "catalog.ndjson"
    write_catalog(path, products)
    engine = make_engine(Settings(database_url=url, _env_file=None))  # type: ignore[call-arg]
    migrate.upgrade(engine)
    with write_transaction(engine) as conn:
        real, plain = ensure_workspace(conn, "bench-import"), ensure_workspace(conn, "bench-plain")
    started = time.perf_counter()
    done = imports.import_file(engine, real, path, batch=batch)
    imported = time.perf_counter() - started
    assert done.outcome.applied == products and not done.outcome.failed, done.outcome.failed[:3]
    started = time.perf_counter()
    imports.import_file(engine, real, path, batch=batch, restart=True)
    unchanged = time.perf_counter() - started
    started = time.perf_counter()
    plain_insert(engine, plain, path, batch)
    floor = time.perf_counter() - started
    engine.dispose()
    return {"import": imported, "unchanged": unchanged, "plain": floor,
            "events": float(done.outcome.events)}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--products", type=int, default=100_000)
    parser.add_argument("--batch", type=int, default=1000)
    parser.add_argument("--backends", default="sqlite,postgresql")
    parser.add_argument("--url", help="An existing (empty) database instead of throw-away ones")
    args = parser.parse_args()
    figures: dict[str, dict[str, float]] = {}
    if args.url:
        with tempfile.TemporaryDirectory() as workdir:
            figures[args.url.split(":")[0]] = measure(args.url, args.products, args.batch,
                                                      Path(workdir))  # fmt: skip
    else:
        for backend in args.backends.split(","):
            with throwaway_database(backend) as database:
                figures[backend] = measure(database.url, args.products, args.batch,
                                           database.workdir)  # fmt: skip
    shown = Table(title=f"catalog import: {args.products:,} products, batches of {args.batch}")
    for column in ("backend", "import s", "products/s", "unchanged re-run s", "plain s",
                   "plain products/s", "import / plain", "events"):  # fmt: skip
        shown.add_column(column, justify="right")
    for backend, f in figures.items():
        shown.add_row(backend, f"{f['import']:.2f}", f"{args.products / f['import']:,.0f}",
                      f"{f['unchanged']:.2f}", f"{f['plain']:.2f}",
                      f"{args.products / f['plain']:,.0f}", f"{f['plain'] / f['import']:.2f}",
                      f"{f['events']:,.0f}")  # fmt: skip
    console.print(shown)


if __name__ == "__main__":
    main()
