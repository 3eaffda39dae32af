"""Starting one chunk of a broadcast's runs: the members read together, the trigger's condition
tested against each, one run per member who passes — written with a few statements for all.

A member enters a broadcast once: the trigger entry is keyed by the broadcast's id, so a chunk
done twice (two workers, a redo after a crash) starts nobody twice.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from types import SimpleNamespace
from typing import Any

from sqlalchemy import Connection

from nerve import metrics
from nerve.db.base import insert_rows, new_id
from nerve.db.dialect import Dialect
from nerve.flows.definition import FlowDefinition
from nerve.flows.engine import Plan, enqueue, plan, step_row
from nerve.flows.expressions import EvaluationError, parse
from nerve.flows.interpreter import Run, scope
from nerve.flows.models import FlowEntry, FlowRun
from nerve.profiles.view import people

_ENTRY_INSERTS: dict[str, Any] = {}


@dataclass(frozen=True)
class Chunk:
    """Who of a chunk entered and who was left out (the condition did not hold, erased)."""

    entered: int
    skipped: int


def passes(
    flow: FlowDefinition, trigger: dict[str, Any], person: str, profile: dict[str, Any]
) -> bool:
    """Whether the trigger's `where` holds for this person and this trigger (a catalog event,
    the broadcast); one that cannot be evaluated within the limits does not hold."""
    where = flow.trigger.where
    if where is None:
        return True
    try:
        return parse(where).test(scope(Run("probe", person, trigger, profile)))
    except EvaluationError:
        return False


def profiles(
    conn: Connection, workspace_id: str, flow: FlowDefinition, members: list[str]
) -> dict[str, dict[str, Any]]:
    """The members as conditions see them; {} each when the flow reads nothing of a person.
    An erased member is missing when the flow reads them."""
    if not flow.uses_profile:
        return {member: {} for member in members}
    return {p: person.model_dump() for p, person in people(conn, workspace_id, members).items()}


def start_chunk(
    conn: Connection,
    dialect: Dialect,
    broadcast: Any,
    flow: FlowDefinition,
    members: list[str],
    now: datetime,
) -> Chunk:
    """Start the runs of `members` (person ids) in the broadcast's transaction."""
    views = profiles(conn, broadcast.workspace_id, flow, members)
    starts: list[tuple[dict[str, Any], dict[str, Any], Plan]] = []
    for member in members:
        profile = views.get(member)
        if profile is None or not passes(flow, broadcast.trigger, member, profile):
            continue
        starts.append(_start(broadcast, flow, member, profile, now))
    made: set[str] = set()
    if starts:
        made = set(conn.execute(_insert_entries(dialect), [e for e, _, _ in starts]).scalars())
    kept = [(run, first) for entry, run, first in starts if entry["run_id"] in made]
    if kept:
        insert_rows(conn, FlowRun, [run for run, _ in kept])
        enqueue(conn, [first for _, first in kept])
        metrics.FLOW_RUNS.labels("started").inc(len(kept))
    return Chunk(entered=len(kept), skipped=len(members) - len(kept))


def _start(
    broadcast: Any, flow: FlowDefinition, member: str, profile: dict[str, Any], now: datetime
) -> tuple[dict[str, Any], dict[str, Any], Plan]:
    run_id = new_id("run")
    new = SimpleNamespace(
        id=run_id,
        workspace_id=broadcast.workspace_id,
        flow_id=broadcast.flow_id,
        version_id=broadcast.version_id,
        environment=broadcast.environment,
        profile_id=member,
        trigger_key=broadcast.id,
        status="active",
        node=flow.nodes[0].id,
        state_version=0,
        waiting_for=None,
        outcome=None,
        started_at=now,
        ended_at=None,
        state={"trigger": broadcast.trigger, "profile": {}, "data": {"broadcast_id": broadcast.id}},
    )
    first = plan(flow, new, 0, flow.nodes[0].id, now, profile)
    first.steps.insert(
        0, step_row(new, None, "entered", {"broadcast_id": broadcast.id, "key": broadcast.id})
    )
    entry = {
        "flow_id": broadcast.flow_id,
        "environment": broadcast.environment,
        "profile_id": member,
        "entry_key": broadcast.id,
        "workspace_id": broadcast.workspace_id,
        "run_id": run_id,
        "entered_at": now,
    }
    return entry, vars(new) | first.values | {"state_version": 1}, first


def _insert_entries(dialect: Dialect) -> Any:
    """INSERT of trigger entries that leaves a duplicate alone; RETURNING names the ones made."""
    if dialect.name not in _ENTRY_INSERTS:
        _ENTRY_INSERTS[dialect.name] = dialect.insert_ignoring_duplicates(
            FlowEntry.__table__, ["flow_id", "environment", "profile_id", "entry_key"]
        ).returning(FlowEntry.run_id)
    return _ENTRY_INSERTS[dialect.name]
