"""Erasure (GDPR Art. 17) of a heavy person: how long `DELETE /api/v1/profiles/{id}` holds its
transaction when the person has `--events` events over several devices and `--runs` flow runs
(waiting, with their tasks, steps and trigger entries), in a database that also holds other
people. No HTTP: it calls the service the API calls (nerve/privacy/service.py), in a throw-away
database per backend.

    .venv/bin/python bench/erase.py                       # 10,000 events, 100 runs, both backends
    .venv/bin/python bench/erase.py --backends sqlite --repeats 3

Baseline, measured in the same run: deleting the same number of rows straight from the events
table in one statement (`DELETE FROM events WHERE profile_id IN ...`), the floor any erasure
that must remove every event stands on.
"""

from __future__ import annotations

import argparse
import statistics
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from identity_store import Inserter, prepare
from rich.console import Console
from rich.table import Table
from sqlalchemy import Engine, delete, func, select
from tracking_server import throwaway_database

from nerve.db.engine import make_engine, write_transaction
from nerve.events.models import Event
from nerve.flows import engine as flows
from nerve.flows.definition import validate
from nerve.flows.models import FlowRun
from nerve.identity import service as identity
from nerve.identity.resolver import resolve_pending
from nerve.identity.rules import MergeRules
from nerve.pipeline import CONSUMERS
from nerve.privacy import service as privacy
from nerve.settings import Settings

console = Console()
WAITING = validate(
    {
        "name": "bench_waiting",
        "trigger": {"event": "Checkout Started", "reentry": "always"},
        "nodes": [{"id": "pause", "wait": "7d"}],
    }
)


def _person(user: str, events: int, runs: int, start: datetime) -> list[tuple[dict[str, Any], str]]:
    """One customer on three devices: browsing, `runs` checkouts, signed in everywhere."""
    devices = [f"{user}-phone", f"{user}-laptop", f"{user}-tablet"]
    messages: list[tuple[dict[str, Any], str]] = []
    for n, device in enumerate(devices):
        messages.append(({"type": "identify", "userId": user, "anonymousId": device,
                          "traits": {"email": f"{user}@example.com", "first_name": "Bench"},
                          "timestamp": (start + timedelta(seconds=n)).isoformat(),
                          "messageId": str(uuid.uuid4())}, "web"))  # fmt: skip
    for n in range(events - len(messages)):
        checkout = n < runs
        messages.append(({"type": "track", "anonymousId": devices[n % 3], "userId": user,
                          "event": "Checkout Started" if checkout else "Product Viewed",
                          "properties": {"cart_id": f"c{n}", "sku": f"SKU-{n % 97}",
                                         "category": "Running"},
                          "timestamp": (start + timedelta(seconds=10 + n)).isoformat(),
                          "messageId": str(uuid.uuid4())}, "web"))  # fmt: skip
    return messages


def _load(engine: Engine, people: int, events: int, runs: int) -> list[str]:
    shop = prepare(engine)
    with write_transaction(engine) as conn:
        flows.publish(conn, shop.workspace_id, WAITING, "production")
    inserter = Inserter(engine, shop)
    start = datetime(2026, 11, 1, tzinfo=UTC)
    users = [f"bench-{n}" for n in range(people)]
    for user in users:
        messages = _person(user, events, runs, start)
        for at in range(0, len(messages), 5000):
            inserter.insert(messages[at : at + 5000])
    while resolve_pending(engine, CONSUMERS, 2000):
        pass
    with engine.connect() as conn:
        rules = MergeRules()
        return [identity.lookup(conn, shop.workspace_id, "user_id", u, rules) for u in users]


def _erase(engine: Engine, workspace_id: str, person: str) -> tuple[float, int, int]:
    with engine.connect() as conn:
        events = conn.scalar(select(func.count()).select_from(Event).where(
            Event.profile_id.in_(identity.members(conn, person))))  # fmt: skip
        runs = conn.scalar(select(func.count()).select_from(FlowRun).where(
            FlowRun.profile_id.in_(identity.members(conn, person))))  # fmt: skip
    started = time.perf_counter()
    with write_transaction(engine) as conn:
        privacy.erase(conn, workspace_id, person, actor="bench")
    return time.perf_counter() - started, events or 0, runs or 0


def _baseline(engine: Engine, person: str) -> float:
    with engine.connect() as conn:
        profiles = identity.members(conn, person)
    started = time.perf_counter()
    with write_transaction(engine) as conn:
        conn.execute(delete(Event).where(Event.profile_id.in_(profiles)))
    return time.perf_counter() - started


def run_backend(backend: str, opts: argparse.Namespace) -> dict[str, Any]:
    with throwaway_database(backend) as database:
        engine = make_engine(Settings(database_url=database.url, _env_file=None))  # type: ignore[call-arg]
        try:
            console.print(f"[bold]{backend}[/bold]: loading {opts.people} people x "
                          f"{opts.events:,} events, {opts.runs} runs each …")  # fmt: skip
            people = _load(engine, opts.people, opts.events, opts.runs)
            if backend == "postgresql":
                with engine.connect() as conn:
                    conn.exec_driver_sql("ANALYZE")
                    conn.commit()
            with engine.connect() as conn:
                workspace_id = conn.scalar(select(Event.workspace_id).limit(1))
            erase_times, counts = [], []
            for person in people[: opts.repeats]:
                seconds, events, runs = _erase(engine, workspace_id, person)
                erase_times.append(seconds)
                counts.append((events, runs))
            baselines = [_baseline(engine, p) for p in people[opts.repeats : 2 * opts.repeats]]
        finally:
            engine.dispose()
    return {
        "backend": backend,
        "erase_seconds": erase_times,
        "baseline_seconds": baselines,
        "events_runs": counts,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--backends", default="sqlite,postgresql")
    parser.add_argument("--events", type=int, default=10_000, help="events per person")
    parser.add_argument("--runs", type=int, default=100, help="waiting flow runs per person")
    parser.add_argument("--repeats", type=int, default=3, help="people erased per backend")
    opts = parser.parse_args()
    opts.people = 2 * opts.repeats + 2  # erased, baseline, and bystanders that stay
    table = Table(title="erasure of one person")
    for column in ("backend", "events / runs", "erase p50", "erase max", "events-only delete",
                   "erase ÷ delete"):  # fmt: skip
        table.add_column(column, justify="right")
    for backend in opts.backends.split(","):
        result = run_backend(backend, opts)
        erase = statistics.median(result["erase_seconds"])
        floor = statistics.median(result["baseline_seconds"])
        events, runs = result["events_runs"][0]
        table.add_row(backend, f"{events:,} / {runs}", f"{erase * 1000:,.0f} ms",
                      f"{max(result['erase_seconds']) * 1000:,.0f} ms", f"{floor * 1000:,.0f} ms",
                      f"{erase / floor:.1f}x")  # fmt: skip
    console.print(table)


if __name__ == "__main__":
    main()
