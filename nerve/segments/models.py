"""Segments tables: the definitions and their versions, who is a member now, the append-only
log of entries and exits, the timers that flip membership when a time window expires, and the
background builds of a new version over existing people.

A member is a person: the root profile id of a merge tree (`event.person_id`).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from nerve.db.base import Base, BigId, Json, UtcDateTime, created_at_column


class Segment(Base):
    __tablename__ = "segments"
    __table_args__ = (UniqueConstraint("workspace_id", "key"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    workspace_id: Mapped[str] = mapped_column(String(32), index=True)
    key: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(255))
    description: Mapped[str | None] = mapped_column(Text, nullable=True)
    # May the personalization API show it to the heads?
    public: Mapped[bool] = mapped_column(Boolean, default=False)
    active_version: Mapped[int] = mapped_column(Integer)
    # building (a background build of the active version is filling it) | ready
    status: Mapped[str] = mapped_column(String(16))
    # Archived segments keep their history but have no members and are evaluated no more.
    archived_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)
    created_at: Mapped[datetime] = created_at_column()
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime())


class SegmentVersion(Base):
    __tablename__ = "segment_versions"

    segment_id: Mapped[str] = mapped_column(
        String(32), ForeignKey("segments.id", ondelete="CASCADE"), primary_key=True
    )
    version: Mapped[int] = mapped_column(Integer, primary_key=True)
    definition: Mapped[dict[str, Any]] = mapped_column(Json)
    created_at: Mapped[datetime] = created_at_column()


class SegmentMember(Base):
    __tablename__ = "segment_members"
    __table_args__ = (Index("ix_segment_members_person", "workspace_id", "person_id"),)

    segment_id: Mapped[str] = mapped_column(
        String(32), ForeignKey("segments.id", ondelete="CASCADE"), primary_key=True
    )
    person_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    workspace_id: Mapped[str] = mapped_column(String(32))
    entered_at: Mapped[datetime] = mapped_column(UtcDateTime())


class SegmentChange(Base):
    """Append-only: other capabilities (audience sync) follow it with a cursor on `id`."""

    __tablename__ = "segment_changes"
    __table_args__ = (
        Index("ix_segment_changes_cursor", "segment_id", "id"),
        Index("ix_segment_changes_person", "workspace_id", "person_id"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    workspace_id: Mapped[str] = mapped_column(String(32))
    segment_id: Mapped[str] = mapped_column(
        String(32), ForeignKey("segments.id", ondelete="CASCADE")
    )
    person_id: Mapped[str] = mapped_column(String(32))
    # entered | exited
    change: Mapped[str] = mapped_column(String(8))
    at: Mapped[datetime] = mapped_column(UtcDateTime())


class SegmentTimer(Base):
    """The moment a person's result for a segment could change by time alone (a counted event
    leaves its window): one per pair, replaced on each evaluation, claimed by the worker."""

    __tablename__ = "segment_timers"
    __table_args__ = (
        Index("ix_segment_timers_due", "due_at"),
        Index("ix_segment_timers_person", "workspace_id", "person_id"),
    )

    segment_id: Mapped[str] = mapped_column(
        String(32), ForeignKey("segments.id", ondelete="CASCADE"), primary_key=True
    )
    person_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    workspace_id: Mapped[str] = mapped_column(String(32))
    due_at: Mapped[datetime] = mapped_column(UtcDateTime())


class SegmentBuild(Base):
    """A version evaluated over every existing person in chunks; `cursor` is the last person id
    done, so a build stopped by a restart resumes where it was."""

    __tablename__ = "segment_builds"
    __table_args__ = (Index("ix_segment_builds_status", "status"),)

    segment_id: Mapped[str] = mapped_column(
        String(32), ForeignKey("segments.id", ondelete="CASCADE"), primary_key=True
    )
    version: Mapped[int] = mapped_column(Integer, primary_key=True)
    workspace_id: Mapped[str] = mapped_column(String(32))
    # pending | done | superseded (a newer version started its own build)
    status: Mapped[str] = mapped_column(String(16))
    cursor: Mapped[str | None] = mapped_column(String(32), nullable=True)
    done: Mapped[int] = mapped_column(Integer, default=0)
    total: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = created_at_column()
    finished_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)
