"""Cleaning up after flows: ended runs with their steps and tasks, finished tasks, and
digests closed as long ago as those runs ended (their items went on in the run's state).

Trigger entries are kept: they are what makes a duplicate trigger (the same order webhook
again, months later) start nothing, also after its run is gone. Failed runs stay until their
dead letters are replayed or looked at; pending and running work is never touched.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import Engine, delete, select

from nerve.db.dialect import dialect_of
from nerve.db.engine import write_transaction
from nerve.flows.digest_models import Digest, DigestItem
from nerve.flows.models import FlowRun, FlowStep, Task

# Each batch is its own short transaction: pruning never holds the write lock for long.
_BATCH = 500
FINISHED_TASKS = ("done", "cancelled")


@dataclass
class Pruned:
    runs: int = 0
    steps: int = 0
    tasks: int = 0
    digests: int = 0


@dataclass(frozen=True)
class Retention:
    """How long ended runs and finished tasks are kept (NERVE_FLOW_*_RETENTION_DAYS)."""

    runs: timedelta = timedelta(days=90)
    tasks: timedelta = timedelta(days=1)

    def prune(self, engine: Engine) -> Pruned:
        """Delete runs that ended longer ago than `runs` (with their steps and tasks), and
        finished tasks created longer ago than `tasks`."""
        pruned = Pruned()
        # Batch after batch until one comes back short: nothing older is left.
        more = True
        while more:
            more = _prune_runs(engine, self.runs, pruned) == _BATCH
        more = True
        while more:
            more = _prune_tasks(engine, self.tasks, pruned) == _BATCH
        more = True
        while more:
            more = _prune_digests(engine, self.runs, pruned) == _BATCH
        return pruned


def _prune_runs(engine: Engine, older_than: timedelta, pruned: Pruned) -> int:
    # Found outside the write transaction: an ended run never changes again.
    with engine.connect() as conn:
        cutoff = dialect_of(conn).now(conn) - older_than
        ended = list(
            conn.scalars(
                select(FlowRun.id)
                .where(FlowRun.ended_at < cutoff, FlowRun.status.in_(("completed", "exited")))
                .limit(_BATCH)
            )
        )
    if not ended:
        return 0
    with write_transaction(engine) as conn:
        pruned.steps += conn.execute(delete(FlowStep).where(FlowStep.run_id.in_(ended))).rowcount
        pruned.tasks += conn.execute(delete(Task).where(Task.run_id.in_(ended))).rowcount
        pruned.runs += conn.execute(delete(FlowRun).where(FlowRun.id.in_(ended))).rowcount
    return len(ended)


def _prune_tasks(engine: Engine, older_than: timedelta, pruned: Pruned) -> int:
    with engine.connect() as conn:
        cutoff = dialect_of(conn).now(conn) - older_than
        finished = list(
            conn.scalars(
                select(Task.id)
                .where(Task.status.in_(FINISHED_TASKS), Task.created_at < cutoff)
                .limit(_BATCH)
            )
        )
    if not finished:
        return 0
    with write_transaction(engine) as conn:
        # Still finished: a dead-letter replay only ever revives `dead` tasks.
        pruned.tasks += conn.execute(
            delete(Task).where(Task.id.in_(finished), Task.status.in_(FINISHED_TASKS))
        ).rowcount
        return len(finished)


def _prune_digests(engine: Engine, older_than: timedelta, pruned: Pruned) -> int:
    # Closed and abandoned digests never change again; open ones are never touched.
    with engine.connect() as conn:
        cutoff = dialect_of(conn).now(conn) - older_than
        ended = list(
            conn.scalars(
                select(Digest.id)
                .where(Digest.closed_at < cutoff, Digest.status.in_(("closed", "abandoned")))
                .limit(_BATCH)
            )
        )
    if not ended:
        return 0
    with write_transaction(engine) as conn:
        conn.execute(delete(DigestItem).where(DigestItem.digest_id.in_(ended)))
        pruned.digests += conn.execute(delete(Digest).where(Digest.id.in_(ended))).rowcount
    return len(ended)
