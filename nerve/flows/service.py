"""Reading flows, versions, runs and dead letters; replaying dead letters."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, func, select, update

from nerve.db.base import utcnow
from nerve.db.dialect import dialect_of
from nerve.errors import Conflict, NotFound
from nerve.flows.engine import LIVE, lock_runs
from nerve.flows.models import DeadLetter, Flow, FlowRun, FlowStep, FlowVersion, Task


def _row(row: Any) -> dict[str, Any]:
    return dict(row._mapping)


def list_flows(conn: Connection, workspace_id: str) -> list[dict[str, Any]]:
    latest = (
        select(
            FlowVersion.flow_id,
            FlowVersion.environment,
            func.max(FlowVersion.version).label("version"),
        )
        .where(FlowVersion.workspace_id == workspace_id)
        .group_by(FlowVersion.flow_id, FlowVersion.environment)
    ).subquery()
    versions: dict[str, dict[str, int]] = {}
    for row in conn.execute(select(latest)):
        versions.setdefault(row.flow_id, {})[row.environment] = row.version
    flows = conn.execute(select(Flow).where(Flow.workspace_id == workspace_id).order_by(Flow.name))
    return [{**_row(f), "live_versions": versions.get(f.id, {})} for f in flows]


def _flow(conn: Connection, workspace_id: str, flow_id: str) -> Any:
    flow = conn.execute(
        select(Flow).where(
            Flow.workspace_id == workspace_id, (Flow.id == flow_id) | (Flow.name == flow_id)
        )
    ).first()
    if flow is None:
        raise NotFound(f"no flow {flow_id}")
    return flow


def list_versions(conn: Connection, workspace_id: str, flow_id: str) -> list[dict[str, Any]]:
    flow = _flow(conn, workspace_id, flow_id)
    rows = conn.execute(
        select(FlowVersion).where(FlowVersion.flow_id == flow.id).order_by(FlowVersion.version)
    )
    return [_row(r) for r in rows]


def list_runs(
    conn: Connection, workspace_id: str, flow_id: str, status: str | None, limit: int
) -> list[dict[str, Any]]:
    flow = _flow(conn, workspace_id, flow_id)
    query = select(FlowRun).where(FlowRun.flow_id == flow.id)
    if status:
        query = query.where(FlowRun.status == status)
    rows = conn.execute(query.order_by(FlowRun.started_at.desc(), FlowRun.id).limit(limit))
    return [_row(r) for r in rows]


def get_run(conn: Connection, workspace_id: str, run_id: str) -> dict[str, Any]:
    run = conn.execute(
        select(FlowRun).where(FlowRun.workspace_id == workspace_id, FlowRun.id == run_id)
    ).first()
    if run is None:
        raise NotFound(f"no run {run_id}")
    steps = conn.execute(select(FlowStep).where(FlowStep.run_id == run_id).order_by(FlowStep.id))
    tasks = conn.execute(select(Task).where(Task.run_id == run_id).order_by(Task.id))
    return {**_row(run), "steps": [_row(s) for s in steps], "tasks": [_row(t) for t in tasks]}


def list_dead_letters(
    conn: Connection, workspace_id: str, include_replayed: bool = False
) -> list[dict[str, Any]]:
    query = select(DeadLetter).where(DeadLetter.workspace_id == workspace_id)
    if not include_replayed:
        query = query.where(DeadLetter.replayed_at.is_(None))
    return [_row(r) for r in conn.execute(query.order_by(DeadLetter.created_at))]


def replay(conn: Connection, workspace_id: str, dead_letter_id: str) -> dict[str, Any]:
    """Run the step again with the same idempotency key, so a receiver that did get it dedupes;
    the run gets a fresh step budget."""
    letter = conn.execute(
        select(DeadLetter).where(
            DeadLetter.workspace_id == workspace_id, DeadLetter.id == dead_letter_id
        )
    ).first()
    if letter is None:
        raise NotFound(f"no dead letter {dead_letter_id}")
    if letter.replayed_at is not None:
        raise Conflict("this dead letter was already replayed")
    dialect = dialect_of(conn)
    now = dialect.now(conn)
    lock_runs(conn, [letter.run_id])
    # Claim the letter under the run's lock: a replay racing this one read it as not yet
    # replayed too, and must get the conflict, not a second "replayed" answer.
    claimed = conn.execute(
        update(DeadLetter)
        .where(DeadLetter.id == letter.id, DeadLetter.replayed_at.is_(None))
        .values(replayed_at=utcnow())
    ).rowcount
    if not claimed:
        raise Conflict("this dead letter was already replayed")
    conn.execute(
        update(Task)
        .where(Task.id == letter.task_id, Task.status == "dead")
        .values(status="pending", attempts=0, due_at=now, owner=None, lease_until=None)
    )
    # A replay is someone's decision that the run may go on: with a fresh step budget.
    state = conn.scalar(select(FlowRun.state).where(FlowRun.id == letter.run_id)) or {}
    conn.execute(
        update(FlowRun)
        .where(FlowRun.id == letter.run_id, FlowRun.status == "failed")
        .values(status="active", state={k: v for k, v in state.items() if k != "budget"})
    )
    dialect.announce_tasks(conn)
    return {"id": letter.id, "task_id": letter.task_id, "run_id": letter.run_id, "replayed": True}


def latest_version(
    conn: Connection, workspace_id: str, flow_name: str, environment: str
) -> tuple[int, Any] | None:
    """The newest version of a flow in an environment: its number and stored definition."""
    row = conn.execute(
        select(FlowVersion.version, FlowVersion.definition)
        .join(Flow, Flow.id == FlowVersion.flow_id)
        .where(
            Flow.workspace_id == workspace_id,
            Flow.name == flow_name,
            FlowVersion.environment == environment,
        )
        .order_by(FlowVersion.version.desc())
        .limit(1)
    ).first()
    return None if row is None else (row.version, row.definition)


def run_counts(
    conn: Connection, workspace_id: str, flow_name: str, goal_among: set[str]
) -> tuple[int, int, int]:
    """Runs of a flow: all, those still live, and how many of the runs `goal_among` reached
    a goal."""
    flow = select(Flow.id).where(Flow.workspace_id == workspace_id, Flow.name == flow_name)
    runs = (
        select(func.count()).select_from(FlowRun).where(FlowRun.flow_id == flow.scalar_subquery())
    )
    total = conn.scalar(runs) or 0
    live = conn.scalar(runs.where(FlowRun.status.in_(LIVE))) or 0
    goals = 0
    if goal_among:
        goals = (
            conn.scalar(runs.where(FlowRun.id.in_(sorted(goal_among)), FlowRun.outcome == "goal"))
            or 0
        )
    return total, live, goals
