"""Segments as the API and CLI use them: apply a definition (a new version and a background
build, or nothing when unchanged), read one with its build's progress, preview a definition
over existing people without saving it, page members, archive."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, delete, func, insert, select, update

from nerve.consent import topics
from nerve.db.base import new_id
from nerve.db.dialect import dialect_of
from nerve.errors import Conflict, InvalidSegment, NotFound
from nerve.identity import service as identity
from nerve.identity.rules import load_rules
from nerve.segments import membership
from nerve.segments.active import ActiveSegment, active_segments, with_dependents
from nerve.segments.definition import (
    ConsentCondition,
    SegmentDefinition,
    inputs,
    leaves,
    validate,
)
from nerve.segments.engine import decide
from nerve.segments.erase import forget
from nerve.segments.models import Segment, SegmentBuild, SegmentTimer, SegmentVersion

SAMPLE = 10
_PREVIEW_CHUNK = 2000


def problems(conn: Connection, workspace_id: str, definition: SegmentDefinition) -> list[Any]:
    """What only the workspace can tell: unknown segments and consent topics, cycles."""
    found = []
    active = {s.key: s for s in active_segments(conn, workspace_id)}
    refs = inputs(definition.where).segments
    for key in sorted(refs):
        if key != definition.key and key not in active:
            found.append({"path": "where", "reason": f"unknown segment {key!r}; known: "
                          + (", ".join(sorted(active)) or "none")})  # fmt: skip
    others = [s for k, s in active.items() if k != definition.key]
    if definition.key in refs or definition.key in _reached(others, refs):
        found.append({"path": "where", "reason": f"segment references form a cycle through "
                      f"{definition.key!r}"})  # fmt: skip
    for leaf in leaves(definition.where):
        if isinstance(leaf, ConsentCondition):
            reason = topics.problem(conn, workspace_id, leaf.channel, leaf.consent)
            if reason is not None:
                found.append({"path": "where", "reason": reason})
    return found


def _reached(segments: list[ActiveSegment], start: set[str]) -> set[str]:
    by_key = {s.key: s for s in segments}
    seen: set[str] = set()
    todo = list(start)
    while todo:
        key = todo.pop()
        if key in seen:
            continue
        seen.add(key)
        if key in by_key:
            todo.extend(by_key[key].inputs.segments)
    return seen


def checked(conn: Connection, workspace_id: str, data: Any) -> SegmentDefinition:
    definition = validate(data)
    found = problems(conn, workspace_id, definition)
    if found:
        raise InvalidSegment(found)
    return definition


def apply(conn: Connection, workspace_id: str, data: Any) -> dict[str, Any]:
    """A new version (built in the background over existing people), or the current one back
    with `unchanged` when the definition is the same."""
    definition = checked(conn, workspace_id, data)
    now = dialect_of(conn).now(conn)
    row = conn.execute(
        select(Segment).where(Segment.workspace_id == workspace_id, Segment.key == definition.key)
    ).first()
    if row is not None and row.archived_at is None:
        current = conn.scalar(
            select(SegmentVersion.definition).where(
                SegmentVersion.segment_id == row.id, SegmentVersion.version == row.active_version
            )
        )
        if current == definition.raw:
            return {"key": row.key, "version": row.active_version, "unchanged": True}
    if row is None:
        segment_id, number = new_id("seg"), 1
        conn.execute(insert(Segment).values(
            id=segment_id, workspace_id=workspace_id, key=definition.key, name=definition.name,
            description=definition.description, public=definition.public, active_version=1,
            status="building", updated_at=now,
        ))  # fmt: skip
    else:
        segment_id = row.id
        latest = select(func.max(SegmentVersion.version))
        number = (conn.scalar(latest.where(SegmentVersion.segment_id == segment_id)) or 0) + 1
        conn.execute(update(Segment).where(Segment.id == segment_id).values(
            name=definition.name, description=definition.description, public=definition.public,
            active_version=number, status="building", archived_at=None, updated_at=now,
        ))  # fmt: skip
        conn.execute(update(SegmentBuild).where(SegmentBuild.segment_id == segment_id,
                                                SegmentBuild.status == "pending")
                     .values(status="superseded", finished_at=now))  # fmt: skip
    conn.execute(insert(SegmentVersion).values(segment_id=segment_id, version=number,
                                               definition=definition.raw))  # fmt: skip
    conn.execute(insert(SegmentBuild).values(
        segment_id=segment_id, version=number, workspace_id=workspace_id, status="pending",
        cursor=None, done=0, total=identity.people_count(conn, workspace_id),
    ))  # fmt: skip
    return {"key": definition.key, "version": number, "unchanged": False}


def _segment(conn: Connection, workspace_id: str, key: str) -> Any:
    row = conn.execute(
        select(Segment).where(Segment.workspace_id == workspace_id, Segment.key == key,
                              Segment.archived_at.is_(None))
    ).first()  # fmt: skip
    if row is None:
        raise NotFound(f"no segment {key!r}")
    return row


def listed(conn: Connection, workspace_id: str) -> list[dict[str, Any]]:
    rows = conn.execute(
        select(Segment).where(Segment.workspace_id == workspace_id, Segment.archived_at.is_(None))
        .order_by(Segment.key)
    ).all()  # fmt: skip
    return [_summary(conn, row) for row in rows]


def _summary(conn: Connection, row: Any) -> dict[str, Any]:
    return {"id": row.id, "key": row.key, "name": row.name, "description": row.description,
            "public": row.public, "version": row.active_version, "status": row.status,
            "members": membership.count(conn, row.id), "created_at": row.created_at,
            "updated_at": row.updated_at}  # fmt: skip


def detail(conn: Connection, workspace_id: str, key: str) -> dict[str, Any]:
    row = _segment(conn, workspace_id, key)
    versions = conn.execute(
        select(SegmentVersion.version, SegmentVersion.definition, SegmentVersion.created_at)
        .where(SegmentVersion.segment_id == row.id).order_by(SegmentVersion.version.desc())
    ).all()  # fmt: skip
    build = conn.execute(
        select(SegmentBuild).where(SegmentBuild.segment_id == row.id,
                                   SegmentBuild.version == row.active_version)
    ).first()  # fmt: skip
    shown = None if build is None else {
        "version": build.version, "status": build.status, "done": build.done,
        "total": max(build.total, build.done), "finished_at": build.finished_at,
    }  # fmt: skip
    return _summary(conn, row) | {
        "definition": next(v.definition for v in versions if v.version == row.active_version),
        "build": shown,
        "versions": [{"version": v.version, "created_at": v.created_at} for v in versions],
    }


def members(conn: Connection, workspace_id: str, key: str, after: str | None,
            limit: int) -> dict[str, Any]:  # fmt: skip
    row = _segment(conn, workspace_id, key)
    page = membership.members_after(conn, row.id, after, limit + 1)
    return {"members": page[:limit], "next": page[limit - 1] if len(page) > limit else None}


def of_profile(conn: Connection, workspace_id: str, profile_id: str) -> list[Any]:
    person = identity.person_of(conn, workspace_id, profile_id)
    return membership.segments_of(conn, workspace_id, person)


def archive(conn: Connection, workspace_id: str, key: str) -> None:
    row = _segment(conn, workspace_id, key)
    segments = active_segments(conn, workspace_id)
    users = sorted(with_dependents(segments, [key]) - {key})
    if users:
        raise Conflict(f"segments {', '.join(users)} reference {key!r}: change them first")
    now = dialect_of(conn).now(conn)
    people = list(membership.members_after(conn, row.id, None, 10**9))
    conn.execute(update(Segment).where(Segment.id == row.id)
                 .values(archived_at=now, updated_at=now))  # fmt: skip
    conn.execute(update(SegmentBuild).where(SegmentBuild.segment_id == row.id,
                                            SegmentBuild.status == "pending")
                 .values(status="superseded", finished_at=now))  # fmt: skip
    conn.execute(delete(SegmentTimer).where(SegmentTimer.segment_id == row.id))
    if people:  # their exits logged, for the audiences that follow the change log
        forget_segment(conn, workspace_id, row.id, people, now)


def forget_segment(conn: Connection, workspace_id: str, segment_id: str, people: list[str],
                   at: Any) -> None:  # fmt: skip
    from nerve.segments.models import SegmentChange, SegmentMember

    conn.execute(insert(SegmentChange), [
        {"workspace_id": workspace_id, "segment_id": segment_id, "person_id": p,
         "change": "exited", "at": at} for p in people
    ])  # fmt: skip
    conn.execute(delete(SegmentMember).where(SegmentMember.segment_id == segment_id))


def preview(conn: Connection, workspace_id: str, data: Any) -> dict[str, Any]:
    """How many people the definition holds now, and a sample — nothing is saved."""
    definition = checked(conn, workspace_id, data)
    segments = [s for s in active_segments(conn, workspace_id) if s.key != definition.key]
    probe = ActiveSegment("preview", definition.key, definition.name, 0, definition,
                          inputs(definition.where))  # fmt: skip
    rules, now = load_rules(conn, workspace_id), dialect_of(conn).now(conn)
    count, after = 0, None
    sample: list[str] = []
    while True:
        people = identity.people_after(conn, workspace_id, after, _PREVIEW_CHUNK)
        if not people:
            break
        after = people[-1]
        members = identity.members_of(conn, people)
        answers, _ = decide(conn, workspace_id, [*segments, probe],
                            {p: {definition.key} for p in people}, members, rules, now)  # fmt: skip
        held = [p for p in people if answers[("preview", p)][0]]
        count += len(held)
        sample += held[: SAMPLE - len(sample)]
    return {"key": definition.key, "members": count, "sample": sample}


__all__ = ["apply", "archive", "detail", "forget", "listed", "members", "preview"]
