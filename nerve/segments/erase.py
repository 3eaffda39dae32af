"""Take people out of every segment: a merged person (who is no person any more) and an
erased one. A merge logs their exits (audience sync removes them downstream); an erasure
deletes the log of their entries and exits too."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import Connection, delete, insert, select

from nerve.segments.models import SegmentChange, SegmentMember, SegmentTimer


def forget(
    conn: Connection, workspace_id: str, people: Sequence[str], at: datetime, *, log_exit: bool
) -> None:
    if not people:
        return
    ids = list(people)
    where = (SegmentMember.workspace_id == workspace_id, SegmentMember.person_id.in_(ids))
    if log_exit:
        left = conn.execute(select(SegmentMember.segment_id, SegmentMember.person_id).where(*where))
        rows = [{"workspace_id": workspace_id, "segment_id": s, "person_id": p,
                 "change": "exited", "at": at} for s, p in left]  # fmt: skip
        if rows:
            conn.execute(insert(SegmentChange), rows)
    conn.execute(delete(SegmentMember).where(*where))
    conn.execute(
        delete(SegmentTimer).where(
            SegmentTimer.workspace_id == workspace_id, SegmentTimer.person_id.in_(ids)
        )
    )


def erase(conn: Connection, workspace_id: str, people: Sequence[str], at: datetime) -> None:
    forget(conn, workspace_id, people, at, log_exit=False)
    conn.execute(
        delete(SegmentChange).where(
            SegmentChange.workspace_id == workspace_id, SegmentChange.person_id.in_(list(people))
        )
    )
