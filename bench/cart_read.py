"""Cart read latency while other carts are written: p50/p99 of reading one person's cart (by
identifier, lines flagged from the catalog) through the service and through HTTP, while
--writers processes keep adding to and removing from 50 other carts (each write also records
its timeline event), on SQLite and PostgreSQL. Goal: p99 < 5 ms on SQLite. Writers are
processes, not threads: threads would measure the GIL, not the database.

    .venv/bin/python bench/cart_read.py                          # both databases
    .venv/bin/python bench/cart_read.py --backends sqlite --reads 500
    .venv/bin/python bench/cart_read.py --url postgresql+psycopg://…/db   # an existing database

Baseline, in the same run on the same kind of connection: the bare SELECT of the cart's lines
(`SELECT … FROM cart_lines WHERE cart_id = ?`), the floor any cart read pays.
"""

from __future__ import annotations

import argparse
import logging
import multiprocessing
import statistics
import time
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from rich.console import Console
from rich.table import Table
from sqlalchemy import Engine, select
from starlette.testclient import TestClient
from tracking_server import throwaway_database

from nerve.app import create_app
from nerve.auth.service import create_key
from nerve.carts import service
from nerve.carts.models import CartLine
from nerve.carts.schemas import CartLineIn
from nerve.catalog import service as catalog
from nerve.catalog.schemas import ProductIn
from nerve.db.base import utcnow
from nerve.db.engine import make_engine, write_transaction
from nerve.db.migrate import upgrade
from nerve.settings import Settings
from nerve.workspaces.service import ensure_workspace

console = Console(width=120)
SKUS = [f"SKU-{n}" for n in range(100)]


def _prepare(engine: Engine, carts: int) -> tuple[str, str, str, list[str]]:
    upgrade(engine)
    with write_transaction(engine) as conn:
        workspace_id = ensure_workspace(conn, "cart-bench")
        key = create_key(conn, workspace_id, "admin").secret_key
        catalog.upsert_products(conn, workspace_id, [
            ProductIn(sku=s, name=s, price=Decimal("9.99"), currency="EUR") for s in SKUS
        ])  # fmt: skip
        for sku in SKUS:
            catalog.set_inventory(conn, workspace_id, sku, on_hand=1000)
        reader, _ = service.open_cart(conn, workspace_id, "anonymous_id:reader", utcnow())
        for sku in SKUS[:5]:
            service.add_line(conn, workspace_id, reader["id"], CartLineIn(sku=sku), utcnow())
        others = [service.open_cart(conn, workspace_id, f"anonymous_id:w{n}", utcnow())[0]["id"]
                  for n in range(carts)]  # fmt: skip
    return workspace_id, key, reader["id"], others


def _write_loop(url: str, workspace_id: str, cart_ids: list[str], stop: Any, done: Any) -> None:
    engine = make_engine(Settings(database_url=url, _env_file=None))  # type: ignore[call-arg]
    n = 0
    while not stop.is_set():
        cart_id = cart_ids[n % len(cart_ids)]
        sku = SKUS[n % len(SKUS)]
        with write_transaction(engine) as conn:
            service.add_line(conn, workspace_id, cart_id, CartLineIn(sku=sku), utcnow())
        with write_transaction(engine) as conn:
            service.remove_line(conn, workspace_id, cart_id, sku, utcnow())
        n += 2
        with done.get_lock():
            done.value += 2
    engine.dispose()


def _timed(reads: int, call: Callable[[], Any]) -> list[float]:
    seconds = []
    for _ in range(reads):
        started = time.perf_counter()
        call()
        seconds.append(time.perf_counter() - started)
    return seconds


def _row(table: Table, name: str, seconds: list[float]) -> None:
    ms = sorted(s * 1000 for s in seconds)
    p99 = ms[min(len(ms) - 1, int(len(ms) * 0.99))]
    table.add_row(name, f"{statistics.median(ms):.2f}", f"{p99:.2f}", f"{ms[-1]:.2f}")


def run(url: str, label: str, reads: int, writers: int) -> None:
    settings = Settings(database_url=url, auto_migrate=False, embedded_worker=False,
                        _env_file=None)  # type: ignore[call-arg]  # fmt: skip
    engine = make_engine(settings)
    workspace_id, key, reader, others = _prepare(engine, 50)
    context = multiprocessing.get_context("spawn")
    stop, done = context.Event(), context.Value("q", 0)
    threads = [context.Process(target=_write_loop,
                               args=(url, workspace_id, others[n::writers], stop, done))
               for n in range(writers)]  # fmt: skip
    lines = select(CartLine.sku, CartLine.quantity, CartLine.price).where(
        CartLine.cart_id == reader
    )
    with TestClient(create_app(settings)) as client:
        headers = {"Authorization": f"Bearer {key}"}
        params = {"identifier": "anonymous_id:reader"}
        assert client.get("/api/v1/carts", params=params, headers=headers).status_code == 200
        for thread in threads:
            thread.start()
        deadline = time.monotonic() + 120
        while done.value == 0 and time.monotonic() < deadline:  # until the writers write
            time.sleep(0.1)
        written, started = done.value, time.perf_counter()

        def bare() -> None:
            with engine.connect() as conn:
                conn.execute(lines).all()

        def through_service() -> None:
            with engine.connect() as conn, conn.begin():
                service.find(conn, workspace_id, "anonymous_id:reader")

        def through_http() -> None:
            client.get("/api/v1/carts", params=params, headers=headers)

        results = [(name, _timed(reads, call)) for name, call in (
            ("bare SELECT of the lines (baseline)", bare),
            ("service.find (identity + lines + catalog flags)", through_service),
            ("GET /api/v1/carts?identifier= (in-process HTTP)", through_http),
        )]  # fmt: skip
        stop.set()
        for thread in threads:
            thread.join()
        elapsed = time.perf_counter() - started
        written = done.value - written
    engine.dispose()
    rate = written / elapsed
    table = Table(title=f"{label}: cart read, {reads} reads each, {writers} writer processes "
                  f"on 50 other carts ({rate:.0f} cart writes/s meanwhile)")  # fmt: skip
    for column in ("read", "p50 ms", "p99 ms", "max ms"):
        table.add_column(column)
    for name, seconds in results:
        _row(table, name, seconds)
    console.print(table)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--backends", default="sqlite,postgresql")
    parser.add_argument("--url", help="an existing (throw-away) database instead")
    parser.add_argument("--reads", type=int, default=1000)
    parser.add_argument("--writers", type=int, default=2, help="writer processes")
    args = parser.parse_args()
    logging.getLogger("httpx").setLevel(logging.WARNING)
    if args.url:
        run(args.url, args.url.split(":", 1)[0], args.reads, args.writers)
        return
    for backend in args.backends.split(","):
        with throwaway_database(backend) as database:
            run(database.url, backend, args.reads, args.writers)


if __name__ == "__main__":
    main()
