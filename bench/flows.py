"""Flow engine benchmark: drain due timers, event→first action latency, workers scaling.

    .venv/bin/python bench/flows.py [--timers 1000000] [--due 100000] [--backends sqlite,postgresql]
                                    [--workers 1,2,4] [--latency-events 200]

Prints figures; asserts nothing about speed. (a) stores `--timers` waiting runs with a pending
timer each, makes `--due` of them due at once and measures steps/s until drained, printing the
claim query's plan; (c) repeats the drain with 1, 2 and 4 worker processes on PostgreSQL;
(b) measures event → first action latency through a real `nerve serve` and webhook receiver.
"""

from __future__ import annotations

import argparse
import multiprocessing
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))

from rich.console import Console
from rich.progress import Progress
from rich.table import Table
from sqlalchemy import Engine, func, select, update
from tracking_server import throwaway_database

from nerve.db.engine import make_engine, write_transaction
from nerve.db.migrate import upgrade
from nerve.flows import engine as flows
from nerve.flows.definition import validate
from nerve.flows.executor import Executor
from nerve.flows.models import FlowRun, Task
from nerve.settings import Settings

console = Console()
TIMER_FLOW = {
    "name": "bench_timers",
    "trigger": {"event": "Bench Started", "reentry": "always"},
    "nodes": [{"id": "long_wait", "wait": "30d"}],
}
_CHUNK = 20_000


def _seed(engine: Engine, timers: int) -> None:
    """`timers` runs, each waiting on one pending timer 30 days out (bulk, not via events)."""
    with write_transaction(engine) as conn:
        published = flows.publish(conn, "ws_bench", validate(TIMER_FLOW), "production")
    now = datetime.now(UTC)
    due = now + timedelta(days=30)
    with Progress(console=console, transient=True) as progress:
        job = progress.add_task("storing timers", total=timers)
        for start in range(0, timers, _CHUNK):
            count = min(_CHUNK, timers - start)
            runs = [
                {"id": f"run_b{start + i}", "workspace_id": "ws_bench",
                 "flow_id": published["flow_id"],
                 "version_id": published["version_id"], "environment": "production",
                 "profile_id": f"prf_b{start + i}", "trigger_key": "", "status": "active",
                 "node": "end", "state_version": 1, "state": {"trigger": {}, "data": {}},
                 "started_at": now}
                for i in range(count)
            ]  # fmt: skip
            tasks = [
                {"workspace_id": "ws_bench", "run_id": r["id"], "kind": "advance", "node": "end",
                 "expected_version": 1, "due_at": due, "status": "pending", "attempts": 0,
                 "idempotency_key": ""}
                for r in runs
            ]  # fmt: skip
            with write_transaction(engine) as conn:
                conn.execute(FlowRun.__table__.insert(), runs)
                conn.execute(Task.__table__.insert(), tasks)
            progress.advance(job, count)


def _make_due(engine: Engine, due: int) -> None:
    with write_transaction(engine) as conn:
        ids = select(Task.id).where(Task.status == "pending").order_by(Task.id).limit(due)
        conn.execute(
            update(Task)
            .where(Task.id.in_(ids.scalar_subquery()))
            .values(due_at=datetime.now(UTC) - timedelta(seconds=1))
        )


def _claim_plan(engine: Engine) -> str:
    with engine.connect() as conn:
        if conn.dialect.name == "postgresql":
            rows = conn.exec_driver_sql(
                "EXPLAIN SELECT id FROM tasks WHERE status = 'pending'"
                " AND due_at <= clock_timestamp()"
                " ORDER BY due_at LIMIT 32 FOR UPDATE SKIP LOCKED"
            ).all()
            return "\n".join(r[0] for r in rows)
        rows = conn.exec_driver_sql(
            "EXPLAIN QUERY PLAN SELECT id FROM tasks INDEXED BY ix_tasks_due"
            " WHERE status = 'pending'"
            " AND due_at <= strftime('%Y-%m-%d %H:%M:%f', 'now') ORDER BY due_at LIMIT 32"
        ).all()
        return "\n".join(str(r[-1]) for r in rows)


def _drain_worker(url: str, stop_at: float) -> None:
    engine = make_engine(Settings(database_url=url))
    executor = Executor(engine, f"bench-{uuid.uuid4().hex[:6]}")
    while time.monotonic() < stop_at:
        claimed = executor.claim(256)
        if not claimed:
            return
        for task_id in executor.advance_many(claimed):
            executor.execute(task_id)


def _pending_due(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(
            conn.scalar(
                select(func.count())
                .select_from(Task)
                .where(Task.status.in_(["pending", "running"]), Task.due_at <= datetime.now(UTC))
            )
            or 0
        )


def _drain(url: str, engine: Engine, due: int, workers: int, budget: float) -> dict[str, Any]:
    _make_due(engine, due)
    started = time.monotonic()
    processes = [
        multiprocessing.Process(target=_drain_worker, args=(url, started + budget))
        for _ in range(workers)
    ]
    for process in processes:
        process.start()
    for process in processes:
        process.join()
    elapsed = time.monotonic() - started
    left = _pending_due(engine)
    done = due - left
    return {
        "workers": workers,
        "steps": done,
        "seconds": round(elapsed, 2),
        "steps_per_second": round(done / elapsed, 1),
        "left": left,
    }


def bench_backend(
    backend: str, timers: int, due: int, worker_counts: list[int], budget: float
) -> list[dict[str, Any]]:
    results = []
    with throwaway_database(backend) as database:
        engine = make_engine(Settings(database_url=database.url))
        upgrade(engine)
        started = time.monotonic()
        _seed(engine, timers)
        console.print(
            f"[bold]{backend}[/bold]: stored {timers:,} timers"
            f" in {time.monotonic() - started:.1f} s"
        )
        console.print(f"claim plan:\n{_claim_plan(engine)}")
        counts = worker_counts if backend == "postgresql" else [1]
        for workers in counts:
            result = _drain(database.url, engine, due, workers, budget) | {"backend": backend}
            console.print(result)
            results.append(result)
        engine.dispose()
    return results


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--timers", type=int, default=1_000_000)
    parser.add_argument("--due", type=int, default=100_000)
    parser.add_argument("--backends", default="sqlite,postgresql")
    parser.add_argument("--workers", default="1,2,4")
    parser.add_argument("--budget", type=float, default=300.0, help="seconds per drain")
    args = parser.parse_args()
    rows = []
    for backend in args.backends.split(","):
        rows += bench_backend(
            backend, args.timers, args.due, [int(w) for w in args.workers.split(",")], args.budget
        )
    table = Table(title="flow engine: draining due timers")
    for column in ("backend", "workers", "steps", "seconds", "steps/s", "left"):
        table.add_column(column, justify="right")
    for r in rows:
        table.add_row(
            r["backend"],
            str(r["workers"]),
            f"{r['steps']:,}",
            str(r["seconds"]),
            f"{r['steps_per_second']:,}",
            str(r["left"]),
        )
    console.print(table)


if __name__ == "__main__":
    main()
