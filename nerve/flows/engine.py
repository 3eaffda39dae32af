"""The durable flow engine: versions, and the transitions of runs (planned in memory, written
with the next task). Events reach it through `routing.py`, due tasks through `executor.py`.

Every transition of a run is one conditional UPDATE on its `state_version`: a timer, an event
and a timeout racing for the same run cannot both win. Marking a task done, advancing the run
and enqueuing the next task happen in one transaction. Due times come from the database clock.
"""

from __future__ import annotations

import copy
import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from types import SimpleNamespace
from typing import Any

import structlog
from sqlalchemy import Connection, bindparam, insert, select, update

from nerve import metrics
from nerve.channels import messages
from nerve.db.base import insert_rows, new_id, table
from nerve.db.dialect import dialect_of
from nerve.flows import budget
from nerve.flows.budget import StepBudget
from nerve.flows.definition import FlowDefinition
from nerve.flows.interpreter import (
    Act,
    AwaitEvent,
    Collect,
    Complete,
    Decision,
    Run,
    Sleep,
    StepFailed,
    decide,
)
from nerve.flows.models import DeadLetter, FlowRun, FlowStep, Task
from nerve.flows.versions import definition_of
from nerve.profiles.view import person_of_profile

log = structlog.get_logger(__name__)
ENVIRONMENTS = ("staging", "production")
DUE_NOW = ("action", "collect")  # kinds of task enqueued to run at once
LIVE = ("active", "waiting")


def lock_runs(conn: Connection, run_ids: list[str]) -> list[Any]:
    """Read runs locked for this transaction (PostgreSQL; SQLite has one writer anyway).

    Every writer locks runs before the tasks of those runs, and runs in id order, so timers,
    events and action results racing for the same run wait for each other instead of
    deadlocking.
    """
    query = select(FlowRun).where(FlowRun.id.in_(set(run_ids))).order_by(FlowRun.id)
    return list(conn.execute(dialect_of(conn).for_update(query)).all())


def as_run(row: Any, profile: dict[str, Any] | None = None) -> Run:
    state = row.state or {}
    return Run(
        row.id, row.profile_id, state.get("trigger", {}), profile or {}, state.get("data", {})
    )


def person_of(
    conn: Connection, flow: FlowDefinition, workspace_id: str, profile_id: str
) -> dict[str, Any]:
    """The person as conditions see it, read fresh for each decision (a branch after a 2-day
    wait sees the orders of those 2 days); {} when the flow reads nothing of the profile."""
    if not flow.uses_profile:
        return {}
    person = person_of_profile(conn, workspace_id, profile_id)
    return {} if person is None else person.model_dump()  # {}: erased meanwhile


# --- transitions -----------------------------------------------------------------------------


@dataclass
class Plan:
    """One transition of one run, decided in memory, written by `apply` or `apply_many`."""

    run_id: str
    workspace_id: str
    expected: int
    values: dict[str, Any]
    task: dict[str, Any] | None = None
    steps: list[dict[str, Any]] = field(default_factory=list)
    outcome: str | None = None
    dead_letter: str | None = None  # the run fails: `task` is dead, with this error

    def step(self, node: str | None, kind: str, detail: dict[str, Any]) -> None:
        self.steps.append(step_row(SimpleNamespace(workspace_id=self.workspace_id, id=self.run_id),
                                   node, kind, detail))  # fmt: skip


# Core inserts with the values passed apart: compiled once and cached, where an ORM insert or
# `.values(...)` built into the statement costs more to build than to run (a profile of the
# resolver had run starts at 60 % of it, mostly there).
_INSERT_STEP = insert(table(FlowStep))


def step_row(row: Any, node: str | None, kind: str, detail: dict[str, Any]) -> dict[str, Any]:
    return {"workspace_id": row.workspace_id, "run_id": row.id, "node": node, "kind": kind,
            "detail": detail}  # fmt: skip


def record(conn: Connection, row: Any, node: str | None, kind: str, detail: dict[str, Any]) -> None:
    conn.execute(_INSERT_STEP, step_row(row, node, kind, detail))


def plan(
    flow: FlowDefinition,
    row: Any,
    expected: int,
    node: str,
    now: datetime,
    profile: dict[str, Any] | None = None,
    limits: StepBudget | None = None,
) -> Plan:
    """Where the run goes from `node`, and the task that continues it. `profile`: the person
    as `person_of` reads it (it is not stored with the run). Every node reached is counted
    against the run's step budget; with `limits` (the workers'), a run over them fails."""
    before = copy.deepcopy(row.state or {})
    run = as_run(row, profile)
    try:
        decision: Decision = decide(flow, run, node, now)
    except StepFailed as exc:
        return failed_plan(row, expected, node, str(exc), now, before)
    spent = budget.spend(before.get("budget"), len(run.visited), now)
    over = limits.exceeded(spent) if limits is not None else None
    if over is not None and not isinstance(decision, Complete):  # ending anyway: let it
        return failed_plan(row, expected, node, over, now, before)
    state = {"trigger": run.trigger, "data": run.data, "budget": spent}
    passed = [
        step_row(row, at, kind, {"goto": goto} | ({"path": path} if path else {}))
        for at, kind, goto, path in run.passed
    ]
    if isinstance(decision, Complete):
        done = finish_plan(row, expected, "completed", "completed", now, state)
        done.steps += passed
        done.step(None, "completed", {})
        return done
    values: dict[str, Any] = {"status": "active", "node": None, "waiting_for": None,
                              "state": state, "outcome": None, "ended_at": None}  # fmt: skip
    result = Plan(row.id, row.workspace_id, expected, values, steps=passed)
    task: dict[str, Any] = {"workspace_id": row.workspace_id, "run_id": row.id,
                            "expected_version": expected + 1, "status": "pending",
                            "attempts": 0, "idempotency_key": ""}  # fmt: skip
    if isinstance(decision, Sleep):
        _sleep(result, decision, task)
    elif isinstance(decision, AwaitEvent):
        _await(result, decision, task)
    else:
        assert isinstance(decision, Act | Collect)
        values["node"] = decision.node
        result.task = task | _due_now(decision, now)
    return result


def _due_now(decision: Act | Collect, now: datetime) -> dict[str, Any]:
    """An action's task; or adding to a digest, which reads and writes the person's digest
    in the worker's transaction, with the run locked (digest.py)."""
    if isinstance(decision, Collect):
        return {"kind": "collect", "node": decision.node, "due_at": now}
    return {"kind": "action", "node": decision.node, "due_at": now,
            "idempotency_key": decision.idempotency_key}  # fmt: skip


def _sleep(result: Plan, decision: Sleep, task: dict[str, Any]) -> None:
    """The run shows where it is — at the wait — and where it goes on; the timer continues it
    at the next node."""
    until = decision.until.isoformat()
    result.values["node"] = decision.waiting_at
    result.values["waiting_for"] = {"node": decision.waiting_at, "until": until,
                                    "next_node": decision.node}  # fmt: skip
    result.task = task | {"kind": "advance", "node": decision.node, "due_at": decision.until}
    result.step(decision.waiting_at, "waiting", {"until": until, "then": decision.node})


def _await(result: Plan, decision: AwaitEvent, task: dict[str, Any]) -> None:
    """The run waits for the event at its node; the timeout task takes the other way."""
    result.values |= {"status": "waiting", "node": decision.node, "waiting_for": {
        "node": decision.node, "event": decision.event, "where": decision.where,
        "on_event": decision.on_event, "on_timeout": decision.on_timeout}}  # fmt: skip
    result.task = task | {
        "kind": "timeout",
        "node": decision.on_timeout,
        "due_at": decision.timeout_at,
    }
    detail = {"event": decision.event, "timeout": decision.timeout_at.isoformat()}
    result.step(decision.node, "waiting_for_event", detail)


def failed_plan(row: Any, expected: int, node: str, error: str, now: datetime, state: Any) -> Plan:
    """The run cannot go on from `node` as the flow is written: it fails, and a dead task that
    would continue it there waits in the dead-letter queue for a look and a replay."""
    values = {"status": "failed", "node": node, "waiting_for": None, "state": state,
              "outcome": None, "ended_at": None}  # fmt: skip
    failed = Plan(row.id, row.workspace_id, expected, values, outcome="failed", dead_letter=error)
    failed.task = {"workspace_id": row.workspace_id, "run_id": row.id, "kind": "advance",
                   "node": node, "expected_version": expected + 1, "due_at": now,
                   "status": "dead", "attempts": 0, "idempotency_key": "",
                   "last_error": {"message": error, "attempt": 0}}  # fmt: skip
    failed.step(node, "error", {"attempt": 0, "error": error, "will_retry": False})
    return failed


def finish_plan(
    row: Any, expected: int, status: str, outcome: str, now: datetime, state: Any = None
) -> Plan:
    values = {"status": status, "node": row.node, "waiting_for": None,
              "state": state if state is not None else row.state, "outcome": outcome,
              "ended_at": now}  # fmt: skip
    return Plan(row.id, row.workspace_id, expected, values, outcome=outcome)


def _written(conn: Connection, plans: list[Plan]) -> None:
    """Cancel superseded timers, enqueue the next tasks, record the steps."""
    cancelled = conn.execute(
        update(Task)
        .where(Task.run_id.in_([p.run_id for p in plans]), Task.status == "pending")
        .values(status="cancelled")
        .returning(Task.workspace_id, Task.idempotency_key, Task.kind)
    ).all()
    # A send held back by the delivery policy whose step will not come now (the person left
    # the flow, reached its goal): its row says so instead of waiting for ever.
    held = [(row.workspace_id, row.idempotency_key) for row in cancelled if row.kind == "action"]
    if held:
        messages.never_sent(conn, held, "the run moved on while the send was held back")
    enqueue(conn, plans)


def enqueue(conn: Connection, plans: list[Plan]) -> None:
    tasks = [p.task for p in plans if p.task is not None and p.dead_letter is None]
    if tasks:
        insert_rows(conn, Task, tasks)
        if any(task["kind"] in DUE_NOW for task in tasks):  # wake the workers
            dialect_of(conn).announce_tasks(conn)
    for p in plans:
        if p.dead_letter is not None:
            _dead_letter(conn, p)
    steps = [s for p in plans for s in p.steps]
    if steps:
        insert_rows(conn, FlowStep, steps)
    for p in plans:
        if p.outcome is not None:
            metrics.FLOW_RUNS.labels(p.outcome).inc()


def _dead_letter(conn: Connection, p: Plan) -> None:
    assert p.task is not None
    task_id = conn.execute(insert(Task).values(**p.task).returning(Task.id)).scalar_one()
    conn.execute(
        insert(DeadLetter).values(
            id=new_id("dlq"), workspace_id=p.workspace_id, task_id=task_id, run_id=p.run_id,
            node=p.task["node"], error={"message": p.dead_letter, "permanent": True}, attempts=0,
        )
    )  # fmt: skip
    metrics.FLOW_DEAD_LETTERS.inc()


def apply(conn: Connection, p: Plan) -> bool:
    """Write one plan if the run is still in the state it was planned from."""
    changed = conn.execute(
        update(FlowRun)
        .where(FlowRun.id == p.run_id, FlowRun.state_version == p.expected)
        .values(state_version=p.expected + 1, **p.values)
    ).rowcount
    if changed:
        _written(conn, [p])
    return bool(changed)


_APPLY_MANY = (
    update(FlowRun)
    .where(FlowRun.id == bindparam("b_id"))
    .values(
        state_version=bindparam("b_version"),
        **{name: bindparam(f"b_{name}") for name in
           ("status", "node", "waiting_for", "state", "outcome", "ended_at")},
    )
)  # fmt: skip


def apply_many(conn: Connection, plans: list[Plan]) -> None:
    """Write many plans at once. The caller holds the runs locked and checked their versions."""
    if not plans:
        return
    conn.execute(
        _APPLY_MANY,
        [{"b_id": p.run_id, "b_version": p.expected + 1,
          **{f"b_{k}": v for k, v in p.values.items()}} for p in plans],
    )  # fmt: skip
    _written(conn, plans)


def transition(conn: Connection, row: Any, expected: int, node: str, now: datetime) -> bool:
    """Move the run on from `node`; False if someone else moved it first."""
    flow = definition_of(conn, row.version_id)
    profile = person_of(conn, flow, row.workspace_id, row.profile_id)
    return apply(conn, plan(flow, row, expected, node, now, profile))


def finish(
    conn: Connection, row: Any, expected: int, status: str, outcome: str, now: datetime
) -> bool:
    return apply(conn, finish_plan(row, expected, status, outcome, now))


def backoff(attempt: int, base: float = 2.0, cap: float = 3600.0) -> timedelta:
    """Exponential with full jitter, capped."""
    return timedelta(seconds=random.uniform(0, min(cap, base * 2 ** (attempt - 1))))
