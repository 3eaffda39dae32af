"""The delivery-policy check's cost per message (nerve/channels/timing.admit: the person's
profiles, their lock, the fatigue count, the engagement tier, quiet hours) with --messages in the
log (1,000,000), on SQLite and PostgreSQL. Goal: < 1 ms p99. No HTTP, no SMTP: the call the send
path makes inside the transaction that logs a message, for one random person after another.

    .venv/bin/python bench/fatigue_check.py                          # 1,000,000 messages, both
    .venv/bin/python bench/fatigue_check.py --messages 100000 --backends sqlite   # quick look

Baseline, measured in the same run on the same connection: one primary-key lookup of a message
(`SELECT status FROM messages WHERE id = ?`), the floor of any query a send makes.
"""

from __future__ import annotations

import argparse
import random
import statistics
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from identity_store import prepare
from rich.console import Console
from rich.table import Table
from sqlalchemy import Connection, Engine, insert, select
from tracking_server import throwaway_database

from nerve.channels.models import Message
from nerve.channels.timing import Recipient, admit
from nerve.channels.timing.policy import DeliveryPolicy, save
from nerve.db.engine import make_engine, write_transaction
from nerve.identity.models import Profile
from nerve.settings import Settings

console = Console(width=120)
NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
CAP = {"fatigue": {"limit": 3, "window": "7d"}}
FULL = {
    "fatigue": {"limit": 3, "window": "7d", "tiers": [{"unengaged_for": "90d", "limit": 1}]},
    "quiet_hours": {"start": "21:00", "end": "08:00", "default_timezone": "Europe/Berlin"},
}
STATUSES = ("sent", "sent", "opened", "clicked", "skipped", "queued", "bounced", "deferred")


def _load(engine: Engine, messages: int, per_person: int) -> tuple[str, list[str], list[str]]:
    """People with `per_person` messages each over the last 120 days: 1 in 4 transactional."""
    workspace_id = prepare(engine).workspace_id
    people = [f"prf_bench{n}" for n in range(messages // per_person)]
    rng = random.Random(7)
    with write_transaction(engine) as conn:
        for start in range(0, len(people), 10_000):
            conn.execute(insert(Profile), [{"id": p, "workspace_id": workspace_id, "cluster_id": p}
                                           for p in people[start : start + 10_000]])  # fmt: skip
    ids: list[str] = []
    batch: list[dict[str, Any]] = []
    for n in range(messages):
        at = NOW - timedelta(seconds=rng.uniform(0, 120 * 86400))
        status = rng.choice(STATUSES)
        opened = at + timedelta(hours=2) if status in ("opened", "clicked") else None
        ids.append(f"msg_bench{n}")
        batch.append({"id": ids[-1], "workspace_id": workspace_id,
                      "profile_id": people[n % len(people)], "channel": "email",
                      "kind": "transactional" if n % 4 == 0 else "marketing",
                      "idempotency_key": f"k{n}", "message_id": f"<{n}@bench>", "status": status,
                      "created_at": at, "updated_at": at, "opened_at": opened,
                      "sent_at": at if status != "queued" else None})  # fmt: skip
        if len(batch) == 20_000 or n == messages - 1:
            with write_transaction(engine) as conn:
                conn.execute(insert(Message), batch)
            batch = []
            console.print(f"  {n + 1:,} messages", end="\r")
    return workspace_id, people, ids


def _timed(conn: Connection, calls: int, call: Callable[[int], Any]) -> list[float]:
    seconds = []
    for n in range(calls):
        started = time.perf_counter()
        call(n)
        seconds.append(time.perf_counter() - started)
        if n % 50 == 49:  # short transactions, as the send path's
            conn.commit()
    conn.commit()
    return seconds


def _measure(engine: Engine, workspace_id: str, people: list[str], ids: list[str],
             calls: int) -> dict[str, list[float]]:  # fmt: skip
    rng = random.Random(11)
    who = [rng.choice(people) for _ in range(calls)]
    which = [rng.choice(ids) for _ in range(calls)]
    results: dict[str, list[float]] = {}
    with engine.connect() as conn:
        results["baseline: PK lookup"] = _timed(conn, calls, lambda n: conn.scalar(
            select(Message.status).where(Message.id == which[n])))  # fmt: skip
    for name, document in (("cap", CAP), ("cap + tier + quiet hours", FULL)):
        with write_transaction(engine) as conn:
            save(conn, workspace_id, DeliveryPolicy.model_validate(document), actor="bench")
        with engine.connect() as conn:
            results[name] = _timed(conn, calls, lambda n: admit(
                conn, Recipient(workspace_id, who[n], "Europe/Berlin"), "marketing", "email", {},
                NOW + timedelta(seconds=n)))  # fmt: skip
    return results


def run_backend(backend: str, opts: argparse.Namespace) -> dict[str, list[float]]:
    with throwaway_database(backend) as database:
        engine = make_engine(Settings(database_url=database.url, _env_file=None))  # type: ignore[call-arg]
        try:
            console.print(f"[bold]{backend}[/bold]: loading {opts.messages:,} messages …")
            started = time.perf_counter()
            workspace_id, people, ids = _load(engine, opts.messages, opts.per_person)
            console.print(f"  loaded in {time.perf_counter() - started:.0f} s")
            if backend == "postgresql":
                with engine.connect() as conn:
                    conn.exec_driver_sql("ANALYZE")
                    conn.commit()
            _measure(engine, workspace_id, people, ids, min(opts.calls, 500))  # warm up
            return _measure(engine, workspace_id, people, ids, opts.calls)
        finally:
            engine.dispose()


def _ms(seconds: list[float], q: int) -> float:
    return statistics.quantiles(seconds, n=100)[q - 1] * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--backends", default="sqlite,postgresql")
    parser.add_argument("--messages", type=int, default=1_000_000)
    parser.add_argument("--per-person", type=int, default=20, help="messages per person")
    parser.add_argument("--calls", type=int, default=5000, help="checks timed per variant")
    opts = parser.parse_args()
    table = Table(title=f"delivery-policy check per message, {opts.messages:,} in the log")
    for column in ("backend", "what", "p50", "p99", "max", "÷ baseline p50", "÷ baseline p99"):
        table.add_column(column, justify="right")
    for backend in opts.backends.split(","):
        results = run_backend(backend, opts)
        base = results["baseline: PK lookup"]
        for name, seconds in results.items():
            p50, p99 = _ms(seconds, 50), _ms(seconds, 99)
            table.add_row(backend, name, f"{p50:.3f} ms", f"{p99:.3f} ms",
                          f"{max(seconds) * 1000:.2f} ms", f"{p50 / _ms(base, 50):.1f}x",
                          f"{p99 / _ms(base, 99):.1f}x")  # fmt: skip
    console.print(table)


if __name__ == "__main__":
    main()
