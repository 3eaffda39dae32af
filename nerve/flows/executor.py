"""Executes claimed tasks: timers, event timeouts and actions, with retries and dead letters."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, Protocol

import structlog
from sqlalchemy import Connection, Engine, select, update
from sqlalchemy.exc import OperationalError

from nerve import metrics
from nerve.channels.delivery import Delivery
from nerve.channels.email import EmailService
from nerve.db.base import insert_rows
from nerve.db.dialect import dialect_of
from nerve.db.engine import write_transaction
from nerve.flows import actions, digest, setbacks
from nerve.flows.budget import StepBudget
from nerve.flows.definition import FlowDefinition, InvalidFlow
from nerve.flows.durations import parse_duration
from nerve.flows.engine import (
    LIVE,
    apply_many,
    lock_runs,
    person_of,
    plan,
    step_row,
)
from nerve.flows.models import FlowRun, FlowStep, Task
from nerve.flows.versions import definition_of
from nerve.identity.service import people_of
from nerve.outbound.policy import OutboundPolicy
from nerve.profiles.schemas import Person
from nerve.profiles.view import person as person_view
from nerve.secrets.vault import Vault
from nerve.webhooks.service import Endpoints

log = structlog.get_logger(__name__)


@dataclass
class Attempt:
    """One try of one action task: what to call, then what came back."""

    task: Any
    run: Any
    call: actions.ActionCall
    action: str
    then: str  # the node after the action
    result: dict[str, Any] | None = None
    error: str | None = None
    permanent: bool = False  # can never succeed as it is: dead-letter at once
    deferred: actions.ActionDeferred | None = None  # not now: again at its `until`
    engine_error: bool = False  # our fault, not the receiver's
    started: float = field(default_factory=time.perf_counter)


class TaskExecutor(Protocol):
    """What a worker loop needs to run flows: claim due tasks, advance timers, call and settle
    actions, keep leases. `Executor` is the one on our SQL tables (SQLite and PostgreSQL)."""

    engine: Engine

    def claim(self, limit: int) -> list[int]: ...
    def rescue(self) -> int: ...
    def extend(self, task_ids: list[int]) -> None: ...
    def advance_many(self, task_ids: list[int]) -> list[int]: ...
    def prepare(self, task_ids: list[int]) -> list[Attempt]: ...
    def attempt(self, attempt: Attempt) -> Attempt: ...
    def settle(self, attempts: list[Attempt]) -> None: ...
    def close(self) -> None: ...


class Executor:
    def __init__(
        self,
        engine: Engine,
        owner: str,
        *,
        lease_seconds: int = 60,
        remote: dict[str, actions.RemoteAction] | None = None,
        staging: actions.RecordingSender | None = None,
        budget: StepBudget | None = None,
        outbound: OutboundPolicy | None = None,
        email: EmailService | None = None,
        vault: Vault | None = None,
        channels: dict[str, Delivery] | None = None,
    ) -> None:
        self.engine = engine
        self.dialect = dialect_of(engine)
        self.owner = owner
        self.lease_seconds = lease_seconds
        self.budget = budget or StepBudget()
        if remote is None:
            # Without a vault (NERVE_SECRET_KEY), a step to a webhook endpoint is dead-lettered
            # saying so: its signing secret cannot be read.
            endpoints = Endpoints(engine, vault or Vault(""))
            remote = actions.remote_senders(outbound, email, endpoints, channels)
        self.remote = remote
        self.staging = staging or actions.RecordingSender()

    def close(self) -> None:
        actions.close(self.remote)

    def claim(self, limit: int = 32) -> list[int]:
        with write_transaction(self.engine) as conn:
            return self.dialect.claim_tasks(conn, self.owner, limit, self.lease_seconds)

    def rescue(self) -> int:
        with write_transaction(self.engine) as conn:
            return self.dialect.rescue_tasks(conn)

    def extend(self, task_ids: list[int]) -> None:
        """Renew the leases of tasks still being worked on (a slow receiver is not a crash)."""
        if not task_ids:
            return
        with write_transaction(self.engine) as conn:
            until = self.dialect.now(conn) + timedelta(seconds=self.lease_seconds)
            conn.execute(
                update(Task)
                .where(Task.id.in_(task_ids), Task.status == "running", Task.owner == self.owner)
                .values(lease_until=until)
            )

    def execute(self, task_id: int) -> None:
        """Run one claimed task to its end (tests and tools; the worker pipelines actions)."""
        if self.advance_many([task_id]):
            attempts = self.prepare([task_id])
            self.settle([self.attempt(a) for a in attempts])

    def advance_many(self, task_ids: list[int]) -> list[int]:
        """Run the claimed timers and timeouts in one transaction; returns the action task ids,
        which the caller executes one by one (they wait on the network)."""
        with self.engine.connect() as conn:
            tasks = conn.execute(select(Task).where(Task.id.in_(task_ids)).order_by(Task.id)).all()
        timers = [t for t in tasks if t.kind != "action"]
        if timers:
            started = time.perf_counter()
            try:
                self._advance_timers(timers)
            except OperationalError:
                raise  # the database is in trouble: the leases run out, the tasks come back
            except Exception:  # one bad run (an engine bug) must not hold up the batch
                for timer in timers:
                    self._advance_alone(timer)
            elapsed = (time.perf_counter() - started) / len(timers)
            for _ in timers:
                metrics.FLOW_STEP_SECONDS.labels("advance").observe(elapsed)
        return [t.id for t in tasks if t.kind == "action"]

    def _advance_alone(self, timer: Any) -> None:
        try:
            self._advance_timers([timer])
        except OperationalError:
            raise
        except Exception as exc:
            metrics.FLOW_ACTION_ERRORS.labels("engine").inc()
            log.exception("flow_timer_failed", task=timer.id)
            with self.engine.connect() as conn:
                run = conn.execute(select(FlowRun).where(FlowRun.id == timer.run_id)).one()
            error = f"engine error: {type(exc).__name__}: {exc}"
            # A version that no longer loads will not load on a retry either.
            self._fail(timer, run, error, permanent=isinstance(exc, InvalidFlow))

    def _advance_timers(self, timers: list[Any]) -> None:
        with write_transaction(self.engine) as conn:
            now = self.dialect.now(conn)
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
            for task in digest.in_lock_order(conn, timers, runs):
                run = runs[task.run_id]
                if task.id not in owned or run.id in planned:
                    continue
                if run.state_version != task.expected_version or run.status not in LIVE:
                    continue  # stale: the run moved on (an event came, it exited)
                metrics.FLOW_TIMER_LAG.observe(max(0.0, (now - task.due_at).total_seconds()))
                flow = definition_of(conn, run.version_id)
                profile = person_of(conn, flow, run.workspace_id, run.profile_id)
                if task.kind in digest.TASKS:
                    step = digest.advance(conn, flow, run, task, now, profile, self.budget)
                else:
                    step = plan(
                        flow, run, task.expected_version, task.node, now, profile, self.budget
                    )
                if task.kind == "timeout":
                    step.step(run.node, "timed_out", {})
                plans.append(step)
                planned.add(run.id)
            apply_many(conn, plans)

    def prepare(self, task_ids: list[int]) -> list[Attempt]:
        """Read what the claimed action tasks need, in one go."""
        with self.engine.connect() as conn:
            now = self.dialect.now(conn)
            tasks = conn.execute(
                select(Task)
                .where(Task.id.in_(task_ids), Task.status == "running", Task.owner == self.owner)
                .order_by(Task.id)
            ).all()
            runs = {
                run.id: run
                for run in conn.execute(
                    select(FlowRun).where(FlowRun.id.in_({t.run_id for t in tasks}))
                )
            }
            # The person each run's profile belongs to now (it may have merged since the start).
            people = people_of(conn, {run.profile_id for run in runs.values()})
            flows = {}
            for version_id in {run.version_id for run in runs.values()}:
                with contextlib.suppress(InvalidFlow):  # handled per task below
                    flows[version_id] = definition_of(conn, version_id)
            sent = _people_sent(conn, tasks, runs, flows, people)
        attempts = []
        for task in tasks:
            run = runs[task.run_id]
            metrics.FLOW_TIMER_LAG.observe(max(0.0, (now - task.due_at).total_seconds()))
            flow = flows.get(run.version_id)
            if self._refused(task, run, flow is not None):
                continue
            assert flow is not None
            node = flow.node(task.node)
            assert node.action is not None
            person = sent.get(task.id)
            if isinstance(person, actions.ActionRejected):
                self._fail(task, run, str(person), permanent=True)
                continue
            call = actions.ActionCall(
                workspace_id=run.workspace_id, run_id=run.id, flow=flow.name, node=node.id,
                profile_id=people.get(run.profile_id) or run.profile_id,
                idempotency_key=task.idempotency_key, params=node.with_,
                trigger=(run.state or {}).get("trigger", {}),
                digest=(run.state or {}).get("data", {}).get("digest"),
                timeout=parse_duration(node.timeout).total_seconds(), environment=run.environment,
                person=person, critical=flow.critical,
            )  # fmt: skip
            attempts.append(Attempt(task, run, call, node.action, flow.after(node.id, node.next)))
        return attempts

    def _refused(self, task: Any, run: Any, loaded: bool) -> bool:
        """Dead-letter an action that must not be attempted: its flow version no longer loads,
        or the run is over its step budget (reached on an event: routing counts, never stops)."""
        if not loaded:  # stored by an older Nerve and no longer valid
            metrics.FLOW_ACTION_ERRORS.labels("engine").inc()
            self._fail(task, run, "engine error: the flow version cannot be loaded", permanent=True)
            return True
        over = self.budget.exceeded((run.state or {}).get("budget"))
        if over is not None:
            self._fail(task, run, over, permanent=True)
        return over is not None

    def attempt(self, attempt: Attempt) -> Attempt:
        """Call the receiver of a remote action (outside any transaction). Local actions run
        when the attempt is settled, inside its transaction."""
        if attempt.action in actions.LOCAL:
            return attempt
        try:
            if attempt.call.environment == "staging":
                sender: actions.RemoteAction | None = self.staging
            else:
                sender = self.remote.get(attempt.action)
            if sender is None:
                raise actions.ActionRejected(f"no sender for action {attempt.action!r}")
            attempt.result = sender(attempt.call)
        except actions.ActionRejected as exc:
            attempt.error, attempt.permanent = str(exc), True
        except actions.ActionDeferred as exc:
            attempt.deferred = exc
        except actions.ActionFailed as exc:
            attempt.error = str(exc)
        except Exception as exc:  # a sender bug must not kill the worker; the task is retried
            log.exception("flow_action_crashed", task=attempt.task.id)
            attempt.error, attempt.engine_error = f"{type(exc).__name__}: {exc}", True
        return attempt

    def settle(self, attempts: list[Attempt]) -> None:
        """Record the outcomes: successes complete their steps in one transaction, failures
        are retried later or go to the dead-letter queue."""
        done = [a for a in attempts if a.error is None and a.deferred is None]
        try:
            if done:
                self._complete(done)
        except Exception:
            if len(done) == 1:
                self._settle_alone(done[0])
            else:  # one bad apple (a local action's input): settle each on its own
                for attempt in done:
                    self._settle_alone(attempt)
        for attempt in attempts:
            if attempt.deferred is not None:
                self._defer(attempt.task, attempt.run, attempt.deferred)
            elif attempt.error is not None:
                kind = "engine" if attempt.engine_error else "provider"
                metrics.FLOW_ACTION_ERRORS.labels(kind).inc()
                self._fail(attempt.task, attempt.run, attempt.error, permanent=attempt.permanent)
            self._observe(attempt)

    def _observe(self, attempt: Attempt) -> None:
        metrics.FLOW_STEP_SECONDS.labels("action").observe(time.perf_counter() - attempt.started)

    def _settle_alone(self, attempt: Attempt) -> None:
        try:
            self._complete([attempt])
        except actions.ActionRejected as exc:
            attempt.error, attempt.permanent = str(exc), True
        except Exception as exc:
            log.exception("flow_action_settle_failed", task=attempt.task.id)
            attempt.error, attempt.engine_error = f"engine error: {type(exc).__name__}: {exc}", True

    def _complete(self, attempts: list[Attempt]) -> None:
        with write_transaction(self.engine) as conn:
            now = self.dialect.now(conn)
            # Runs before tasks, in id order: the order every writer takes its locks in.
            runs = {run.id: run for run in lock_runs(conn, [a.run.id for a in attempts])}
            owned = set(
                conn.execute(
                    update(Task)
                    .where(
                        Task.id.in_([a.task.id for a in attempts]),
                        Task.status == "running",
                        Task.owner == self.owner,
                    )
                    .values(status="done")
                    .returning(Task.id)
                ).scalars()
            )
            plans, steps, planned = [], [], set()
            for attempt in attempts:
                task, run = attempt.task, runs[attempt.run.id]
                if task.id not in owned:
                    continue  # the lease ran out and another worker took over; it finishes
                if attempt.action in actions.LOCAL:
                    attempt.result = actions.LOCAL[attempt.action](conn, attempt.call, now)
                detail = {"attempt": task.attempts, "result": attempt.result,
                          "idempotency_key": task.idempotency_key}  # fmt: skip
                moved_on = run.state_version != task.expected_version or run.status not in LIVE
                if moved_on or run.id in planned:
                    steps.append(step_row(run, task.node, "action", detail))
                    continue
                flow = definition_of(conn, run.version_id)
                profile = person_of(conn, flow, run.workspace_id, run.profile_id)
                step = plan(
                    flow, run, task.expected_version, attempt.then, now, profile, self.budget
                )
                step.steps.insert(0, step_row(run, task.node, "action", detail))
                plans.append(step)
                planned.add(run.id)
            apply_many(conn, plans)
            if steps:
                insert_rows(conn, FlowStep, steps)

    def _defer(self, task: Any, run: Any, deferred: actions.ActionDeferred) -> None:
        setbacks.defer(self.engine, self.owner, task, run, deferred)

    def _fail(self, task: Any, run: Any, error: str, *, permanent: bool) -> None:
        setbacks.fail(self.engine, self.owner, task, run, error, permanent=permanent)


def _people_sent(
    conn: Connection,
    tasks: Sequence[Any],
    runs: dict[str, Any],
    flows: dict[str, FlowDefinition],
    people: dict[str, str],
) -> dict[int, dict[str, Any] | actions.ActionRejected | None]:
    """By task: what of its person the action sends — read now, as the receiver would find
    them if it asked (merged, with the latest traits) — or why the node's option is unusable.
    Each person is read once, however many of their steps are prepared together."""
    read: dict[str, Person | None] = {}
    sent: dict[int, dict[str, Any] | actions.ActionRejected | None] = {}
    for task in tasks:
        run = runs[task.run_id]
        flow = flows.get(run.version_id)
        node = None if flow is None else flow.node(task.node)
        if node is None or node.action is None:
            continue
        try:
            fields = actions.person_fields(node.action, node.with_)
        except actions.ActionRejected as exc:
            sent[task.id] = exc
            continue
        if fields is None:
            continue
        person_id = people.get(run.profile_id)  # missing: erased
        if person_id is not None and person_id not in read:
            read[person_id] = person_view(conn, run.workspace_id, person_id)
        sent[task.id] = fields.of(read.get(person_id or ""))
    return sent
