"""Identity resolution: throughput after a plain ingest, and the latency of one merge.

.venv/bin/python bench/identity.py [--events 1000000] [--customers 100000]
    [--backends sqlite,postgresql] [--merge-events 10000] [--merge-repeats 20]
    [--max-seconds 600] [--profile]

Per backend, in a throw-away database: (1) a seeded shop stream (customers on ~3 devices who sign
in on some of them) is normalised and inserted as the event writer does, timed as plain ingest;
(2) `resolve_pending` drains the queue in batches, timed as resolution; (3) one anonymous profile
with `--merge-events` events is signed into a known customer, and the `resolve_pending` call that
merges it is timed. Prints figures and writes them to bench/results/; asserts nothing.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import platform
import subprocess
import sys
import time
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
from identity_cpu import CpuSample
from identity_merge import MergeTest, merge_latency
from identity_postgres import AutovacuumStandIn, server_settings
from identity_profile import Sampler, StatementLog
from identity_report import console, print_backend, print_comparison, progress
from identity_store import Inserter, prepare
from identity_stream import MessageBuilder, Plan, plan_stream
from sqlalchemy import Engine, delete, func, select
from tracking_load import wait_until_quiet
from tracking_server import throwaway_database

from nerve.db.engine import make_engine, write_transaction
from nerve.events.models import Event
from nerve.identity.models import Identifier, Merge, Profile
from nerve.identity.resolver import resolve_pending
from nerve.pipeline import CONSUMERS
from nerve.settings import Settings

RESULTS = Path(__file__).parent / "results"


@dataclass(frozen=True)
class Options:
    events: int
    customers: int
    merge_events: int
    merge_repeats: int
    max_seconds: float
    chunk: int
    batch: int
    seed: int
    profile: bool
    wait_quiet: float
    pg_autovacuum_every: float


def ingest(inserter: Inserter, plan: Plan, opts: Options) -> dict[str, Any]:
    """Phase 1: the stream into `events`, in time order; only normalise + insert is timed."""
    builder = MessageBuilder(plan, opts.seed)
    cpu = CpuSample.take(inserter.engine)
    stored, build_seconds, started = 0, 0.0, time.perf_counter()
    with progress() as bar:
        task = bar.add_task("ingest", total=len(plan.steps))
        for offset in range(0, len(plan.steps), opts.chunk):
            built = time.perf_counter()
            messages = [builder.message(s) for s in plan.steps[offset : offset + opts.chunk]]
            build_seconds += time.perf_counter() - built
            stored += inserter.insert(messages)
            bar.advance(task, len(messages))
            if time.perf_counter() - started > opts.max_seconds:
                break
    seconds = inserter.normalize_seconds + inserter.insert_seconds
    return {
        "events": stored,
        "planned_events": len(plan.steps),
        "complete": stored == len(plan.steps),
        "chunk": opts.chunk,
        "seconds": round(seconds, 2),
        "events_per_second": round(stored / seconds, 1),
        "insert_only_events_per_second": round(stored / inserter.insert_seconds, 1),
        "normalize_seconds": round(inserter.normalize_seconds, 2),
        "insert_seconds": round(inserter.insert_seconds, 2),
        "message_build_seconds_untimed": round(build_seconds, 2),
        "cpu_percent": cpu.shares_until(CpuSample.take(inserter.engine)),
    }


def resolve(engine: Engine, opts: Options, profile_path: Path | None) -> dict[str, Any]:
    """Phase 2: `resolve_pending` until the queue is empty or the time budget is spent."""
    pending = _unresolved(engine)
    cpu = CpuSample.take(engine)
    statements, sampler = StatementLog(), None
    statements.attach(engine)
    if profile_path is not None:
        sampler = Sampler(profile_path)
    done, marks, started = 0, [(0, 0.0)], time.perf_counter()
    with progress() as bar:
        task = bar.add_task("resolve", total=pending)
        while batch := resolve_pending(engine, CONSUMERS, opts.batch):
            done += len(batch)
            marks.append((done, time.perf_counter() - started))
            bar.advance(task, len(batch))
            if marks[-1][1] > opts.max_seconds:
                break
    seconds = marks[-1][1]
    figures: dict[str, Any] = {
        "pending_at_start": pending,
        "events": done,
        "complete": done == pending,
        "batch": opts.batch,
        "seconds": round(seconds, 2),
        "events_per_second": round(done / seconds, 1) if seconds else None,
        "first_tenth_events_per_second": _rate(marks, 0.0, 0.1),
        "last_tenth_events_per_second": _rate(marks, 0.9, 1.0),
        "profiled": profile_path is not None,
    }
    statements.detach(engine)
    figures["cpu_percent"] = cpu.shares_until(CpuSample.take(engine))
    figures["sql"] = statements.summary(seconds, done, len(marks) - 1)
    if sampler is not None:
        figures["py_spy"] = {"raw_file": str(profile_path), **sampler.stop()}
    return figures


def _rate(marks: list[tuple[int, float]], low: float, high: float) -> float | None:
    """Events/s over the share [low, high] of the events processed (by batch boundaries)."""
    total = marks[-1][0]
    inside = [m for m in marks if low * total <= m[0] <= high * total]
    if len(inside) < 2 or inside[-1][1] == inside[0][1]:
        return None
    return round((inside[-1][0] - inside[0][0]) / (inside[-1][1] - inside[0][1]), 1)


def _unresolved(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.scalar(select(func.count()).where(Event.profile_id.is_(None))) or 0)


def census(engine: Engine, plan: Plan, resolved_all: bool) -> dict[str, Any]:
    """What the graph looks like: profiles, persons (merge-tree roots), merges by kind."""
    with engine.connect() as conn:
        merges: dict[str, int] = {
            kind: count
            for kind, count in conn.execute(select(Merge.kind, func.count()).group_by(Merge.kind))
        }
        identifiers: dict[str, int] = {
            kind: count
            for kind, count in conn.execute(
                select(Identifier.type, func.count()).group_by(Identifier.type)
            )
        }
        leaves = conn.scalar(select(func.count()).select_from(Profile))
        persons = conn.scalar(select(func.count()).where(Profile.merged_into.is_(None)))
    return {
        "profiles": leaves,
        "persons": persons,
        "expected_persons": plan.expected_persons if resolved_all else None,
        "merges": {kind: merges.get(kind, 0) for kind in ("merged", "rejected", "relinked")},
        "identifiers": identifiers,
        "stream": {
            "customers": len(plan.customers),
            "signed_in_devices": plan.signed_in_devices,
            "anonymous_devices": plan.anonymous_devices,
            "kiosk_sessions": plan.kiosk_sessions,
        },
    }


def measure_backend(backend: str, plan: Plan, opts: Options, stamp: str) -> dict[str, Any]:
    console.rule(f"[bold]{backend}")
    busy = wait_until_quiet(opts.wait_quiet)
    console.print(f"  machine busy before the run: {busy:.0f} % of all cores")
    figures: dict[str, Any] = {"backend": backend, "busy_before_percent": round(busy, 1)}
    with throwaway_database(backend) as database:
        engine = make_engine(Settings(database_url=database.url))
        vacuum = None
        try:
            inserter = Inserter(engine, prepare(engine))
            if backend == "sqlite":
                figures["sqlite_synchronous"] = Settings().sqlite_synchronous
            else:
                figures["postgres"] = server_settings(database.psycopg_url)
                vacuum = AutovacuumStandIn(database.psycopg_url, opts.pg_autovacuum_every)
            figures["ingest"] = ingest(inserter, plan, opts)
            profile = RESULTS / f"pyspy-identity-{backend}-{stamp}.txt" if opts.profile else None
            figures["resolution"] = resolution = resolve(engine, opts, profile)
            resolved_all = figures["ingest"]["complete"] and resolution["complete"]
            figures["graph"] = census(engine, plan, resolved_all)
            figures["left_unresolved"] = _drop_unresolved(engine)
            budget_end = time.perf_counter() + opts.max_seconds
            test = MergeTest(
                opts.merge_events, opts.merge_repeats, opts.chunk, opts.batch, opts.seed
            )
            figures["merge_latency"] = merge_latency(engine, inserter, plan, test, budget_end)
        finally:
            if vacuum is not None:
                figures["autovacuum_stand_in"] = vacuum.stop()
            engine.dispose()
    print_backend(figures)
    return figures


def _drop_unresolved(engine: Engine) -> int:
    """Events the budget left unresolved would sit ahead of the merge test in the queue."""
    with write_transaction(engine) as conn:
        deleted = conn.execute(delete(Event).where(Event.profile_id.is_(None)))
        return int(deleted.rowcount)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--backends", default="sqlite,postgresql", help="comma-separated")
    parser.add_argument("--merge-events", type=int, default=10_000)
    parser.add_argument("--merge-repeats", type=int, default=20)
    parser.add_argument(
        "--max-seconds", type=float, default=600.0, help="budget per phase and backend"
    )
    parser.add_argument("--chunk", type=int, default=5_000, help="events per ingest commit")
    parser.add_argument("--batch", type=int, default=500, help="resolve_pending limit")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument(
        "--pg-autovacuum-every",
        type=float,
        default=60.0,
        help="if the PostgreSQL server has autovacuum off, VACUUM (ANALYZE) this often (0: never)",
    )
    parser.add_argument(
        "--wait-quiet",
        type=float,
        default=30.0,
        help="before each backend, wait up to this many seconds for the machine to be idle",
    )
    parser.add_argument("--profile", action="store_true", help="py-spy + SQL counts, resolution")
    args = parser.parse_args(argv)
    backends = [b.strip() for b in args.backends.split(",") if b.strip()]
    if set(backends) - {"sqlite", "postgresql"}:
        parser.error("backends are sqlite and postgresql")
    opts = Options(
        args.events, args.customers, args.merge_events, args.merge_repeats, args.max_seconds,
        args.chunk, args.batch, args.seed, args.profile, args.wait_quiet,
        args.pg_autovacuum_every,
    )  # fmt: skip
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    RESULTS.mkdir(exist_ok=True)
    started = time.perf_counter()
    plan = plan_stream(opts.events, opts.customers, opts.seed)
    console.print(
        f"stream: {len(plan.steps):,} events, {len(plan.customers):,} customers, "
        f"{len(plan.devices):,} devices, planned in {time.perf_counter() - started:.1f} s; "
        f"{os.cpu_count()} CPUs"
    )
    results: dict[str, Any] = {
        "started_at": stamp,
        "machine": {"cpus": os.cpu_count(), "platform": platform.platform()},
        "python": sys.version.split()[0],
        "git": _git_state(),  # before the runs: others may commit while they last
        "options": asdict(opts),
        "backends": {},
    }
    path = RESULTS / f"identity-{stamp}.json"
    for backend in backends:
        results["backends"][backend] = measure_backend(backend, plan, opts, stamp)
        # Written after each backend: a long run that is cut short keeps what it measured.
        path.write_bytes(orjson.dumps(results, option=orjson.OPT_INDENT_2))
    print_comparison(results["backends"])
    console.print(f"figures written to {path}")


def _git_state() -> dict[str, Any]:
    """The code under test: HEAD, and the uncommitted changes to nerve/ if any."""

    def git(*args: str) -> str:
        done = subprocess.run(
            ["git", *args], cwd=Path(__file__).parent, capture_output=True, text=True, check=False
        )
        return done.stdout.strip()

    diff = git("diff", "HEAD", "--", "nerve")
    return {
        "commit": git("rev-parse", "HEAD"),
        "nerve_dirty": bool(diff),
        # Others edit nerve/ while benchmarks run: this names the exact code that was measured.
        "nerve_diff_sha256": hashlib.sha256(diff.encode()).hexdigest() if diff else None,
    }


if __name__ == "__main__":
    main()
