"""The `segment` trigger: a run starts when a person enters or leaves a segment.

    trigger: {type: segment, event: segment_entered, segment: vip}

Segments record entries and exits as Nerve's own events `Segment Entered` / `Segment Exited`
(properties `segment`, `segment_name`) from the own source `Nerve segments`; the router matches
them here, by the segment's key, and starts runs only on those from that source (`own_sources`):
a head can send an event of the same name, but it starts nothing.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection

from nerve.workspaces import service as workspaces

if TYPE_CHECKING:
    from nerve.flows.definition import FlowDefinition

SEGMENT = "segment"
EVENTS = {"segment_entered": "Segment Entered", "segment_exited": "Segment Exited"}
SOURCE = "Nerve segments"  # the own source nerve/segments records entries and exits from


def problems(flow: FlowDefinition) -> list[dict[str, str]]:
    trigger = flow.trigger
    if trigger.type != SEGMENT:
        return []
    found = []
    if trigger.event not in EVENTS:
        found.append({"path": "trigger.event", "reason": f"must be one of: {', '.join(EVENTS)}"})
    if trigger.segment is None:
        found.append({"path": "trigger.segment", "reason": "names the segment's key, e.g. "
                      "segment: vip"})  # fmt: skip
    return found


def unknown_segment(
    conn: Connection, workspace_id: str, flow: FlowDefinition
) -> list[dict[str, str]]:
    """The segment trigger's segment, when the workspace has no such segment."""
    from nerve.segments import membership

    key = flow.trigger.segment
    if flow.trigger.type != SEGMENT or key is None:
        return []
    if membership.segment_by_key(conn, workspace_id, key) is not None:
        return []
    return [{"path": "trigger.segment", "reason": f"no segment with the key {key!r}"}]


def matches(flow: FlowDefinition, event: dict[str, Any]) -> bool:
    """Whether `event` is the entry or exit of the trigger's segment."""
    trigger = flow.trigger
    properties = event.get("properties")
    return (
        event.get("type") == "track"
        and event.get("event") == EVENTS.get(trigger.event)
        and isinstance(properties, dict)
        and properties.get("segment") == trigger.segment
    )


def own_sources(conn: Connection, source_ids: set[str]) -> set[str]:
    """Those of `source_ids` that are a workspace's own segments source. Its write key is
    revoked when Nerve makes it; a source of that name someone made with a key that works
    does not count (workspaces.service.own_source would take it as its own)."""
    return {
        source.id
        for source in workspaces.sources_by_id(conn, sorted(source_ids))
        if source.name == SOURCE and source.write_key_revoked_at is not None
    }
