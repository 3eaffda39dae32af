"""Personalization API latency (issue 13): p50/p90/p99 of `GET /v1/personalize` (a content
slot with an interest rule and a segment rule, a product-list slot for `category:Shoes`, and
the same with `recommendations=4`) against a real `nerve serve` on SQLite with N profiles,
driven by wrk at a fixed rate, beside the server's bare `GET /healthz` at the same rate in the
same run. Goal: p99 < 10 ms with 1,000,000 profiles.

    .venv/bin/python bench/personalize.py                          # 10,000 profiles, 400/s, 20 s
    .venv/bin/python bench/personalize.py --profiles 1000000       # the issue's figure

The database is seeded directly in bulk (profiles, their user and anonymous ids, decayed
interests, a public segment holding every tenth person, 56 products with bestseller lists),
then the server starts on it and one request is checked (200, the answer's keys). Each endpoint
then gets `--warmup` seconds of load, unmeasured, and `--seconds` measured, from wrk with
bench/personalize.lua: requests leave on a fixed timetable (`--rate` per second over
`--connections` keep-alive connections; a connection waits for its slot, and the latency clock
starts when the request is written), each for a random seeded user (`userId=user-<n>`) or, for
a share `--unknown`, a visitor identity has never seen. Needs `wrk` (apt-get install wrk).
Prints a table and writes bench/results/personalize-<timestamp>.json.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import subprocess
import time
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import orjson
from rich.console import Console
from rich.table import Table
from sqlalchemy import Engine, insert
from tracking_load import machine_busy_percent
from tracking_server import running_server, throwaway_database

from nerve.auth.service import create_key
from nerve.catalog import service as catalog
from nerve.catalog.schemas import ProductIn
from nerve.db.engine import make_engine, write_transaction
from nerve.db.migrate import upgrade
from nerve.identity.models import Identifier, Profile
from nerve.personalization import slots
from nerve.personalization.schemas import Personalized
from nerve.profiles.models import ProfileAttributes
from nerve.recommendations import popularity
from nerve.recommendations import store as recommendations
from nerve.segments.models import Segment, SegmentMember, SegmentVersion
from nerve.settings import Settings
from nerve.workspaces.service import create_source, ensure_workspace

console = Console(width=120)
LUA_SCRIPT = Path(__file__).with_name("personalize.lua")
RESULTS = Path(__file__).with_name("results")
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
SEED_BATCH = 20_000  # people per write transaction


@dataclass(frozen=True)
class Endpoint:
    name: str
    path: str  # "{{WHO}}" becomes the visitor's id (bench/personalize.lua)


@dataclass(frozen=True)
class Measured:
    endpoint: str
    requests: int  # answers received in the measured seconds
    sent: int
    duration_s: float
    errors: int  # status >= 400, plus connect/read/write/timeout errors
    p50_ms: float
    p90_ms: float
    p99_ms: float
    max_ms: float
    wrk_output: str

    @property
    def per_second(self) -> float:
        return self.requests / self.duration_s


def _seed(engine: Engine, profiles: int) -> tuple[str, float]:
    """The workspace's write key and the seconds spent seeding `profiles` people."""
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
        _catalog(conn, workspace_id)
    started = time.perf_counter()
    rng = random.Random(7)
    for start in range(0, profiles, SEED_BATCH):
        people = range(start, min(start + SEED_BATCH, profiles))
        with write_transaction(engine) as conn:
            _people(conn, workspace_id, people, rng, now)
        console.print(f"  seeded {people.stop:,} / {profiles:,}", end="\r")
    seconds = time.perf_counter() - started
    console.print(f"  seeded {profiles:,} profiles in {seconds:.1f} s "
                  f"({profiles / seconds:,.0f}/s)")  # fmt: skip
    with write_transaction(engine) as conn:
        slots.save(conn, workspace_id, BANNER, actor="bench")
        slots.save(conn, workspace_id, LISTING, actor="bench")
    return source.write_key, seconds


def _catalog(conn: Any, workspace_id: str) -> None:
    """56 products (SHOE-1 to SHOE-8 in Shoes; the first three of Running and of Shoes in the
    "New running" collection) and bestseller lists for the shop and per category, as a training
    run over orders would leave them: what `recommendations=N` answers a person without orders
    or product events."""
    products = [
        ProductIn(sku=f"{'SHOE' if category == 'Shoes' else category.split()[0].upper()}-{n}",
                  name=f"{category} {n}", category=category, price=Decimal("19.90"),
                  currency="EUR",
                  collections=["New running"] if category in ("Running", "Shoes") and n <= 3
                  else [])
        for category in CATEGORIES for n in range(1, 9)
    ]  # fmt: skip
    catalog.upsert_products(conn, workspace_id, products)
    best: dict[str, list[tuple[str, float]]] = {popularity.ALL: []}
    for rank, product in enumerate(products):
        score = round(100 / (rank + 1), 6)
        best[popularity.ALL].append((product.sku, score))
        best.setdefault(product.category or "", []).append((product.sku, score))
    best[popularity.ALL] = best[popularity.ALL][: popularity.KEPT]
    recommendations.replace(conn, workspace_id, {}, best)


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


def _check(base_url: str, path: str) -> None:
    """One request for user-0 (a segment member): 200 with the documented keys, the segment
    rule's variant and four recommended products."""
    url = base_url + path.replace("{{WHO}}", "userId=user-0")
    response = httpx.get(url, timeout=30)
    if response.status_code != 200:
        raise SystemExit(f"GET {url} answered {response.status_code}: {response.text}")
    body = response.json()
    expected = set(Personalized.model_fields)
    problems = []
    if set(body) != expected:
        problems.append(f"keys {sorted(body)} (expected {sorted(expected)})")
    if body.get("segments") != ["running_fans"]:
        problems.append(f"segments {body.get('segments')}")
    if body.get("slots", {}).get("home_banner", {}).get("variant") != "vip":
        problems.append(f"home_banner {body.get('slots', {}).get('home_banner')}")
    if len(body.get("recommendations", [])) != 4:
        problems.append(f"recommendations {body.get('recommendations')}")
    if problems:
        raise SystemExit("unexpected answer for user-0: " + "; ".join(problems))
    console.print(f"  check: 200, keys {', '.join(sorted(body))}; segments {body['segments']}, "
                  f"home_banner {body['slots']['home_banner']['variant']}, "
                  f"{len(body['recommendations'])} recommendations")  # fmt: skip


def _wrk(base_url: str, endpoint: Endpoint, seconds: float, args: argparse.Namespace) -> Measured:
    wrk = shutil.which("wrk")
    if wrk is None:
        raise SystemExit("wrk is not installed (apt-get install wrk)")
    command = [
        wrk,
        f"--threads={args.threads}",
        f"--connections={args.connections}",
        f"--duration={max(1, round(seconds))}s",
        "--timeout=10s",
        "--latency",
        f"--script={LUA_SCRIPT}",
        base_url + "/",
        "--",
        endpoint.path,
        str(args.rate / args.threads),
        str(args.profiles),
        str(args.unknown),
        "11",
    ]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"wrk failed ({done.returncode}):\n{done.stdout}{done.stderr}")
    for line in done.stdout.splitlines():
        if line.startswith("WRK_RESULT "):
            raw = orjson.loads(line.removeprefix("WRK_RESULT "))
            break
    else:
        raise SystemExit(f"wrk printed no WRK_RESULT line:\n{done.stdout}{done.stderr}")
    errors, latency = raw["errors"], raw["latency_us"]
    return Measured(
        endpoint=endpoint.name,
        requests=raw["requests"],
        sent=raw["sent"],
        duration_s=raw["duration_us"] / 1e6,
        errors=sum(errors.values()),
        p50_ms=latency["p50"] / 1000,
        p90_ms=latency["p90"] / 1000,
        p99_ms=latency["p99"] / 1000,
        max_ms=latency["max"] / 1000,
        wrk_output=done.stdout,
    )


def _endpoints(write_key: str) -> list[Endpoint]:
    personalize = ("/v1/personalize?{{WHO}}&slots=home_banner,shoe_listing"
                   f"&context=category:Shoes&writeKey={write_key}")  # fmt: skip
    return [
        Endpoint("GET /healthz (bare)", "/healthz"),
        Endpoint("GET /v1/personalize, 2 slots", personalize),
        Endpoint("… + recommendations=4", personalize + "&recommendations=4"),
    ]


def _table(args: argparse.Namespace, runs: list[Measured], busy: float) -> Table:
    load = os.getloadavg()[0]
    table = Table(title=f"SQLite, {args.profiles:,} profiles, {args.rate:g} requests/s offered "
                  f"over {args.connections} connections, {args.seconds:g} s each, "
                  f"{args.workers} server process(es); machine {busy:.0f} % busy before the "
                  f"run, load {load:.1f}")  # fmt: skip
    columns = ("endpoint", "req/s", "requests", "p50 ms", "p90 ms", "p99 ms", "max ms",
               "errors", "p99 ÷ bare")  # fmt: skip
    for column in columns:
        table.add_column(column, justify="left" if column == "endpoint" else "right")
    bare = runs[0].p99_ms
    for run in runs:
        table.add_row(run.endpoint, f"{run.per_second:,.0f}", f"{run.requests:,}",
                      f"{run.p50_ms:.2f}", f"{run.p90_ms:.2f}", f"{run.p99_ms:.2f}",
                      f"{run.max_ms:.1f}", f"{run.errors:,}",
                      f"{run.p99_ms / bare:.1f}x" if bare else "-")  # fmt: skip
    return table


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--profiles", type=int, default=10_000)
    parser.add_argument("--rate", type=float, default=400, help="requests per second in all")
    parser.add_argument("--seconds", type=float, default=20, help="measured seconds each")
    parser.add_argument("--warmup", type=float, default=3, help="unmeasured seconds each")
    parser.add_argument("--connections", type=int, default=16, help="wrk connections")
    parser.add_argument("--threads", type=int, default=1, help="wrk threads")
    parser.add_argument("--workers", type=int, default=1, help="server processes")
    parser.add_argument("--unknown", type=float, default=0.1,
                        help="share of requests from visitors identity has never seen")  # fmt: skip
    args = parser.parse_args()
    with throwaway_database("sqlite") as database:
        engine = make_engine(Settings(database_url=database.url, _env_file=None))
        write_key, seed_seconds = _seed(engine, args.profiles)
        engine.dispose()
        endpoints = _endpoints(write_key)
        with running_server(database, args.workers) as server:
            _check(server.base_url, endpoints[-1].path)
            busy = machine_busy_percent()
            runs = []
            for endpoint in endpoints:
                if args.warmup > 0:
                    _wrk(server.base_url, endpoint, args.warmup, args)
                runs.append(_wrk(server.base_url, endpoint, args.seconds, args))
                console.print(f"  {endpoint.name}: {runs[-1].per_second:,.0f}/s, "
                              f"p99 {runs[-1].p99_ms:.2f} ms")  # fmt: skip
    console.print(_table(args, runs, busy))
    RESULTS.mkdir(exist_ok=True)
    path = RESULTS / f"personalize-{datetime.now(UTC):%Y%m%dT%H%M%SZ}.json"
    path.write_bytes(orjson.dumps({
        "options": vars(args), "seed_seconds": seed_seconds, "machine_busy_percent": busy,
        "load_average": os.getloadavg(),
        "runs": [{**asdict(run), "per_second": run.per_second} for run in runs],
    }, option=orjson.OPT_INDENT_2))  # fmt: skip
    console.print(f"written to {path}")


if __name__ == "__main__":
    main()
