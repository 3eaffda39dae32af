"""Flow versions: publishing a definition as a new immutable version (or finding it unchanged),
and loading the versions runs are on — each read once per process, versions never change."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import structlog
from sqlalchemy import Connection, func, insert, select

from nerve import metrics
from nerve.db.base import new_id
from nerve.flows import channel_action, email_action, segment_trigger, webhook
from nerve.flows.definition import FlowDefinition, InvalidFlow, canonical, validate
from nerve.flows.models import Flow, FlowVersion

log = structlog.get_logger(__name__)
_definitions: dict[str, FlowDefinition] = {}  # version id → definition; versions are immutable


@dataclass(frozen=True)
class ActiveVersion:
    flow_id: str
    version_id: str
    environment: str
    definition: FlowDefinition


def definition_of(conn: Connection, version_id: str) -> FlowDefinition:
    if version_id not in _definitions:
        raw = conn.scalar(select(FlowVersion.definition).where(FlowVersion.id == version_id))
        _definitions[version_id] = validate(raw)
    return _definitions[version_id]


def publish(
    conn: Connection, workspace_id: str, flow: FlowDefinition, environment: str
) -> dict[str, Any]:
    """A new immutable version; waiting runs stay on the version they started on. A definition
    equal to the latest version in that environment publishes nothing: that version comes
    back, `unchanged`."""
    from nerve.flows.broadcasts import service as broadcasts
    from nerve.flows.broadcasts import trigger as audience_trigger

    missing = email_action.unknown_references(conn, workspace_id, flow.nodes)
    missing += webhook.unknown_references(conn, workspace_id, flow.nodes)
    missing += channel_action.unknown_references(conn, workspace_id, flow.nodes)
    missing += audience_trigger.unknown_segment(conn, workspace_id, flow)
    missing += segment_trigger.unknown_segment(conn, workspace_id, flow)
    if missing:
        raise InvalidFlow(missing)
    definition = canonical(flow)
    flow_id = conn.scalar(
        select(Flow.id).where(Flow.workspace_id == workspace_id, Flow.name == flow.name)
    )
    if flow_id is None:
        flow_id = new_id("flw")
        conn.execute(insert(Flow).values(id=flow_id, workspace_id=workspace_id, name=flow.name))
    current = conn.execute(
        select(FlowVersion.id, FlowVersion.version, FlowVersion.definition)
        .where(FlowVersion.flow_id == flow_id, FlowVersion.environment == environment)
        .order_by(FlowVersion.version.desc())
        .limit(1)
    ).first()
    if current is not None and _canonical_stored(current.definition) == definition:
        return _published(flow_id, current.id, current.version, environment, unchanged=True)
    latest = conn.scalar(
        select(func.max(FlowVersion.version)).where(FlowVersion.flow_id == flow_id)
    )
    version_id, number = new_id("flv"), (latest or 0) + 1
    conn.execute(
        insert(FlowVersion).values(
            id=version_id,
            workspace_id=workspace_id,
            flow_id=flow_id,
            version=number,
            environment=environment,
            definition=definition,
        )
    )
    published = _published(flow_id, version_id, number, environment, unchanged=False)
    broadcasts.published(conn, workspace_id, published, flow)  # a schedule's next occurrence
    return published


def _canonical_stored(stored: Any) -> dict[str, Any] | None:
    """A stored definition in today's canonical form (an older Nerve may have stored fewer
    defaults), or None if it no longer validates — then anything new differs from it."""
    try:
        return canonical(validate(stored))
    except InvalidFlow:
        return None


def _published(
    flow_id: str, version_id: str, number: int, environment: str, *, unchanged: bool
) -> dict[str, Any]:
    return {"flow_id": flow_id, "version_id": version_id, "version": number,
            "environment": environment, "unchanged": unchanged}  # fmt: skip


def active_versions(conn: Connection, workspace_id: str) -> list[ActiveVersion]:
    """The newest version of each flow in each environment."""
    rows = conn.execute(
        select(FlowVersion.id, FlowVersion.flow_id, FlowVersion.environment)
        .where(FlowVersion.workspace_id == workspace_id)
        .order_by(FlowVersion.version)
    ).all()
    latest = {(row.flow_id, row.environment): row.id for row in rows}
    active = []
    for (flow_id, environment), version_id in latest.items():
        definition = loadable(conn, version_id)
        if definition is not None:
            active.append(ActiveVersion(flow_id, version_id, environment, definition))
    return active


def loadable(conn: Connection, version_id: str) -> FlowDefinition | None:
    """The version's definition, or None (logged) if it no longer validates — say, stored by
    an older Nerve. One broken flow must not stop events reaching the others."""
    try:
        return definition_of(conn, version_id)
    except InvalidFlow as exc:
        metrics.FLOW_ENGINE_ERRORS.labels("version").inc()
        log.error("flow_version_unloadable", version_id=version_id, problems=exc.problems)
        return None
