"""Audience sync tables: each sync of a segment to a destination with its cursors and counts,
and who the destination was sent as a member (so removals go only to people once added)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from nerve.db.base import Base, BigId, Json, UtcDateTime, created_at_column


class AudienceSync(Base):
    """One segment kept in sync with one destination. `phase` says what the worker does next:
    `initial` pages through the members there were when it was made (`member_cursor`, the last
    person id sent), then `following` reads the segment's change log after `change_cursor`."""

    __tablename__ = "audience_syncs"
    __table_args__ = (
        UniqueConstraint("workspace_id", "name"),
        Index("ix_audience_syncs_due", "status", "next_attempt_at"),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    workspace_id: Mapped[str] = mapped_column(String(32), index=True)
    name: Mapped[str] = mapped_column(String(64))
    segment_id: Mapped[str] = mapped_column(String(32))
    segment_key: Mapped[str] = mapped_column(String(64))
    destination: Mapped[str] = mapped_column(String(32))  # webhook | csv | a connector's kind
    # What the destination needs beside the batch ({"endpoint": "ads-bridge"}); no secret here.
    config: Mapped[dict[str, Any]] = mapped_column(Json)
    consent_topic: Mapped[str | None] = mapped_column(String(64), nullable=True)
    status: Mapped[str] = mapped_column(String(16))  # active | paused | failed
    phase: Mapped[str] = mapped_column(String(16))  # initial | following
    member_cursor: Mapped[str | None] = mapped_column(String(32), nullable=True)
    change_cursor: Mapped[int] = mapped_column(BigId)
    # When the next pass of the consent check over the sent members starts, and where it is.
    recheck_at: Mapped[datetime] = mapped_column(UtcDateTime())
    recheck_cursor: Mapped[str | None] = mapped_column(String(32), nullable=True)
    added: Mapped[int] = mapped_column(Integer, default=0)
    removed: Mapped[int] = mapped_column(Integer, default=0)
    skipped_no_consent: Mapped[int] = mapped_column(Integer, default=0)
    skipped_no_identifier: Mapped[int] = mapped_column(Integer, default=0)
    dead_batches: Mapped[int] = mapped_column(Integer, default=0)
    # Retries of the batch in hand: how many so far, and not before when.
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UtcDateTime())
    # A worker holds the sync while it sends a batch, until then (a crashed one's hold ends).
    leased_until: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)
    last_synced_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)
    last_error: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[datetime] = created_at_column()
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime())


class AudienceMember(Base):
    """A person the destination accepted as a member (an add), until it accepted their removal.
    No identifier and no hash is kept: removals hash the person's identifiers again."""

    __tablename__ = "audience_members"
    __table_args__ = (Index("ix_audience_members_person", "workspace_id", "person_id"),)

    sync_id: Mapped[str] = mapped_column(
        String(32), ForeignKey("audience_syncs.id", ondelete="CASCADE"), primary_key=True
    )
    person_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    workspace_id: Mapped[str] = mapped_column(String(32))
    added_at: Mapped[datetime] = mapped_column(UtcDateTime())
