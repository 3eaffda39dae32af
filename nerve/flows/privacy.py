"""Personal data in flows: a person's runs (their trigger events and data), step history, tasks,
dead letters and trigger entries.

Erasure stops the person's flows before anything else can fire: the runs are locked (runs before
tasks, the order every writer takes) and deleted with their due timers and pending actions. The
trigger entries stay, with a keyed hash in place of the raw key (a cart id, a message id), so a
duplicate trigger still starts nothing."""

from __future__ import annotations

import hashlib
import hmac
from typing import Any

from sqlalchemy import Connection, delete, select, update

from nerve.db.dialect import dialect_of
from nerve.flows.digest_models import Digest, DigestItem
from nerve.flows.models import DeadLetter, Flow, FlowEntry, FlowRun, FlowStep, Task
from nerve.privacy.subject import PersonalData, Subject
from nerve.workspaces import service as workspaces

ERASED_KEY = "erased:"


def _runs(conn: Connection, subject: Subject) -> list[str]:
    query = (
        select(FlowRun.id)
        .where(
            FlowRun.workspace_id == subject.workspace_id,
            FlowRun.profile_id.in_(subject.profile_ids),
        )
        .order_by(FlowRun.id)
    )
    return list(conn.scalars(dialect_of(conn).for_update(query)))


def _erase(conn: Connection, subject: Subject) -> None:
    runs = _runs(conn, subject)  # locked: no timer or event moves them while we delete
    for table in (Task, FlowStep, DeadLetter):
        conn.execute(delete(table).where(table.run_id.in_(runs)))
    conn.execute(delete(FlowRun).where(FlowRun.id.in_(runs)))
    key = workspaces.hash_key(conn, subject.workspace_id)
    entries = conn.execute(
        select(
            FlowEntry.flow_id, FlowEntry.environment, FlowEntry.profile_id, FlowEntry.entry_key
        ).where(
            FlowEntry.workspace_id == subject.workspace_id,
            FlowEntry.profile_id.in_(subject.profile_ids),
        )
    ).all()
    for entry in entries:
        if entry.entry_key.startswith(ERASED_KEY):
            continue
        digest = hmac.new(key, entry.entry_key.encode(), hashlib.sha256).hexdigest()[:32]
        conn.execute(
            update(FlowEntry)
            .where(
                FlowEntry.flow_id == entry.flow_id,
                FlowEntry.environment == entry.environment,
                FlowEntry.profile_id == entry.profile_id,
                FlowEntry.entry_key == entry.entry_key,
            )
            .values(entry_key=ERASED_KEY + digest, run_id="")
        )


def _export(conn: Connection, subject: Subject) -> list[dict[str, Any]]:
    runs = conn.execute(
        select(FlowRun, Flow.name.label("flow"))
        .join(Flow, Flow.id == FlowRun.flow_id)
        .where(
            FlowRun.workspace_id == subject.workspace_id,
            FlowRun.profile_id.in_(subject.profile_ids),
        )
        .order_by(FlowRun.started_at, FlowRun.id)
    ).all()
    steps: dict[str, list[dict[str, Any]]] = {}
    for step in conn.execute(
        select(FlowStep.run_id, FlowStep.node, FlowStep.kind, FlowStep.detail, FlowStep.at)
        .where(FlowStep.run_id.in_([run.id for run in runs]))
        .order_by(FlowStep.id)
    ):
        steps.setdefault(step.run_id, []).append(
            {"node": step.node, "kind": step.kind, "detail": step.detail, "at": step.at}
        )
    return [
        {"id": run.id, "flow": run.flow, "environment": run.environment, "status": run.status,
         "outcome": run.outcome, "trigger": (run.state or {}).get("trigger"),
         "started_at": run.started_at, "ended_at": run.ended_at, "steps": steps.get(run.id, [])}
        for run in runs
    ]  # fmt: skip


FLOWS = PersonalData(
    "flow_runs",
    ("flow_runs", "flow_steps", "tasks", "dead_letters", "flow_entries"),
    erase=_erase,
    export=_export,
)


def _digests(conn: Connection, subject: Subject) -> list[str]:
    return list(conn.scalars(
        select(Digest.id).where(
            Digest.workspace_id == subject.workspace_id, Digest.profile_id.in_(subject.profile_ids)
        )
    ))  # fmt: skip


def _export_digests(conn: Connection, subject: Subject) -> list[dict[str, Any]]:
    ids = _digests(conn, subject)
    items: dict[str, list[Any]] = {}
    for row in conn.execute(
        select(DigestItem).where(DigestItem.digest_id.in_(ids)).order_by(DigestItem.event_id)
    ):
        items.setdefault(row.digest_id, []).append(row.payload)
    rows = conn.execute(select(Digest).where(Digest.id.in_(ids)).order_by(Digest.opened_at))
    return [{**dict(row._mapping), "items": items.get(row.id, [])} for row in rows]


def _erase_digests(conn: Connection, subject: Subject) -> None:
    ids = _digests(conn, subject)
    conn.execute(delete(DigestItem).where(DigestItem.digest_id.in_(ids)))
    conn.execute(delete(Digest).where(Digest.id.in_(ids)))


DIGESTS = PersonalData("digests", ("digests", "digest_items"), erase=_erase_digests,
                       export=_export_digests)  # fmt: skip
