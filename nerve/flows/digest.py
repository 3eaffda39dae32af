"""Digests: the `digest` node collects a person's events over a window, and one run — the one
that opened the window — goes on to send them all in one message (docs/digests.md).

A run reaching the node leaves a `collect` task (engine.plan). The worker runs it with the run
locked: the run adds its event to the open digest of (flow, environment, node, person),
keyed so that a duplicate is one item. If no digest is open, the run opens one and owns it: it
waits for a `digest` task due when the window closes; every other run adds its item and ends.
The owner's task closes the digest and moves the run on in one transaction, with the items in
the run's data (`run.digest`, and `digest` in templates): one send per window, however often
the task runs, and an event after the close opens the next window.
"""

from __future__ import annotations

import copy
from datetime import datetime
from types import SimpleNamespace
from typing import Any

from sqlalchemy import Connection, insert, select, update
from sqlalchemy.exc import IntegrityError

from nerve.db.base import new_id, table
from nerve.db.dialect import dialect_of
from nerve.flows.budget import StepBudget
from nerve.flows.definition import FlowDefinition
from nerve.flows.digest_models import Digest, DigestItem
from nerve.flows.engine import LIVE, Plan, as_run, failed_plan, finish_plan, plan, step_row
from nerve.flows.interpreter import Collect, StepFailed, collect
from nerve.flows.models import FlowRun
from nerve.identity.service import people_of

COLLECT = "collect"  # a run adds its event (due at once)
CLOSE = "digest"  # the owner's window closes: it goes on with every item
TASKS = (COLLECT, CLOSE)
_OPENING_ATTEMPTS = 3


def advance(
    conn: Connection,
    flow: FlowDefinition,
    row: Any,
    task: Any,
    now: datetime,
    profile: dict[str, Any],
    limits: StepBudget | None = None,
) -> Plan:
    """The transition a digest task makes, for the worker to write with its others. The run
    is locked and its state is the one the task expects."""
    if task.kind == COLLECT:
        return _collect(conn, flow, row, task, now, profile)
    return _close(conn, flow, row, task, now, profile, limits)


def in_lock_order(conn: Connection, timers: list[Any], runs: dict[str, Any]) -> list[Any]:
    """A batch's timers in the order to run them in one transaction: digest tasks last, by
    digest — every worker takes digest locks in the same order, so two batches adding to the
    same two digests wait for each other instead of deadlocking."""
    mine = [t for t in timers if t.kind in TASKS]
    if not mine:
        return timers
    people = people_of(conn, {runs[t.run_id].profile_id for t in mine})

    def digest_of(task: Any) -> tuple[str, ...]:
        run = runs[task.run_id]
        person = people.get(run.profile_id, run.profile_id)
        return (run.workspace_id, person, run.flow_id, run.environment, task.node)

    return [t for t in timers if t.kind not in TASKS] + sorted(mine, key=digest_of)


def _collect(
    conn: Connection, flow: FlowDefinition, row: Any, task: Any, now: datetime,
    profile: dict[str, Any],
) -> Plan:  # fmt: skip
    try:
        item = collect(flow, as_run(row, profile), task.node, now)
    except StepFailed as exc:
        return failed_plan(row, task.expected_version, task.node, str(exc), now, row.state)
    person = people_of(conn, [row.profile_id]).get(row.profile_id, row.profile_id)
    group = {"workspace_id": row.workspace_id, "flow": flow.name,
             "environment": row.environment, "node": task.node, "profile_id": person}  # fmt: skip
    digest, opened = _join(conn, group, row.id, item.closes_at, now)
    event_id = int(((row.state or {}).get("data") or {}).get("event_id") or 0)
    added = _add(conn, digest.id, item, event_id, now)
    detail = {"digest": digest.id, "item": item.key, "duplicate": not added}
    if opened:
        return _owner_waits(row, task, digest, item, detail)
    done = finish_plan(row, task.expected_version, "completed", "completed", now)
    done.step(task.node, "collected", detail | {"sent_by": digest.run_id})
    done.step(None, "completed", {})
    return done


def _join(
    conn: Connection, group: dict[str, str], run_id: str, closes_at: datetime, now: datetime
) -> tuple[Any, bool]:
    """The group's open digest, locked until the transaction ends, and whether this run just
    opened it (and so owns it)."""
    for _ in range(_OPENING_ATTEMPTS):
        digest = _open_digest(conn, group)
        if digest is not None and _owner_waiting(conn, digest):
            return digest, False
        if digest is not None:  # its run ended early: nobody would ever send it
            conn.execute(
                update(Digest).where(Digest.id == digest.id)
                .values(status="abandoned", closed_at=now)
            )  # fmt: skip
        opened = _open(conn, group, run_id, closes_at, now)
        if opened is not None:
            return opened, True
    # Three races lost in a row: the task is retried with backoff, nothing is lost.
    raise RuntimeError(f"could not open or join a digest for {group}")


def _open_digest(conn: Connection, group: dict[str, str]) -> Any:
    """The open digest, locked. On PostgreSQL a digest being closed meanwhile is read again
    once its closer commits — closed, so not returned: an item never joins a closed digest."""
    query = select(Digest).where(
        *(getattr(Digest, column) == value for column, value in group.items()),
        Digest.status == "open",
    )
    return conn.execute(dialect_of(conn).for_update(query)).first()


def _owner_waiting(conn: Connection, digest: Any) -> bool:
    status = conn.scalar(select(FlowRun.status).where(FlowRun.id == digest.run_id))
    return status in LIVE


def _open(
    conn: Connection, group: dict[str, str], run_id: str, closes_at: datetime, now: datetime
) -> Any:
    """A new open digest owned by `run_id`, or None if another run opened one first (the
    partial unique index lets one of two racing runs win; the other joins it)."""
    values = {"id": new_id("dgs"), **group, "run_id": run_id, "status": "open",
              "opened_at": now, "closes_at": closes_at, "closed_at": None}  # fmt: skip
    try:
        with conn.begin_nested():
            conn.execute(insert(table(Digest)), values)
    except IntegrityError:
        return None
    return SimpleNamespace(**values)


def _add(conn: Connection, digest_id: str, item: Collect, event_id: int, now: datetime) -> bool:
    """Add the item unless the digest has one with its key; True if added."""
    statement = dialect_of(conn).insert_ignoring_duplicates(
        table(DigestItem), ["digest_id", "item_key"]
    )
    added = conn.execute(
        statement.returning(table(DigestItem).c.item_key),
        {"digest_id": digest_id, "item_key": item.key, "event_id": event_id,
         "payload": item.item, "added_at": now},
    ).first()  # fmt: skip
    return added is not None


def _owner_waits(row: Any, task: Any, digest: Any, item: Collect, detail: dict[str, Any]) -> Plan:
    """The owner shows where it is — at the digest — until the window closes."""
    until = digest.closes_at.isoformat()
    waiting = {"node": task.node, "until": until, "next_node": item.then, "digest": digest.id}
    values = {"status": "active", "node": task.node, "waiting_for": waiting, "state": row.state,
              "outcome": None, "ended_at": None}  # fmt: skip
    waits = Plan(row.id, row.workspace_id, task.expected_version, values)
    waits.task = {"workspace_id": row.workspace_id, "run_id": row.id, "kind": CLOSE,
                  "node": task.node, "expected_version": task.expected_version + 1,
                  "due_at": digest.closes_at, "status": "pending", "attempts": 0,
                  "idempotency_key": ""}  # fmt: skip
    waits.step(task.node, "collected", detail | {"opened": True})
    waits.step(task.node, "waiting", {"until": until, "then": item.then})
    return waits


def _close(
    conn: Connection, flow: FlowDefinition, row: Any, task: Any, now: datetime,
    profile: dict[str, Any], limits: StepBudget | None,
) -> Plan:  # fmt: skip
    """Close the owner's digest and move the run on with its items. An abandoned digest (the
    run failed and was replayed) is sent too; one already closed is never sent again."""
    digest_id = (row.waiting_for or {}).get("digest")
    closed = conn.execute(
        update(Digest)
        .where(Digest.id == digest_id, Digest.status.in_(("open", "abandoned")))
        .values(status="closed", closed_at=now)
        .returning(Digest.opened_at, Digest.closes_at)
    ).first()
    if closed is None:
        done = finish_plan(row, task.expected_version, "completed", "completed", now)
        done.step(task.node, "digest_gone", {"digest": digest_id})
        done.step(None, "completed", {})
        return done
    items = list(
        conn.scalars(
            select(DigestItem.payload)
            .where(DigestItem.digest_id == digest_id)
            .order_by(DigestItem.event_id, DigestItem.added_at, DigestItem.item_key)
        )
    )
    state = copy.deepcopy(row.state or {})
    state.setdefault("data", {})["digest"] = {
        "items": items, "count": len(items),
        "opened_at": closed.opened_at.isoformat(), "closes_at": closed.closes_at.isoformat(),
    }  # fmt: skip
    node = flow.node(task.node)
    moved = SimpleNamespace(**{**row._mapping, "state": state})
    step = plan(flow, moved, task.expected_version, flow.after(node.id, node.next), now,
                profile, limits)  # fmt: skip
    step.steps.insert(0, step_row(row, task.node, "digest_closed",
                                  {"digest": digest_id, "items": len(items)}))  # fmt: skip
    return step
