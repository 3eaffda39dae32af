"""Shopify webhooks: verified and stored deliveries per second through a real `nerve serve`,
beside a bare baseline in the same run (bench/shopify_webhook_baseline.py: an HTTP server on
the same uvicorn stack that only checks the HMAC), on SQLite and PostgreSQL.

Each delivery is an orders/create of its own order (shaped like Shopify's documented example,
two line items, amounts as strings) with its own X-Shopify-Webhook-Id, signed with real HMAC;
Nerve verifies it, stores it once, records the order with its lines and `Order Completed`, all
in one transaction, and answers. The client keeps --concurrency requests in flight (Shopify
sends a shop's webhooks in parallel). Afterwards the database is checked: every delivery
stored and applied once.

    .venv/bin/python bench/shopify_webhook.py                      # both databases
    .venv/bin/python bench/shopify_webhook.py --backends sqlite --deliveries 2000
    .venv/bin/python bench/shopify_webhook.py --url postgresql+psycopg://…/db
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import hashlib
import hmac
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
from rich.console import Console
from rich.table import Table
from sink_process import free_port, start
from sqlalchemy import create_engine, text
from tracking_server import throwaway_database

from nerve.secrets.vault import new_key

console = Console(width=120)
SECRET = "shpss_bench_5f6d1c0e9b8a7f6e5d4c3b2a1908"
HERE = Path(__file__).resolve().parent


def order(n: int) -> dict[str, Any]:
    return {
        "id": 820982911946154508 + n, "email": f"buyer{n}@example.com", "name": f"#{1000 + n}",
        "created_at": "2026-03-02T10:00:00-05:00", "processed_at": "2026-03-02T10:00:00-05:00",
        "updated_at": "2026-03-02T10:00:05-05:00", "currency": "USD", "total_price": "403.00",
        "subtotal_price": "393.00", "total_tax": "0.00", "total_discounts": "5.00",
        "total_shipping_price_set": {"shop_money": {"amount": "10.00", "currency_code": "USD"}},
        "discount_codes": [{"code": "SPRING5", "amount": "5.00", "type": "fixed_amount"}],
        "customer": {"id": 115310627314723954 + n, "email": f"buyer{n}@example.com"},
        "line_items": [
            {"variant_id": 808950810, "product_id": 632910392, "title": "IPod Nano - 8GB",
             "sku": "IPOD2008PINK", "quantity": 1, "price": "199.00"},
            {"variant_id": 808950811, "product_id": 632910392, "title": "IPod Nano - 8GB",
             "sku": "IPOD2008BLACK", "quantity": 2, "price": "97.00"},
        ],
    }  # fmt: skip


def signed_requests(count: int, offset: int) -> list[tuple[bytes, dict[str, str]]]:
    requests = []
    for n in range(offset, offset + count):
        body = json.dumps(order(n)).encode()
        digest = base64.b64encode(hmac.new(SECRET.encode(), body, hashlib.sha256).digest())
        requests.append((body, {
            "Content-Type": "application/json", "X-Shopify-Topic": "orders/create",
            "X-Shopify-Hmac-Sha256": digest.decode(), "X-Shopify-Webhook-Id": f"bench-{n}",
            "X-Shopify-Shop-Domain": "bench.myshopify.com",
        }))  # fmt: skip
    return requests


async def _drive(url: str, requests: list[tuple[bytes, dict[str, str]]], concurrency: int) -> (
    tuple[float, list[float], int]
):  # fmt: skip
    latencies: list[float] = []
    failures = 0
    queue = list(reversed(requests))
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(limits=limits, timeout=30) as client:

        async def worker() -> None:
            nonlocal failures
            while queue:
                body, headers = queue.pop()
                began = time.perf_counter()
                answer = await client.post(url, content=body, headers=headers)
                latencies.append(time.perf_counter() - began)
                if answer.status_code != 200:
                    failures += 1

        began = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        return time.perf_counter() - began, latencies, failures


def _measure(url: str, count: int, offset: int, concurrency: int) -> dict[str, float]:
    warm = signed_requests(min(50, count), offset + 10_000_000)
    asyncio.run(_drive(url, warm, concurrency))
    elapsed, latencies, failures = asyncio.run(
        _drive(url, signed_requests(count, offset), concurrency)
    )
    latencies.sort()
    p99 = latencies[int(len(latencies) * 0.99) - 1]
    return {"rate": count / elapsed, "p50": statistics.median(latencies) * 1000,
            "p99": p99 * 1000, "failures": failures}  # fmt: skip


def _env(database_url: str, vault_key: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("NERVE_")}
    return env | {"NERVE_DATABASE_URL": database_url, "NERVE_SECRET_KEY": vault_key,
                  "NERVE_LOG_LEVEL": "warning"}  # fmt: skip


def _nerve(env: dict[str, str], cwd: Path, *args: str) -> str:
    done = subprocess.run([str(Path(sys.executable).parent / "nerve"), *args], env=env, cwd=cwd,
                          capture_output=True, text=True, check=False)  # fmt: skip
    if done.returncode != 0:
        raise SystemExit(f"`nerve {' '.join(args)}` failed:\n{done.stdout}{done.stderr}")
    return done.stdout


def run(database_url: str, workdir: Path, count: int, concurrency: int) -> dict[str, Any]:
    env = _env(database_url, new_key())
    _nerve(env, workdir, "db", "upgrade")
    added = json.loads(_nerve(env, workdir, "connectors", "add", "shopify", "bench-shop",
                              "--secret", SECRET, "--json"))  # fmt: skip
    path = "/webhooks/shopify/" + added["source_id"]
    baseline_port, nerve_port = free_port(), free_port()
    command = [sys.executable, str(HERE / "shopify_webhook_baseline.py"), "--port",
               str(baseline_port), "--secret", SECRET]  # fmt: skip
    baseline = start(command, baseline_port, "baseline")
    server = subprocess.Popen(
        [str(Path(sys.executable).parent / "nerve"), "serve", "--host", "127.0.0.1", "--port",
         str(nerve_port)], env=env, cwd=workdir,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        _healthy(f"http://127.0.0.1:{nerve_port}/healthz")
        bare = _measure(f"http://127.0.0.1:{baseline_port}{path}", count, 0, concurrency)
        nerve = _measure(f"http://127.0.0.1:{nerve_port}{path}", count, 0, concurrency)
    finally:
        for process in (server, baseline):
            process.terminate()
            process.wait(timeout=30)
    engine = create_engine(database_url)
    with engine.connect() as conn:
        stored = conn.scalar(
            text("SELECT count(*) FROM connector_deliveries WHERE status = 'applied'")
        )
        orders = conn.scalar(text("SELECT count(*) FROM orders"))
    engine.dispose()
    return {"baseline": bare, "nerve": nerve, "stored": stored, "orders": orders}


def _healthy(url: str) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise SystemExit("nerve serve did not become healthy")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--backends", default="sqlite,postgresql")
    parser.add_argument("--url", help="an existing, empty database instead of a throwaway one")
    parser.add_argument("--deliveries", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=8)
    args = parser.parse_args()
    table = Table("database", "receiver", "deliveries/s", "p50 ms", "p99 ms", "non-200",
                  "stored + applied", title="Shopify orders/create webhooks")  # fmt: skip
    targets: list[tuple[str, str | None]] = (
        [("url", args.url)] if args.url else [(b, None) for b in args.backends.split(",")]
    )
    for backend, url in targets:
        if url:
            workdir = Path(os.getcwd())
            result = run(url, workdir, args.deliveries, args.concurrency)
        else:
            with throwaway_database(backend) as database:
                result = run(database.url, database.workdir, args.deliveries, args.concurrency)
        for name in ("baseline", "nerve"):
            figures = result[name]
            stored = f"{result['stored']} ({result['orders']} orders)" if name == "nerve" else "—"
            table.add_row(backend, "HMAC only" if name == "baseline" else "nerve serve",
                          f"{figures['rate']:.0f}", f"{figures['p50']:.1f}",
                          f"{figures['p99']:.1f}", str(figures["failures"]), stored)  # fmt: skip
    console.print(table)


if __name__ == "__main__":
    main()
