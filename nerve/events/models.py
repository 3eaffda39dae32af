"""The events table. Columns that queries filter on are lifted out of the Segment payload."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Index, String, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from nerve.db.base import Base, BigId, JsonDocument, UtcDateTime


class Event(Base):
    __tablename__ = "events"
    __table_args__ = (
        # Deduplication: the SDKs retry, a resent message is stored once per source.
        UniqueConstraint("source_id", "message_id"),
        Index("ix_events_workspace_user", "workspace_id", "user_id"),
        Index("ix_events_workspace_anonymous", "workspace_id", "anonymous_id"),
        Index("ix_events_workspace_event_name", "workspace_id", "event"),
        Index("ix_events_profile_timestamp", "profile_id", "timestamp"),
        # The identity resolver's queue: small, because resolved events leave it.
        Index(
            "ix_events_unresolved",
            "id",
            sqlite_where=text("profile_id IS NULL"),
            postgresql_where=text("profile_id IS NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    workspace_id: Mapped[str] = mapped_column(String(32))
    source_id: Mapped[str] = mapped_column(String(32))
    message_id: Mapped[str] = mapped_column(String(255))
    type: Mapped[str] = mapped_column(String(16))
    event: Mapped[str | None] = mapped_column(String(255), nullable=True)
    user_id: Mapped[str | None] = mapped_column(String(255), nullable=True)
    anonymous_id: Mapped[str | None] = mapped_column(String(255), nullable=True)
    timestamp: Mapped[datetime] = mapped_column(UtcDateTime())
    received_at: Mapped[datetime] = mapped_column(UtcDateTime())
    payload: Mapped[Any] = mapped_column(JsonDocument())
    # The (leaf) profile the identity resolver attached the event to; NULL until resolved.
    profile_id: Mapped[str | None] = mapped_column(String(32), nullable=True)
