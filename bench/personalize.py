"""Personalization API latency: p50/p99 of `GET /v1/personalize` (two slots: a content slot
with an interest rule and a segment rule, a product-list slot for `category:Shoes`) at a fixed
rate against a running `nerve serve` on SQLite with N profiles, beside the server's bare
`GET /healthz` at the same rate in the same run. Goal: p99 < 10 ms with 1,000,000 profiles.

    .venv/bin/python bench/personalize.py                         # 10,000 profiles, 300/s
    .venv/bin/python bench/personalize.py --profiles 1000000 --rate 500 --seconds 30

The database is seeded directly in bulk (profiles, their user and anonymous ids, decayed
interests, a public segment holding every tenth person), then the server starts on it. The
load is open-loop (requests leave on schedule whether or not earlier ones have answered, so a
slow answer cannot hide the queue behind it) from one asyncio client with keep-alive
connections; `wrk` is not needed. Latency is measured by the client: its own overhead is in
both figures, which is why the bare endpoint is measured beside it.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import time
from datetime import UTC, datetime
from typing import Any

import httpx
from rich.console import Console
from rich.table import Table
from sqlalchemy import Engine, insert
from tracking_server import Database, running_server, throwaway_database

from nerve.auth.service import create_key
from nerve.db.engine import make_engine, write_transaction
from nerve.db.migrate import upgrade
from nerve.identity.models import Identifier, Profile
from nerve.personalization import slots
from nerve.profiles.models import ProfileAttributes
from nerve.segments.models import Segment, SegmentMember, SegmentVersion
from nerve.settings import Settings
from nerve.workspaces.service import create_source, ensure_workspace

console = Console(width=120)
CATEGORIES = ["Running", "Hiking", "Winter Jackets", "Shoes", "Socks", "Caps", "Coffee"]
BANNER = {
    "key": "home_banner", "default": "winter",
    "variants": [{"key": "winter", "content": {"title": "Winter jackets"}},
                 {"key": "running", "content": {"title": "Running shoes"}},
                 {"key": "vip", "content": {"title": "For our fans"}}],
    "rules": [{"when": {"segment": "running_fans"}, "variant": "vip"},
              {"when": {"interest": {"key": "category:Running", "top": 2}}, "variant": "running"}],
}  # fmt: skip
LISTING = {
    "key": "shoe_listing", "kind": "product_list",
    "variants": [{"key": "promo", "pin": ["SHOE-1", "SHOE-2"],
                  "boost": [{"collection": "New running", "weight": 2}]}],
    "rules": [{"context": ["category:Shoes"], "experiment": "promo_test"}],
    "experiments": [{"key": "promo_test", "holdout": 10,
                     "arms": [{"key": "promo", "variant": "promo", "weight": 90}]}],
}  # fmt: skip


def _seed(engine: Engine, profiles: int) -> str:
    """The workspace's write key, after seeding `profiles` people."""
    upgrade(engine)
    now = datetime.now(UTC)
    with write_transaction(engine) as conn:
        workspace_id = ensure_workspace(conn, "personalize-bench")
        source = create_source(conn, workspace_id, "web", "web")
        create_key(conn, workspace_id, "admin")
        conn.execute(insert(Segment).values(
            id="seg_bench", workspace_id=workspace_id, key="running_fans", name="Running fans",
            public=True, active_version=1, status="ready", updated_at=now))  # fmt: skip
        conn.execute(insert(SegmentVersion).values(segment_id="seg_bench", version=1, definition={
            "key": "running_fans", "name": "Running fans", "public": True,
            "where": {"event": "Product Viewed", "properties": {"category": "Running"},
                      "at_least": 3, "within": "7d"}}))  # fmt: skip
    started, batch = time.perf_counter(), 20_000
    rng = random.Random(7)
    for start in range(0, profiles, batch):
        people = range(start, min(start + batch, profiles))
        with write_transaction(engine) as conn:
            _people(conn, workspace_id, people, rng, now)
        console.print(f"  seeded {people.stop:,} / {profiles:,}", end="\r")
    console.print(f"  seeded {profiles:,} profiles in {time.perf_counter() - started:.1f} s")
    with write_transaction(engine) as conn:
        slots.save(conn, workspace_id, BANNER, actor="bench")
        slots.save(conn, workspace_id, LISTING, actor="bench")
    return source.write_key


def _people(conn: Any, workspace_id: str, people: range, rng: random.Random,
            now: datetime) -> None:  # fmt: skip
    ids = [f"prof_{n:09d}" for n in people]
    conn.execute(
        insert(Profile),
        [{"id": i, "workspace_id": workspace_id, "cluster_id": i, "created_at": now} for i in ids],
    )
    conn.execute(insert(Identifier), [
        {"workspace_id": workspace_id, "type": kind, "value": f"{prefix}{n}", "profile_id": i,
         "created_at": now}
        for n, i in zip(people, ids, strict=True)
        for kind, prefix in (("user_id", "user-"), ("anonymous_id", "device-"))
    ])  # fmt: skip
    conn.execute(insert(ProfileAttributes), [
        {"profile_id": i, "workspace_id": workspace_id, "first_seen": now, "last_seen": now,
         "sources": {}, "interests": {"as_of": now.isoformat(), "scores": {
             f"category:{c}": round(rng.uniform(0.5, 6), 3)
             for c in rng.sample(CATEGORIES, 3)}}}
        for i in ids
    ])  # fmt: skip
    conn.execute(insert(SegmentMember), [
        {"segment_id": "seg_bench", "person_id": i, "workspace_id": workspace_id, "entered_at": now}
        for n, i in zip(people, ids, strict=True) if n % 10 == 0
    ])  # fmt: skip


async def _load(url: str, paths: list[str], rate: float, seconds: float) -> list[float]:
    """Latencies (ms) of requests sent at `rate` per second for `seconds`."""
    latencies: list[float] = []
    failures = 0
    limits = httpx.Limits(max_connections=64, max_keepalive_connections=64)
    async with httpx.AsyncClient(base_url=url, limits=limits, timeout=10) as client:

        async def one(path: str) -> None:
            nonlocal failures
            sent = time.perf_counter()
            response = await client.get(path)
            latencies.append((time.perf_counter() - sent) * 1000)
            failures += response.status_code != 200

        tasks, start, total = [], time.perf_counter(), int(rate * seconds)
        for n in range(total):
            delay = start + n / rate - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(one(paths[n % len(paths)])))
        await asyncio.gather(*tasks)
    if failures:
        console.print(f"[red]{failures} requests failed[/red]")
    return latencies


def _row(table: Table, name: str, latencies: list[float], seconds: float) -> None:
    cuts = statistics.quantiles(latencies, n=100)
    table.add_row(name, f"{len(latencies):,}", f"{len(latencies) / seconds:,.0f}",
                  f"{statistics.median(latencies):.2f}", f"{cuts[89]:.2f}", f"{cuts[98]:.2f}",
                  f"{max(latencies):.2f}")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--profiles", type=int, default=10_000)
    parser.add_argument("--rate", type=float, default=300, help="requests per second")
    parser.add_argument("--seconds", type=float, default=15)
    args = parser.parse_args()
    with throwaway_database("sqlite") as database:
        engine = make_engine(Settings(database_url=database.url, _env_file=None))  # type: ignore[call-arg]
        write_key = _seed(engine, args.profiles)
        engine.dispose()
        _measure(database, write_key, args)


def _measure(database: Database, write_key: str, args: argparse.Namespace) -> None:
    rng = random.Random(11)
    asks = []
    for _ in range(5000):
        person = rng.randrange(args.profiles)
        who = f"userId=user-{person}" if rng.random() < 0.9 else f"anonymousId=new-{person}"
        asks.append(f"/v1/personalize?{who}&slots=home_banner,shoe_listing"
                    f"&context=category:Shoes&writeKey={write_key}")  # fmt: skip
    with running_server(database, 1) as server:
        asyncio.run(_load(server.base_url, asks[:200], 50, 2))  # warm up
        bare = asyncio.run(_load(server.base_url, ["/healthz"], args.rate, args.seconds))
        personalized = asyncio.run(_load(server.base_url, asks, args.rate, args.seconds))
    table = Table(title=f"GET /v1/personalize, SQLite, {args.profiles:,} profiles, "
                  f"{args.rate:g} requests/s offered")  # fmt: skip
    for column in ("endpoint", "requests", "per s", "p50 ms", "p90 ms", "p99 ms", "max ms"):
        table.add_column(column, justify="left" if column == "endpoint" else "right")
    _row(table, "GET /healthz (bare)", bare, args.seconds)
    _row(table, "GET /v1/personalize", personalized, args.seconds)
    console.print(table)


if __name__ == "__main__":
    main()
