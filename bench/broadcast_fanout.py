"""Broadcast fan-out: runs started per second for a broadcast to `--members` members (20,000)
through the real worker path (nerve/flows/broadcasts/fanout.py — a chunk of members from the
segment, their runs, trigger entries, first timers and steps written, the cursor moved, one
transaction per chunk), beside a bare baseline: a plain executemany of the same number of run
rows in chunks of the same size, nothing else.

    .venv/bin/python bench/broadcast_fanout.py                        # both backends
    .venv/bin/python bench/broadcast_fanout.py --backends sqlite --members 100000

The flow's runs start and wait (`wait: 30d`): a run start is what is measured, not a send. The
throttle (NERVE_BROADCAST_RUNS_PER_SECOND) is lifted for the measurement.
"""

from __future__ import annotations

import argparse
import time
from datetime import UTC, datetime

from rich.console import Console
from rich.table import Table
from sqlalchemy import Engine, insert, select
from tracking_server import throwaway_database

from nerve.db import migrate
from nerve.db.base import new_id
from nerve.db.engine import make_engine, write_transaction
from nerve.flows import versions
from nerve.flows.broadcasts import service
from nerve.flows.broadcasts.fanout import MAX_CHUNK, Fanout
from nerve.flows.broadcasts.models import Broadcast
from nerve.flows.definition import validate
from nerve.flows.models import FlowRun
from nerve.segments.models import Segment, SegmentMember
from nerve.settings import Settings
from nerve.workspaces.service import ensure_workspace

console = Console()
FLOW = {"name": "newsletter",
        "trigger": {"type": "audience", "event": "broadcast", "segment": "everyone"},
        "nodes": [{"id": "later", "wait": "30d"}, {"id": "tag", "action": "add_tag",
                                                   "with": {"tag": "newsletter"}}]}  # fmt: skip


def seed(engine: Engine, workspace_id: str, members: int) -> None:
    now = datetime.now(UTC)
    segment_id = new_id("seg")
    with write_transaction(engine) as conn:
        conn.execute(insert(Segment).values(
            id=segment_id, workspace_id=workspace_id, key="everyone", name="Everyone",
            public=False, active_version=1, status="ready", created_at=now, updated_at=now,
        ))  # fmt: skip
        for at in range(0, members, 10_000):
            conn.execute(insert(SegmentMember), [
                {"workspace_id": workspace_id, "segment_id": segment_id,
                 "person_id": f"prf_{i:010d}", "entered_at": now}
                for i in range(at, min(members, at + 10_000))
            ])  # fmt: skip
        versions.publish(conn, workspace_id, validate(FLOW), "production")


def fan_out(engine: Engine, workspace_id: str) -> tuple[float, int]:
    with write_transaction(engine) as conn:
        started = service.start(conn, workspace_id, "newsletter", "production", None, "bench")
    fanout = Fanout(runs_per_second=10_000_000)
    began = time.perf_counter()
    while fanout.step(engine):
        pass
    took = time.perf_counter() - began
    with engine.connect() as conn:
        entered = conn.scalar(select(Broadcast.entered).where(Broadcast.id == started["id"]))
    return took, int(entered or 0)


def bare(engine: Engine, workspace_id: str, members: int) -> float:
    """The floor: run rows alone, as many, in chunks of the same size."""
    now = datetime.now(UTC)
    began = time.perf_counter()
    for at in range(0, members, MAX_CHUNK):
        rows = [{"id": new_id("run"), "workspace_id": workspace_id, "flow_id": "flw_bare",
                 "version_id": "flv_bare", "environment": "production",
                 "profile_id": f"prf_{i:010d}", "trigger_key": "bare", "status": "active",
                 "node": "later", "state_version": 1, "waiting_for": None,
                 "state": {"trigger": {}, "data": {}}, "outcome": None, "started_at": now,
                 "ended_at": None} for i in range(at, min(members, at + MAX_CHUNK))]  # fmt: skip
        with write_transaction(engine) as conn:
            conn.execute(insert(FlowRun), rows)
    return time.perf_counter() - began


def measure(url: str, members: int) -> dict[str, float]:
    engine = make_engine(Settings(database_url=url, _env_file=None))  # type: ignore[call-arg]
    migrate.upgrade(engine)
    with write_transaction(engine) as conn:
        workspace_id = ensure_workspace(conn, "bench-broadcast")
        plain_workspace = ensure_workspace(conn, "bench-bare")
    seed(engine, workspace_id, members)
    took, entered = fan_out(engine, workspace_id)
    assert entered == members, (entered, members)
    floor = bare(engine, plain_workspace, members)
    engine.dispose()
    return {"fanout": took, "bare": floor}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--members", type=int, default=20_000)
    parser.add_argument("--backends", default="sqlite,postgresql")
    args = parser.parse_args()
    figures: dict[str, dict[str, float]] = {}
    for backend in args.backends.split(","):
        with throwaway_database(backend) as database:
            figures[backend] = measure(database.url, args.members)
    shown = Table(title=f"broadcast fan-out: {args.members:,} members, chunks of {MAX_CHUNK}")
    for column in ("backend", "fan-out s", "runs started/s", "bare insert s", "bare rows/s",
                   "fan-out / bare"):  # fmt: skip
        shown.add_column(column, justify="right")
    for backend, f in figures.items():
        shown.add_row(backend, f"{f['fanout']:.2f}", f"{args.members / f['fanout']:,.0f}",
                      f"{f['bare']:.2f}", f"{args.members / f['bare']:,.0f}",
                      f"{f['bare'] / f['fanout']:.2f}")  # fmt: skip
    console.print(shown)


if __name__ == "__main__":
    main()
