"""Flow engine benchmark: drain due timers, and workers scaling.

    .venv/bin/python bench/flows.py [--timers 1000000] [--due 100000] [--backends sqlite,postgresql]
                                    [--workers 1,2,4] [--action] [--budget 300]

Prints figures; asserts nothing about speed. (a) stores `--timers` waiting runs with a pending
timer each, makes `--due` of them due at once and measures steps/s until drained by the
production worker loop, printing the claim query's plan; (c) repeats the drain with 1, 2 and 4
worker processes on PostgreSQL. Each drain is preceded by a bare-queue drain of as many other
due timers (the same claim, then marking done: no engine) as the baseline. With `--action`
every timer is followed by a webhook to a loopback receiver (two steps per run).
Event → first action latency is bench/flow_latency.py.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))

from loopback_receiver import LoopbackReceiver
from rich.console import Console
from rich.progress import Progress
from rich.table import Table
from sqlalchemy import Engine, func, select, update
from tracking_server import throwaway_database

from nerve.db.dialect import dialect_of
from nerve.db.engine import make_engine, write_transaction
from nerve.db.migrate import upgrade
from nerve.flows import engine as flows
from nerve.flows.definition import validate
from nerve.flows.models import FlowRun, Task
from nerve.flows.worker import FlowWorker
from nerve.outbound.policy import OutboundPolicy
from nerve.settings import Settings

console = Console()


def _timer_flow(receiver: str | None) -> dict[str, Any]:
    """Wait 30 days, then (with --action) call a webhook."""
    nodes: list[dict[str, Any]] = [{"id": "long_wait", "wait": "30d"}]
    if receiver:
        nodes.append({"id": "notify", "action": "webhook", "with": {"url": receiver}})
    return {"name": "bench_timers", "trigger": {"event": "Bench Started", "reentry": "always"},
            "nodes": nodes}  # fmt: skip


_CHUNK = 20_000


def _seed(engine: Engine, timers: int, receiver: str | None) -> None:
    """`timers` runs, each waiting on one pending timer 30 days out (bulk, not via events)."""
    flow = validate(_timer_flow(receiver))
    node = flow.nodes[1].id if receiver else "end"
    with write_transaction(engine) as conn:
        published = flows.publish(conn, "ws_bench", flow, "production")
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
                 "node": "long_wait", "state_version": 1, "state": {"trigger": {}, "data": {}},
                 "started_at": now}
                for i in range(count)
            ]  # fmt: skip
            tasks = [
                {"workspace_id": "ws_bench", "run_id": r["id"], "kind": "advance", "node": node,
                 "expected_version": 1, "due_at": due, "status": "pending", "attempts": 0,
                 "idempotency_key": ""}
                for r in runs
            ]  # fmt: skip
            with write_transaction(engine) as conn:
                conn.execute(FlowRun.__table__.insert(), runs)
                conn.execute(Task.__table__.insert(), tasks)
            progress.advance(job, count)


def _analyze(engine: Engine) -> None:
    """Fresh statistics after the bulk load, as autoanalyze would gather them. Without them
    PostgreSQL guesses that the pending-task index is small and ANDs it into every cancel of a
    run's superseded task (~100 ms each at a million timers). Our test server runs with
    autovacuum off, so the benchmark does it itself; say so."""
    with engine.connect() as conn:
        if conn.dialect.name == "postgresql":
            if conn.exec_driver_sql("SHOW autovacuum").scalar() == "off":
                console.print("[yellow]autovacuum is off on this server: analyzing by hand")
            conn.exec_driver_sql("ANALYZE tasks")
            conn.exec_driver_sql("ANALYZE flow_runs")
        else:
            conn.exec_driver_sql("ANALYZE")
        conn.commit()


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


def _drain_worker(url: str, stop_at: float, mode: str) -> None:
    engine = make_engine(Settings(database_url=url))
    if mode == "bare":
        _bare_queue(engine, stop_at)
    else:
        asyncio.run(_flow_worker(engine, stop_at))
    engine.dispose()


async def _flow_worker(engine: Engine, stop_at: float) -> None:
    """The production loop (nerve/flows/worker.py), stopped once nothing is due."""
    worker = FlowWorker(engine, outbound=OutboundPolicy.allowing(["127.0.0.1/32"]))  # --action
    worker.start()
    while time.monotonic() < stop_at and await asyncio.to_thread(_anything_due, engine):
        await asyncio.sleep(0.25)
    await worker.close()


def _anything_due(engine: Engine) -> bool:
    """Cheap (both partial indexes): is a task due and unclaimed, or claimed and unfinished?
    A count over a million rows every poll would compete with the worker it waits for."""
    with engine.connect() as conn:
        due = select(Task.id).where(Task.status == "pending", Task.due_at <= datetime.now(UTC))
        running = select(Task.id).where(Task.status == "running")
        return bool(conn.scalar(select(due.exists())) or conn.scalar(select(running.exists())))


def _bare_queue(engine: Engine, stop_at: float) -> None:
    """The baseline: the same claim, then marking the tasks done — a queue with no engine."""
    owner = f"bare-{uuid.uuid4().hex[:6]}"
    while time.monotonic() < stop_at:
        with write_transaction(engine) as conn:
            claimed = dialect_of(conn).claim_tasks(conn, owner, 128, 60)
        if not claimed:
            return
        with write_transaction(engine) as conn:
            conn.execute(update(Task).where(Task.id.in_(claimed)).values(status="done"))


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


def _failed_attempts(engine: Engine) -> int:
    """Tasks that failed at least once (retried or dead-lettered): the engine's error count."""
    with engine.connect() as conn:
        failed = select(func.count()).select_from(Task).where(Task.last_error.is_not(None))
        return int(conn.scalar(failed) or 0)


def _steps_done(engine: Engine) -> int:
    with engine.connect() as conn:
        done = select(func.count()).select_from(Task).where(Task.status == "done")
        return int(conn.scalar(done) or 0)


def _drain(
    url: str, engine: Engine, due: int, workers: int, budget: float, mode: str
) -> dict[str, Any]:
    _make_due(engine, due)
    before, failed_before = _steps_done(engine), _failed_attempts(engine)
    started = time.monotonic()
    processes = [
        multiprocessing.Process(target=_drain_worker, args=(url, started + budget, mode))
        for _ in range(workers)
    ]
    for process in processes:
        process.start()
    for process in processes:
        process.join()
    elapsed = time.monotonic() - started
    done = _steps_done(engine) - before
    return {
        "mode": mode,
        "workers": workers,
        "steps": done,
        "seconds": round(elapsed, 2),
        "steps_per_second": round(done / elapsed, 1),
        "left": _pending_due(engine),
        "failed": _failed_attempts(engine) - failed_before,
    }


def bench_backend(
    backend: str,
    timers: int,
    due: int,
    worker_counts: list[int],
    budget: float,
    receiver: str | None,
) -> list[dict[str, Any]]:
    results = []
    with throwaway_database(backend) as database:
        engine = make_engine(Settings(database_url=database.url))
        upgrade(engine)
        started = time.monotonic()
        _seed(engine, timers, receiver)
        console.print(
            f"[bold]{backend}[/bold]: stored {timers:,} timers"
            f" in {time.monotonic() - started:.1f} s"
        )
        _analyze(engine)
        console.print(f"claim plan:\n{_claim_plan(engine)}")
        counts = worker_counts if backend == "postgresql" else [1]
        for workers in counts:
            for mode in ("bare", "engine"):
                result = _drain(database.url, engine, due, workers, budget, mode)
                result["backend"] = backend
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
    parser.add_argument(
        "--action", action="store_true", help="each timer is followed by a webhook to loopback"
    )
    args = parser.parse_args()
    receiver = LoopbackReceiver().url if args.action else None
    rows = []
    for backend in args.backends.split(","):
        workers = [int(w) for w in args.workers.split(",")]
        rows += bench_backend(backend, args.timers, args.due, workers, args.budget, receiver)
    what = "a timer, then a webhook" if receiver else "a timer"
    table = Table(title=f"flow engine: draining {args.due:,} due runs of {args.timers:,} ({what})")
    for column in ("backend", "workers", "mode", "steps", "seconds", "steps/s", "÷ bare", "errors"):
        table.add_column(column, justify="right")
    bare = {
        (r["backend"], r["workers"]): r["steps_per_second"] for r in rows if r["mode"] == "bare"
    }
    for r in rows:
        baseline = bare.get((r["backend"], r["workers"])) or 0
        table.add_row(
            r["backend"], str(r["workers"]), r["mode"], f"{r['steps']:,}", str(r["seconds"]),
            f"{r['steps_per_second']:,}",
            f"{r['steps_per_second'] / baseline:.2f}" if baseline else "",
            f"{r['failed'] / max(1, r['steps']):.2%}",
        )  # fmt: skip
    console.print(table)
    console.print(
        "bare = the same claim query, then marking the claimed tasks done (the queue alone); "
        "engine = the production worker loop (claim, advance runs, record steps, call receivers)"
    )


if __name__ == "__main__":
    main()
