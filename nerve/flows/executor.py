"""Executes claimed tasks: timers, event timeouts and actions, with retries and dead letters."""

from __future__ import annotations

import time
from typing import Any

import structlog
from sqlalchemy import Engine, insert, select, update

from nerve import metrics
from nerve.db.base import new_id
from nerve.db.dialect import claim_tasks, database_now, rescue_tasks
from nerve.db.engine import write_transaction
from nerve.flows import actions
from nerve.flows.durations import parse_duration
from nerve.flows.engine import (
    LIVE,
    apply_many,
    backoff,
    definition_of,
    lock_runs,
    plan,
    record,
    transition,
)
from nerve.flows.models import DeadLetter, FlowRun, Task
from nerve.identity.models import Profile

log = structlog.get_logger(__name__)


class Executor:
    def __init__(
        self,
        engine: Engine,
        owner: str,
        *,
        lease_seconds: int = 60,
        remote: dict[str, actions.RemoteAction] | None = None,
        staging: actions.RecordingSender | None = None,
    ) -> None:
        self.engine = engine
        self.owner = owner
        self.lease_seconds = lease_seconds
        self.remote = remote if remote is not None else actions.remote_senders()
        self.staging = staging or actions.RecordingSender()

    def close(self) -> None:
        actions.close(self.remote)

    def claim(self, limit: int = 32) -> list[int]:
        with write_transaction(self.engine) as conn:
            return claim_tasks(conn, self.owner, limit, self.lease_seconds)

    def rescue(self) -> int:
        with write_transaction(self.engine) as conn:
            return rescue_tasks(conn)

    def execute(self, task_id: int) -> None:
        started = time.perf_counter()
        with self.engine.connect() as conn:
            task = conn.execute(select(Task).where(Task.id == task_id)).one()
            run = conn.execute(select(FlowRun).where(FlowRun.id == task.run_id)).one()
            now = database_now(conn)
        if task.status != "running" or task.owner != self.owner:
            return
        metrics.FLOW_TIMER_LAG.observe(max(0.0, (now - task.due_at).total_seconds()))
        try:
            if task.kind == "action":
                self._act(task, run)
            else:
                self._advance(task)
        except Exception as exc:  # an engine bug must not kill the worker; the task is retried
            metrics.FLOW_ACTION_ERRORS.labels("engine").inc()
            log.exception("flow_task_failed", task=task_id)
            self._fail(task, run, f"engine error: {type(exc).__name__}: {exc}", permanent=False)
        metrics.FLOW_STEP_SECONDS.labels(task.kind).observe(time.perf_counter() - started)

    def advance_many(self, task_ids: list[int]) -> list[int]:
        """Run the claimed timers and timeouts in one transaction; returns the action task ids,
        which the caller executes one by one (they wait on the network)."""
        with self.engine.connect() as conn:
            tasks = conn.execute(select(Task).where(Task.id.in_(task_ids)).order_by(Task.id)).all()
        timers = [t for t in tasks if t.kind != "action"]
        if timers:
            started = time.perf_counter()
            self._advance_timers(timers)
            elapsed = (time.perf_counter() - started) / len(timers)
            for _ in timers:
                metrics.FLOW_STEP_SECONDS.labels("advance").observe(elapsed)
        return [t.id for t in tasks if t.kind == "action"]

    def _advance_timers(self, timers: list[Any]) -> None:
        with write_transaction(self.engine) as conn:
            now = database_now(conn)
            # Runs before tasks, in id order: the order every writer takes its locks in.
            runs = {run.id: run for run in lock_runs(conn, [t.run_id for t in timers])}
            owned = set(
                conn.execute(
                    update(Task)
                    .where(
                        Task.id.in_([t.id for t in timers]),
                        Task.status == "running",
                        Task.owner == self.owner,
                    )
                    .values(status="done")
                    .returning(Task.id)
                ).scalars()
            )
            plans, planned = [], set()
            for task in timers:
                run = runs[task.run_id]
                if task.id not in owned or run.id in planned:
                    continue
                if run.state_version != task.expected_version or run.status not in LIVE:
                    continue  # stale: the run moved on (an event came, it exited)
                metrics.FLOW_TIMER_LAG.observe(max(0.0, (now - task.due_at).total_seconds()))
                flow = definition_of(conn, run.version_id)
                step = plan(flow, run, task.expected_version, task.node, now)
                if task.kind == "timeout":
                    step.step(run.node, "timed_out", {})
                plans.append(step)
                planned.add(run.id)
            apply_many(conn, plans)

    def _mark_done(self, conn: Any, task: Any) -> bool:
        return bool(
            conn.execute(
                update(Task)
                .where(Task.id == task.id, Task.status == "running", Task.owner == self.owner)
                .values(status="done")
            ).rowcount
        )

    def _advance(self, task: Any) -> None:
        with write_transaction(self.engine) as conn:
            [run] = lock_runs(conn, [task.run_id])
            if not self._mark_done(conn, task):
                return
            moved = transition(conn, run, task.expected_version, task.node, database_now(conn))
            # Only the winner of an event/timeout race writes its outcome.
            if moved and task.kind == "timeout":
                record(conn, run, run.node, "timed_out", {})

    def _call(self, task: Any, run: Any) -> actions.ActionCall:
        flow = definition_of_engine(self.engine, run.version_id)
        node = flow.node(task.node)
        return actions.ActionCall(
            workspace_id=run.workspace_id, run_id=run.id, flow=flow.name, node=node.id,
            profile_id=self._person(run.profile_id), idempotency_key=task.idempotency_key,
            params=node.with_, trigger=(run.state or {}).get("trigger", {}),
            timeout=parse_duration(node.timeout).total_seconds(), environment=run.environment,
        )  # fmt: skip

    def _person(self, profile_id: str) -> str:
        """The person the run's profile belongs to now (it may have merged since the start)."""
        with self.engine.connect() as conn:
            root = conn.scalar(select(Profile.cluster_id).where(Profile.id == profile_id))
        return root or profile_id

    def _act(self, task: Any, run: Any) -> None:
        call = self._call(task, run)
        flow = definition_of_engine(self.engine, run.version_id)
        node = flow.node(task.node)
        assert node.action is not None
        try:
            if node.action in actions.LOCAL:
                with write_transaction(self.engine) as conn:
                    result = actions.LOCAL[node.action](conn, call, database_now(conn))
                    self._complete(conn, task, node.id, flow.after(node.id, node.next), result)
                return
            sender = self.staging if run.environment == "staging" else self.remote.get(node.action)
            if sender is None:
                raise actions.ActionRejected(f"no sender for action {node.action!r}")
            result = sender(call)
        except actions.ActionRejected as exc:
            metrics.FLOW_ACTION_ERRORS.labels("provider").inc()
            self._fail(task, run, str(exc), permanent=True)
            return
        except actions.ActionFailed as exc:
            metrics.FLOW_ACTION_ERRORS.labels("provider").inc()
            self._fail(task, run, str(exc), permanent=False)
            return
        with write_transaction(self.engine) as conn:
            self._complete(conn, task, node.id, flow.after(node.id, node.next), result)

    def _complete(self, conn: Any, task: Any, node: str, then: str, result: dict[str, Any]) -> None:
        [run] = lock_runs(conn, [task.run_id])
        if not self._mark_done(conn, task):
            return  # the lease ran out and another worker took over; it will finish the step
        record(
            conn,
            run,
            node,
            "action",
            {"attempt": task.attempts, "result": result, "idempotency_key": task.idempotency_key},
        )
        transition(conn, run, task.expected_version, then, database_now(conn))

    def _fail(self, task: Any, run: Any, error: str, *, permanent: bool) -> None:
        flow = definition_of_engine(self.engine, run.version_id)
        retries = flow.node(task.node).retries if task.kind == "action" else 5
        with write_transaction(self.engine) as conn:
            lock_runs(conn, [run.id])
            now = database_now(conn)
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
                .where(Task.id == task.id, Task.status == "running", Task.owner == self.owner)
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
                metrics.FLOW_DEAD_LETTERS.inc()
                metrics.FLOW_RUNS.labels("failed").inc()


def definition_of_engine(engine: Engine, version_id: str) -> Any:
    with engine.connect() as conn:
        return definition_of(conn, version_id)
