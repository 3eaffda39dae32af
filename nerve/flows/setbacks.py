"""What happens to a step that cannot go on now: deferred to a later time (the fatigue cap,
quiet hours), retried with backoff, or dead-lettered with its run failed."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine, insert, update

from nerve import metrics
from nerve.channels import messages
from nerve.db.base import new_id
from nerve.db.dialect import dialect_of
from nerve.db.engine import write_transaction
from nerve.flows.calls import ActionDeferred
from nerve.flows.engine import backoff, lock_runs, record
from nerve.flows.models import DeadLetter, FlowRun, Task
from nerve.flows.versions import definition_of


def defer(engine: Engine, owner: str, task: Any, run: Any, deferred: ActionDeferred) -> None:
    """Put the step back to be tried at `deferred.until`; the claim's attempt is given back
    (a deferral is not a failure and must not use up the node's retries)."""
    with write_transaction(engine) as conn:
        lock_runs(conn, [run.id])
        changed = conn.execute(
            update(Task)
            .where(Task.id == task.id, Task.status == "running", Task.owner == owner)
            .values(status="pending", due_at=deferred.until, owner=None,
                    attempts=Task.attempts - 1)
        ).rowcount  # fmt: skip
        if changed:
            detail = {"until": deferred.until.isoformat(), "reason": deferred.reason}
            record(conn, run, task.node, "deferred", detail)
    metrics.FLOW_ACTIONS_DEFERRED.inc()


def fail(engine: Engine, owner: str, task: Any, run: Any, error: str, *, permanent: bool) -> None:
    """Retry the step later with the engine's backoff, or — out of retries, or never able to
    succeed — dead-letter it and fail its run."""
    retries = 5
    if task.kind == "action" and not permanent:
        retries = _definition(engine, run.version_id).node(task.node).retries
    with write_transaction(engine) as conn:
        lock_runs(conn, [run.id])
        now = dialect_of(engine).now(conn)
        retry = not permanent and task.attempts <= retries
        values: dict[str, Any] = {
            "last_error": {"message": error, "attempt": task.attempts},
            "owner": None,
        }
        if retry:
            values |= {"status": "pending", "due_at": now + backoff(task.attempts)}
        else:
            values |= {"status": "dead"}
        changed = conn.execute(
            update(Task)
            .where(Task.id == task.id, Task.status == "running", Task.owner == owner)
            .values(**values)
        ).rowcount
        if not changed:
            return
        record(
            conn,
            run,
            task.node,
            "error",
            {"attempt": task.attempts, "error": error, "will_retry": retry},
        )
        if not retry:
            conn.execute(
                insert(DeadLetter).values(
                    id=new_id("dlq"),
                    workspace_id=run.workspace_id,
                    task_id=task.id,
                    run_id=run.id,
                    node=task.node,
                    error={"message": error, "permanent": permanent},
                    attempts=task.attempts,
                )
            )
            conn.execute(
                update(FlowRun)
                .where(FlowRun.id == run.id, FlowRun.state_version == task.expected_version)
                .values(status="failed")
            )
            # The send the step made, if any, no longer waits to be retried.
            messages.dead_lettered(conn, run.workspace_id, task.idempotency_key, error)
            metrics.FLOW_DEAD_LETTERS.inc()
            metrics.FLOW_RUNS.labels("failed").inc()


def _definition(engine: Engine, version_id: str) -> Any:
    with engine.connect() as conn:
        return definition_of(conn, version_id)
