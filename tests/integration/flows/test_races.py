"""Races the engine must win: an event and its timeout at the same instant take one path."""

from __future__ import annotations

import threading
import uuid
from typing import Any

from sqlalchemy import Engine, select, update

from nerve.db.dialect import dialect_of
from nerve.db.engine import write_transaction
from nerve.flows import routing
from nerve.flows import versions as flow_versions
from nerve.flows.definition import validate
from nerve.flows.executor import Executor
from nerve.flows.models import FlowRun, FlowStep, Task
from tests.factories import attached, make_shop

FLOW = {
    "name": "race",
    "trigger": {"event": "Product Added", "reentry": "always"},
    "nodes": [
        {
            "id": "wait",
            "wait_for_event": {
                "event": "Checkout Started",
                "timeout": "1h",
                "on_event": "end",
                "on_timeout": "end",
            },
        },
    ],
}


def _event(name: str) -> dict[str, Any]:
    return {"event": name, "type": "track", "messageId": str(uuid.uuid4()), "properties": {}}


def _race(engine: Engine, executor: Executor, workspace_id: str, n: int) -> str:
    """One run waiting for an event whose timeout is due now; deliver both at once."""
    person = f"prf_race_{n}"
    with write_transaction(engine) as conn:
        routing.route_events(
            conn, attached(conn, workspace_id, [(n, _event("Product Added"), person)])
        )
        run_id = conn.scalar(select(FlowRun.id).where(FlowRun.profile_id == person))
        assert run_id is not None
        conn.execute(
            update(Task).where(Task.run_id == run_id).values(due_at=dialect_of(conn).now(conn))
        )
    barrier = threading.Barrier(2)

    def deliver_event() -> None:
        barrier.wait()
        with write_transaction(engine) as conn:
            batch = attached(conn, workspace_id, [(10_000 + n, _event("Checkout Started"), person)])
            routing.route_events(conn, batch)

    def fire_timeout() -> None:
        barrier.wait()
        for task_id in executor.claim(100):
            executor.execute(task_id)

    threads = [threading.Thread(target=deliver_event), threading.Thread(target=fire_timeout)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return run_id


def test_event_and_timeout_at_the_same_instant_take_exactly_one_path(engine: Engine) -> None:
    shop = make_shop(engine, kinds=("web",))
    with write_transaction(engine) as conn:
        flow_versions.publish(conn, shop.workspace_id, validate(FLOW), "production")
    executor = Executor(engine, "race-worker")
    seen = set()
    for n in range(1000):
        run_id = _race(engine, executor, shop.workspace_id, n)
        with engine.connect() as conn:
            kinds = list(conn.scalars(select(FlowStep.kind).where(FlowStep.run_id == run_id)))
            status = conn.scalar(select(FlowRun.status).where(FlowRun.id == run_id))
        outcomes = [k for k in kinds if k in ("event_arrived", "timed_out")]
        assert len(outcomes) == 1, kinds
        assert status == "completed" and kinds.count("completed") == 1
        seen.add(outcomes[0])
    print(f"outcomes seen: {sorted(seen)}")
