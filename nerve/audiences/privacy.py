"""Personal data in audience sync: which audiences a person was sent to as a member (no
identifier and no hash is kept). An erasure forgets it; the platform's copy is not reachable
from here once the identifiers are gone (docs/segments.md, "Audience sync")."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, delete, select

from nerve.audiences.models import AudienceMember, AudienceSync
from nerve.privacy.subject import PersonalData, Subject


def _where(subject: Subject) -> list[Any]:
    return [AudienceMember.workspace_id == subject.workspace_id,
            AudienceMember.person_id.in_(subject.profile_ids)]  # fmt: skip


def _export(conn: Connection, subject: Subject) -> list[dict[str, Any]]:
    rows = conn.execute(
        select(AudienceSync.name, AudienceSync.segment_key, AudienceMember.added_at)
        .join(AudienceSync, AudienceSync.id == AudienceMember.sync_id)
        .where(*_where(subject))
        .order_by(AudienceSync.name)
    )
    return [{"audience": r.name, "segment": r.segment_key, "added_at": r.added_at} for r in rows]


def _erase(conn: Connection, subject: Subject) -> None:
    conn.execute(delete(AudienceMember).where(*_where(subject)))


AUDIENCE_MEMBERS = PersonalData(
    "audience_members", ("audience_members",), erase=_erase, export=_export
)
