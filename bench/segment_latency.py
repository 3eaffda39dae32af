"""Segment membership latency after an event, and the speed of a full build (issue 13).

    .venv/bin/python bench/segment_latency.py                       # SQLite: 300 events, 20,000
    .venv/bin/python bench/segment_latency.py --backend postgresql  # a throw-away database
    .venv/bin/python bench/segment_latency.py --database-url postgresql+psycopg://…/db  # empty
    .venv/bin/python bench/segment_latency.py --profiles 1000000 --events 0  # the build alone

(a) Latency: a real `nerve serve` (embedded worker) on a fresh database. First the bare baseline:
`--events` Product Viewed events, one at a time, each from a new person, through `POST /v1/track`;
time from the POST until the event is attached to a profile (the identity resolver and the whole
pipeline committed). Then 50 segments are defined through the API (event counts over windows,
interests, traits, orders, computed attributes, cart, segment references; about 35 of them read
what a Product Viewed event changes) and the same events are sent for new people: time until the
event is attached, and until the person is a member of `viewed_running` (its row in
segment_members, read by polling the database every 2 ms). p50/p99 of each, and the ratio of the
membership's p50 to the bare attach's p50.

(b) Build: `--profiles` people seeded directly in bulk (bench/segment_build.py), a new segment
applied and built to the end by the worker's `build_next_chunk`; seconds and people/s, beside the
floor of reading the same rows chunk by chunk with plain SELECTs.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
import uuid
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))

import httpx
import orjson
import segment_build
from rich.console import Console
from sqlalchemy import Connection, create_engine, text
from tracking_server import Database, nerve_cli, running_server, throwaway_database

console = Console()
TARGET = "viewed_running"
_CATEGORIES = ("Running", "Hiking", "Tennis", "Swimming", "Yoga")


def definitions() -> list[dict[str, Any]]:
    """The 50 segments of the latency run."""
    found: list[dict[str, Any]] = [{"key": TARGET, "name": "Viewed running", "where": {
        "event": "Product Viewed", "properties": {"category": "Running"}, "at_least": 1,
        "within": "7d"}}]  # fmt: skip
    for category in _CATEGORIES:
        for count, within in ((2, "7d"), (3, "30d"), (5, "24h")):
            found.append({
                "key": f"viewed_{category.lower()}_{count}", "name": f"{category} x{count}",
                "where": {"event": "Product Viewed", "properties": {"category": category},
                          "at_least": count, "within": within},
            })  # fmt: skip
        found.append({"key": f"likes_{category.lower()}", "name": f"Likes {category}",
                      "where": {"interest": f"category:{category}", "min_score": 2}})  # fmt: skip
        found.append({"key": f"top_{category.lower()}", "name": f"Top {category}",
                      "where": {"interest": f"category:{category}", "top": 2}})  # fmt: skip
    for n, plan in enumerate(("gold", "silver", "bronze", "free")):
        found.append(
            {"key": f"plan_{plan}", "name": plan, "where": {"trait": "plan", "equals": plan}}
        )
        found.append(
            {"key": f"age_{n}", "name": f"Age {n}", "where": {"trait": "age", "gte": 20 + 10 * n}}
        )
    for n, (count, within) in enumerate(((1, "30d"), (2, "90d"), (5, "365d"))):
        found.append({"key": f"buyer_{n}", "name": f"Buyer {n}",
                      "where": {"orders": {"at_least": count, "within": within}}})  # fmt: skip
        found.append({"key": f"spender_{n}", "name": f"Spender {n}",
                      "where": {"computed": "total_spent", "gte": 100 * (n + 1)}})  # fmt: skip
    for n, within in enumerate(("1h", "1d", "7d")):
        found.append({"key": f"seen_{n}", "name": f"Seen {within}",
                      "where": {"computed": "last_seen", "within": within}})  # fmt: skip
    found.append({"key": "cart_50", "name": "Cart 50", "where": {"cart": {"value_at_least": 50}}})
    found.append({"key": "cart_running", "name": "Cart running",
                  "where": {"cart": {"category": "Running"}}})  # fmt: skip
    found.append({"key": "browsing_runner", "name": "Browsing runner", "where": {"all": [
        {"segment": TARGET}, {"not": {"segment": "buyer_0"}}]}})  # fmt: skip
    found.append({"key": "engaged", "name": "Engaged", "where": {"any": [
        {"segment": "viewed_running_2"}, {"segment": "likes_running"},
        {"segment": "buyer_1"}]}})  # fmt: skip
    found.append({"key": "has_email", "name": "Has email", "where": {"trait": "email",
                                                                     "exists": True}})  # fmt: skip
    found.append({"key": "big_spender", "name": "Big spender",
                  "where": {"orders": {"spent_at_least": 500}}})  # fmt: skip
    found.append({"key": "lapsed_viewer", "name": "Lapsed viewer", "where": {"all": [
        {"event": "Product Viewed", "at_least": 1, "within": "30d"},
        {"not": {"orders": {"at_least": 1, "within": "90d"}}}]}})  # fmt: skip
    assert len(found) == 50, len(found)
    return found


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def _summary(values: list[float]) -> dict[str, float]:
    if not values:
        return {}
    return {"p50_ms": round(statistics.median(values), 1),
            "p99_ms": round(_percentile(values, 0.99), 1),
            "max_ms": round(max(values), 1)}  # fmt: skip


class _Poll:
    """Reads the server's database every `every` seconds until a query answers a row."""

    def __init__(self, conn: Connection, every: float = 0.002) -> None:
        self.conn, self.every = conn, every

    def until(self, sql: Any, params: dict[str, Any], timeout: float = 30.0) -> float:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = self.conn.execute(sql, params).first()
            self.conn.rollback()  # a fresh snapshot for the next read
            if found is not None and all(v is not None for v in found):
                return time.monotonic()
            time.sleep(self.every)
        raise SystemExit(f"not visible after {timeout} s: {params}")


_ATTACHED = text(
    "SELECT profile_id FROM events WHERE source_id = :source AND message_id = :message"
)
_MEMBER = text(
    "SELECT m.person_id FROM segment_members m JOIN identifiers i ON i.profile_id = m.person_id"
    " WHERE m.segment_id = :segment AND i.type = 'user_id' AND i.value = :user"
)


def _send(client: httpx.Client, url: str, poll: _Poll, source: str, prefix: str, events: int,
          segment: str | None) -> tuple[list[float], list[float]]:  # fmt: skip
    attached: list[float] = []
    member: list[float] = []
    for n in range(events):
        user, message = f"{prefix}-{n}", uuid.uuid4().hex
        body = {"userId": user, "event": "Product Viewed", "messageId": message,
                "properties": {"sku": f"SKU-{n % 40}", "category": "Running",
                               "price": 59}}  # fmt: skip
        sent = time.monotonic()
        client.post(f"{url}/v1/track", json=body).raise_for_status()
        attached.append(
            (poll.until(_ATTACHED, {"source": source, "message": message}) - sent) * 1000
        )
        if segment is not None:
            seen = poll.until(_MEMBER, {"segment": segment, "user": user})
            member.append((seen - sent) * 1000)
    return attached, member


def _define(url: str, secret: str) -> None:
    headers = {"Authorization": f"Bearer {secret}"}
    with httpx.Client(timeout=30) as client:
        _apply(client, url, headers)


def _apply(client: httpx.Client, url: str, headers: dict[str, str]) -> None:
    for definition in definitions():
        client.post(f"{url}/api/v1/segments", json=definition, headers=headers).raise_for_status()
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        listed = client.get(f"{url}/api/v1/segments", headers=headers).json()
        rows = listed["segments"] if isinstance(listed, dict) else listed
        if all(s["status"] == "ready" for s in rows):
            return
        time.sleep(0.2)
    raise SystemExit("the 50 segments' builds did not finish in 120 s")


def latency(database: Database, events: int) -> dict[str, Any]:
    nerve_cli(database, "db", "upgrade")
    source = orjson.loads(
        nerve_cli(database, "sources", "create", "web", "--kind", "web", "--json")
    )
    secret = orjson.loads(nerve_cli(database, "keys", "create", "--role", "admin", "--json"))
    engine = create_engine(database.url)
    with (running_server(database, 1) as server, engine.connect() as conn,
          httpx.Client(auth=(source["write_key"], ""), timeout=30) as client):  # fmt: skip
        poll = _Poll(conn)
        bare, _ = _send(client, server.base_url, poll, source["id"], "bare", events, None)
        _define(server.base_url, secret["secret_key"])
        target = conn.scalar(text("SELECT id FROM segments WHERE key = :k"), {"k": TARGET})
        conn.rollback()
        attached, member = _send(client, server.base_url, poll, source["id"], "seg", events,
                                 target)  # fmt: skip
    engine.dispose()
    return {
        "events": events, "bare_attached": _summary(bare), "segments": 50,
        "attached": _summary(attached), "member": _summary(member),
        "member_p50_over_bare_p50": round(statistics.median(member) / statistics.median(bare), 2),
    }  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--backend", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument(
        "--database-url", help="an existing, empty database instead of a throw-away"
    )
    parser.add_argument("--events", type=int, default=300, help="per phase; 0 skips (a)")
    parser.add_argument("--profiles", type=int, default=20_000, help="for (b); 0 skips it")
    args = parser.parse_args()
    results: dict[str, Any] = {"backend": args.backend}
    if args.events:
        results["latency"] = _on_database(args, lambda db: latency(db, args.events))
        console.print(results)
    if args.profiles:
        results["build"] = _on_database(
            args, lambda db: segment_build.measure(db.url, args.profiles)
        )
    console.print(results)


def _on_database(args: argparse.Namespace, work: Any) -> Any:
    if args.database_url:
        backend = "sqlite" if args.database_url.startswith("sqlite") else "postgresql"
        workdir = Path.cwd() / "bench" / "results"
        workdir.mkdir(parents=True, exist_ok=True)
        return work(Database(backend, args.database_url, workdir))
    with throwaway_database(args.backend) as database:
        return work(database)


if __name__ == "__main__":
    main()
