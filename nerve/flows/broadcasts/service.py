"""Broadcasts: start one (now or at a time), show the blast radius before, read progress, pause,
resume and cancel; and the broadcasts the shop starts itself — one per catalog event for the
flows that wait for it, one per occurrence of a schedule."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, insert, select, update

from nerve.audit import service as audit
from nerve.db.base import new_id
from nerve.db.dialect import dialect_of
from nerve.errors import Conflict, NotFound
from nerve.flows.broadcasts import trigger as audience
from nerve.flows.broadcasts.models import Broadcast
from nerve.flows.broadcasts.starts import passes, profiles
from nerve.flows.definition import FlowDefinition
from nerve.flows.engine import LIVE
from nerve.flows.models import Flow, FlowEntry, FlowRun, FlowVersion, Task
from nerve.flows.versions import ActiveVersion, active_versions, loadable
from nerve.segments import membership

SCHEDULE_CAUSE, BY_HAND, SHOP_EVENT = "schedule:", "broadcast:", "shop_event:"
SAMPLE = 200  # members the preview tests the condition on


def current_version(conn: Connection, flow_id: str, environment: str) -> str | None:
    """The id of the flow's newest version in the environment."""
    return conn.scalar(
        select(FlowVersion.id)
        .where(FlowVersion.flow_id == flow_id, FlowVersion.environment == environment)
        .order_by(FlowVersion.version.desc())
        .limit(1)
    )


def _audience_flow(
    conn: Connection, workspace_id: str, name: str, environment: str
) -> tuple[Any, str, FlowDefinition, membership.SegmentRef]:
    flow_row = conn.execute(
        select(Flow).where(Flow.workspace_id == workspace_id, Flow.name == name)
    ).first()
    if flow_row is None:
        raise NotFound(f"no flow {name}")
    version_id = current_version(conn, flow_row.id, environment)
    flow = None if version_id is None else loadable(conn, version_id)
    if version_id is None or flow is None:
        raise Conflict(f"flow {name} has no {environment} version; publish it there first")
    if flow.trigger.type != audience.AUDIENCE or flow.trigger.segment is None:
        raise Conflict(f"flow {name} does not start for a segment (trigger type: audience)")
    segment = membership.segment_by_key(conn, workspace_id, flow.trigger.segment)
    if segment is None:
        raise Conflict(f"flow {name}'s segment {flow.trigger.segment!r} no longer exists")
    return flow_row, version_id, flow, segment


def start(
    conn: Connection,
    workspace_id: str,
    name: str,
    environment: str,
    at: datetime | None,
    actor: str,
) -> dict[str, Any]:
    """Start the flow for every member of its segment now, or at `at`."""
    flow_row, version_id, flow, segment = _audience_flow(conn, workspace_id, name, environment)
    if flow.trigger.event != audience.BROADCAST:
        raise Conflict(
            f"flow {name} starts on {flow.trigger.event}, not by hand (trigger event: broadcast)"
        )
    now = dialect_of(conn).now(conn)
    later = at is not None and at > now
    due = at if later and at is not None else now
    broadcast_id = new_id("bc")
    trigger = {
        "type": audience.AUDIENCE,
        "event": audience.BROADCAST,
        "properties": {
            "broadcast_id": broadcast_id,
            "segment": segment.key,
            "segment_name": segment.name,
            "flow": name,
        },
        "messageId": f"broadcast_{broadcast_id}",
        "timestamp": due.isoformat(),
    }
    conn.execute(
        insert(Broadcast).values(
            id=broadcast_id,
            workspace_id=workspace_id,
            flow_id=flow_row.id,
            version_id=version_id,
            environment=environment,
            segment_id=segment.id,
            status="scheduled" if later else "running",
            due_at=due,
            next_chunk_at=due,
            audience=None if later else membership.count(conn, segment.id),
            entered=0,
            skipped=0,
            cause=f"{BY_HAND}{broadcast_id}",
            trigger=trigger,
            created_by=actor,
            started_at=None if later else now,
        )
    )
    audit.record(
        conn,
        workspace_id,
        actor,
        "broadcast.scheduled" if later else "broadcast.started",
        broadcast_id,
    )
    return get(conn, workspace_id, broadcast_id)


def preview(
    conn: Connection,
    workspace_id: str,
    name: str,
    environment: str,
    properties: dict[str, Any] | None,
    sample: int = SAMPLE,
) -> dict[str, Any]:
    """The blast radius: the segment's size now, and how many of a sample of its members the
    trigger's condition lets in (with `properties` as the catalog event's, if given)."""
    _, _, flow, segment = _audience_flow(conn, workspace_id, name, environment)
    size = membership.count(conn, segment.id)
    members = membership.members_after(conn, segment.id, None, sample)
    trigger = {
        "type": audience.AUDIENCE,
        "event": flow.trigger.event,
        "properties": properties or {},
    }
    views = profiles(conn, workspace_id, flow, members)
    passing = sum(1 for m in members if m in views and passes(flow, trigger, m, views[m]))
    estimate = size if not members else round(size * passing / len(members))
    return {
        "flow": name,
        "environment": environment,
        "segment": segment.key,
        "segment_name": segment.name,
        "audience": size,
        "sampled": len(members),
        "passing": passing,
        "estimated_runs": estimate,
        "condition": flow.trigger.where,
    }


def schedule(
    conn: Connection,
    workspace_id: str,
    flow_id: str,
    version_id: str,
    environment: str,
    segment_id: str,
    flow: FlowDefinition,
    occurrence: datetime,
) -> None:
    """The broadcast of one occurrence of a schedule (nothing if it exists: each once)."""
    broadcast_id = new_id("bc")
    trigger = {
        "type": audience.AUDIENCE,
        "event": audience.SCHEDULE,
        "properties": {
            "broadcast_id": broadcast_id,
            "segment": flow.trigger.segment,
            "occurrence": occurrence.isoformat(),
        },
        "messageId": f"broadcast_{broadcast_id}",
        "timestamp": occurrence.isoformat(),
    }
    _insert_once(
        conn,
        {
            "id": broadcast_id,
            "workspace_id": workspace_id,
            "flow_id": flow_id,
            "version_id": version_id,
            "environment": environment,
            "segment_id": segment_id,
            "status": "scheduled",
            "due_at": occurrence,
            "next_chunk_at": occurrence,
            "cause": f"{SCHEDULE_CAUSE}{occurrence.isoformat()}",
            "trigger": trigger,
        },
    )


def _insert_once(conn: Connection, values: dict[str, Any]) -> None:
    statement = dialect_of(conn).insert_ignoring_duplicates(
        Broadcast.__table__, ["flow_id", "environment", "cause"]
    )
    conn.execute(
        statement,
        {
            "audience": None,
            "entered": 0,
            "skipped": 0,
            "cursor": None,
            "created_by": None,
            "started_at": None,
            "finished_at": None,
        }
        | values,
    )


def published(
    conn: Connection, workspace_id: str, version: dict[str, Any], flow: FlowDefinition
) -> None:
    """A new version: occurrences scheduled under the old one are withdrawn, and a schedule
    flow gets its next occurrence (publishing the same schedule again keeps it)."""
    flow_id, environment = version["flow_id"], version["environment"]
    now = dialect_of(conn).now(conn)
    conn.execute(
        update(Broadcast)
        .where(
            Broadcast.flow_id == flow_id,
            Broadcast.environment == environment,
            Broadcast.status == "scheduled",
            Broadcast.cause.startswith(SCHEDULE_CAUSE),
        )
        .values(status="cancelled", finished_at=now)
    )
    trigger = flow.trigger
    if trigger.type != audience.AUDIENCE or trigger.event != audience.SCHEDULE:
        return
    segment = membership.segment_by_key(conn, workspace_id, trigger.segment or "")
    if segment is None:
        return
    occurrence = audience.next_occurrence(trigger, None, now)
    cause = f"{SCHEDULE_CAUSE}{occurrence.isoformat()}"
    conn.execute(  # the same occurrence, rescheduled by publishing the same schedule again
        update(Broadcast)
        .where(
            Broadcast.flow_id == flow_id,
            Broadcast.environment == environment,
            Broadcast.cause == cause,
            Broadcast.status == "cancelled",
            Broadcast.started_at.is_(None),
        )
        .values(status="scheduled", finished_at=None, version_id=version["version_id"])
    )
    schedule(
        conn,
        workspace_id,
        flow_id,
        version["version_id"],
        environment,
        segment.id,
        flow,
        occurrence,
    )


def on_shop_events(conn: Connection, now: datetime, claimed: list[Any]) -> None:
    """One broadcast per routed catalog event and audience flow that starts on it, in the
    routing's transaction (a second routing of the event starts none: unique by cause)."""
    from nerve.flows.shop_events import payload

    versions: dict[str, list[ActiveVersion]] = {}
    for event in claimed:
        if event.workspace_id not in versions:
            versions[event.workspace_id] = [
                v
                for v in active_versions(conn, event.workspace_id)
                if v.definition.trigger.type == audience.AUDIENCE
            ]
        for version in versions[event.workspace_id]:
            trigger = version.definition.trigger
            if trigger.event != event.name or trigger.segment is None:
                continue
            segment = membership.segment_by_key(conn, event.workspace_id, trigger.segment)
            if segment is not None:
                _insert_once(
                    conn,
                    {
                        "id": new_id("bc"),
                        "workspace_id": event.workspace_id,
                        "flow_id": version.flow_id,
                        "version_id": version.version_id,
                        "environment": version.environment,
                        "segment_id": segment.id,
                        "status": "running",
                        "due_at": now,
                        "next_chunk_at": now,
                        "started_at": now,
                        "audience": membership.count(conn, segment.id),
                        "cause": f"{SHOP_EVENT}{event.id}",
                        "trigger": payload(event),
                    },
                )


# --- reading and control ---------------------------------------------------------------------


def _out(conn: Connection, row: Any, flow_name: str) -> dict[str, Any]:
    flow = loadable(conn, row.version_id)
    handled = row.entered + row.skipped
    if row.status == "done":
        percent = 100.0
    elif not row.audience:
        percent = 0.0
    else:
        percent = round(min(100.0, handled * 100 / row.audience), 1)
    return {
        "id": row.id,
        "flow": flow_name,
        "flow_id": row.flow_id,
        "version_id": row.version_id,
        "environment": row.environment,
        "segment_id": row.segment_id,
        "segment": None if flow is None else flow.trigger.segment,
        "status": row.status,
        "due_at": row.due_at,
        "audience": row.audience,
        "entered": row.entered,
        "skipped": row.skipped,
        "percent": percent,
        "cause": row.cause,
        "trigger_event": (row.trigger or {}).get("event"),
        "created_by": row.created_by,
        "created_at": row.created_at,
        "started_at": row.started_at,
        "finished_at": row.finished_at,
    }


_WITH_NAME = select(Broadcast, Flow.name.label("flow_name")).join(
    Flow, Flow.id == Broadcast.flow_id
)


def get(conn: Connection, workspace_id: str, broadcast_id: str) -> dict[str, Any]:
    row = conn.execute(
        _WITH_NAME.where(Broadcast.workspace_id == workspace_id, Broadcast.id == broadcast_id)
    ).first()
    if row is None:
        raise NotFound(f"no broadcast {broadcast_id}")
    return _out(conn, row, row.flow_name)


def list_for_flow(
    conn: Connection, workspace_id: str, name: str, limit: int
) -> list[dict[str, Any]]:
    """The flow's broadcasts, newest first."""
    rows = conn.execute(
        _WITH_NAME.where(Broadcast.workspace_id == workspace_id, Flow.name == name)
        .order_by(Broadcast.created_at.desc(), Broadcast.id.desc())
        .limit(limit)
    )
    found = [_out(conn, row, row.flow_name) for row in rows]
    if (
        not found
        and conn.scalar(select(Flow.id).where(Flow.workspace_id == workspace_id, Flow.name == name))
        is None
    ):
        raise NotFound(f"no flow {name}")
    return found


def _change(
    conn: Connection,
    workspace_id: str,
    broadcast_id: str,
    actor: str,
    action: tuple[str, str],
    among: tuple[str, ...],
    values: dict[str, Any],
) -> dict[str, Any]:
    """Move the broadcast from one of `among` (checked in the UPDATE: a worker finishing it at
    the same moment wins, and this answers 409)."""
    current = get(conn, workspace_id, broadcast_id)
    changed = conn.execute(
        update(Broadcast)
        .where(Broadcast.id == broadcast_id, Broadcast.status.in_(among))
        .values(**values)
    ).rowcount
    if not changed:
        raise Conflict(f"broadcast {broadcast_id} is {current['status']}; cannot {action[0]} it")
    audit.record(conn, workspace_id, actor, f"broadcast.{action[1]}", broadcast_id)
    return get(conn, workspace_id, broadcast_id)


def pause(conn: Connection, workspace_id: str, broadcast_id: str, actor: str) -> dict[str, Any]:
    """No new entries until resumed; runs already started go on."""
    return _change(
        conn,
        workspace_id,
        broadcast_id,
        actor,
        ("pause", "paused"),
        ("scheduled", "running"),
        {"status": "paused"},
    )


def resume(conn: Connection, workspace_id: str, broadcast_id: str, actor: str) -> dict[str, Any]:
    """Go on from the cursor (a broadcast paused before its time waits for its time again)."""
    row = get(conn, workspace_id, broadcast_id)
    now = dialect_of(conn).now(conn)
    status = "running" if row["started_at"] is not None else "scheduled"
    due = now if status == "running" else row["due_at"]
    return _change(
        conn,
        workspace_id,
        broadcast_id,
        actor,
        ("resume", "resumed"),
        ("paused",),
        {"status": status, "next_chunk_at": due},
    )


def cancel(conn: Connection, workspace_id: str, broadcast_id: str, actor: str) -> dict[str, Any]:
    """Stop for good: nobody else enters, and the runs it started that still wait (for 09:00
    in each person's time zone, say) end as cancelled."""
    now = dialect_of(conn).now(conn)
    answer = _change(
        conn,
        workspace_id,
        broadcast_id,
        actor,
        ("cancel", "cancelled"),
        ("scheduled", "running", "paused"),
        {"status": "cancelled", "finished_at": now},
    )
    runs = select(FlowEntry.run_id).where(
        FlowEntry.flow_id == answer["flow_id"],
        FlowEntry.environment == answer["environment"],
        FlowEntry.entry_key == broadcast_id,
    )
    live = FlowRun.id.in_(runs.scalar_subquery()), FlowRun.status.in_(LIVE)
    conn.execute(
        update(Task)
        .where(Task.run_id.in_(select(FlowRun.id).where(*live)), Task.status == "pending")
        .values(status="cancelled")
    )
    conn.execute(
        update(FlowRun)
        .where(*live)
        .values(
            status="exited",
            outcome="cancelled",
            ended_at=now,
            waiting_for=None,
            state_version=FlowRun.state_version + 1,
        )
    )
    return answer
