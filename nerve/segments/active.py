"""The active segments of a workspace, each with its parsed definition and what it reads, in
dependency order: a segment that references another (`segment: vip`) comes after it, so one
pass evaluates both and the dependent sees the fresh answer."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import Connection, select

from nerve.segments.definition import Inputs, SegmentDefinition, inputs, validate
from nerve.segments.models import Segment, SegmentVersion

# (segment id, version) → definition; versions never change, so each is parsed once.
_parsed: dict[tuple[str, int], SegmentDefinition] = {}


@dataclass(frozen=True)
class ActiveSegment:
    id: str
    key: str
    name: str
    version: int
    definition: SegmentDefinition
    inputs: Inputs


def active_segments(conn: Connection, workspace_id: str) -> list[ActiveSegment]:
    rows = conn.execute(
        select(Segment.id, Segment.key, Segment.name, Segment.active_version,
               SegmentVersion.definition)
        .join(SegmentVersion, (SegmentVersion.segment_id == Segment.id)
              & (SegmentVersion.version == Segment.active_version))
        .where(Segment.workspace_id == workspace_id, Segment.archived_at.is_(None))
        .order_by(Segment.key)
    )  # fmt: skip
    found = []
    for row in rows:
        cache_key = (row.id, row.active_version)
        if cache_key not in _parsed:
            _parsed[cache_key] = validate(row.definition)
        definition = _parsed[cache_key]
        found.append(ActiveSegment(row.id, row.key, row.name, row.active_version, definition,
                                   inputs(definition.where)))  # fmt: skip
    return in_dependency_order(found)


def in_dependency_order(segments: list[ActiveSegment]) -> list[ActiveSegment]:
    by_key = {s.key: s for s in segments}
    ordered: list[ActiveSegment] = []
    placed: set[str] = set()
    visiting: set[str] = set()

    def place(segment: ActiveSegment) -> None:
        if segment.key in placed or segment.key in visiting:
            return  # a cycle cannot be stored (validation refuses it); never loop on one
        visiting.add(segment.key)
        for key in sorted(segment.inputs.segments):
            if key in by_key:
                place(by_key[key])
        visiting.discard(segment.key)
        placed.add(segment.key)
        ordered.append(segment)

    for segment in segments:
        place(segment)
    return ordered


def with_dependents(segments: list[ActiveSegment], keys: Iterable[str]) -> set[str]:
    """`keys` and every segment that references one of them, directly or not."""
    found = set(keys)
    changed = True
    while changed:
        changed = False
        for segment in segments:
            if segment.key not in found and segment.inputs.segments & found:
                found.add(segment.key)
                changed = True
    return found
