"""Personal data in segments: which segments a person is in, their entries and exits, and the
timers of their windows. Erasure removes the person from every segment."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, select

from nerve.db.base import utcnow
from nerve.privacy.subject import PersonalData, Subject
from nerve.segments.erase import erase
from nerve.segments.models import Segment, SegmentChange, SegmentMember


def _export(conn: Connection, subject: Subject) -> dict[str, Any]:
    ids = subject.profile_ids
    members = conn.execute(
        select(Segment.key, Segment.name, SegmentMember.entered_at)
        .join(Segment, Segment.id == SegmentMember.segment_id)
        .where(SegmentMember.workspace_id == subject.workspace_id,
               SegmentMember.person_id.in_(ids))
        .order_by(Segment.key)
    )  # fmt: skip
    changes = conn.execute(
        select(Segment.key, SegmentChange.change, SegmentChange.at)
        .join(Segment, Segment.id == SegmentChange.segment_id)
        .where(SegmentChange.workspace_id == subject.workspace_id,
               SegmentChange.person_id.in_(ids))
        .order_by(SegmentChange.id)
    )  # fmt: skip
    return {
        "segments": [{"key": r.key, "name": r.name, "entered_at": r.entered_at} for r in members],
        "changes": [{"segment": r.key, "change": r.change, "at": r.at} for r in changes],
    }


def _erase(conn: Connection, subject: Subject) -> None:
    erase(conn, subject.workspace_id, subject.profile_ids, utcnow())


SEGMENTS = PersonalData(
    "segments", ("segment_members", "segment_changes", "segment_timers"), erase=_erase,
    export=_export,
)  # fmt: skip
