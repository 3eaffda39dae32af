"""Who is in which segment, for the other capabilities (personalization, broadcasts, audience
sync): read functions over the members table and the append-only change log.

Archived segments are not found by key and have no members.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, func, select

from nerve.segments.models import Segment, SegmentChange, SegmentMember


@dataclass(frozen=True)
class SegmentRef:
    id: str
    key: str
    name: str
    public: bool


@dataclass(frozen=True)
class Change:
    id: int
    person_id: str
    change: str  # entered | exited
    at: datetime


def segment_by_key(conn: Connection, workspace_id: str, key: str) -> SegmentRef | None:
    row = conn.execute(
        select(Segment.id, Segment.key, Segment.name, Segment.public).where(
            Segment.workspace_id == workspace_id,
            Segment.key == key,
            Segment.archived_at.is_(None),
        )
    ).first()
    return SegmentRef(row.id, row.key, row.name, row.public) if row else None


def segments_of(conn: Connection, workspace_id: str, person_id: str) -> list[SegmentRef]:
    """The segments a person is in now, sorted by key."""
    rows = conn.execute(
        select(Segment.id, Segment.key, Segment.name, Segment.public)
        .join(SegmentMember, SegmentMember.segment_id == Segment.id)
        .where(
            SegmentMember.workspace_id == workspace_id,
            SegmentMember.person_id == person_id,
            Segment.archived_at.is_(None),
        )
        .order_by(Segment.key)
    )
    return [SegmentRef(r.id, r.key, r.name, r.public) for r in rows]


def is_member(conn: Connection, segment_id: str, person_id: str) -> bool:
    return (
        conn.execute(
            select(SegmentMember.person_id).where(
                SegmentMember.segment_id == segment_id, SegmentMember.person_id == person_id
            )
        ).first()
        is not None
    )


def count(conn: Connection, segment_id: str) -> int:
    return int(
        conn.execute(
            select(func.count())
            .select_from(SegmentMember)
            .where(SegmentMember.segment_id == segment_id)
        ).scalar_one()
    )


def members_after(conn: Connection, segment_id: str, after: str | None, limit: int) -> list[str]:
    """Member person ids in ascending order, those greater than `after` (a cursor)."""
    query = select(SegmentMember.person_id).where(SegmentMember.segment_id == segment_id)
    if after is not None:
        query = query.where(SegmentMember.person_id > after)
    return list(conn.execute(query.order_by(SegmentMember.person_id).limit(limit)).scalars())


def changes_after(conn: Connection, segment_id: str, after_id: int, limit: int) -> list[Change]:
    """Entries and exits logged after the change `after_id`, oldest first."""
    rows = conn.execute(
        select(SegmentChange.id, SegmentChange.person_id, SegmentChange.change, SegmentChange.at)
        .where(SegmentChange.segment_id == segment_id, SegmentChange.id > after_id)
        .order_by(SegmentChange.id)
        .limit(limit)
    )
    return [Change(r.id, r.person_id, r.change, r.at) for r in rows]
