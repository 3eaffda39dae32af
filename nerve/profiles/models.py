"""What is known about each (leaf) profile: traits (current value + history) and computed
attributes. A person's view combines them over every profile merged into it (see view.py).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from nerve.db.base import Base, BigId, Json, UtcDateTime


class ProfileAttributes(Base):
    """Computed attributes of the events attached to one (leaf) profile itself."""

    __tablename__ = "profile_attributes"

    profile_id: Mapped[str] = mapped_column(
        String(32), ForeignKey("profiles.id", ondelete="CASCADE"), primary_key=True
    )
    workspace_id: Mapped[str] = mapped_column(String(32))
    first_seen: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)
    last_seen: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)
    timezone: Mapped[str | None] = mapped_column(String(64), nullable=True)
    timezone_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)
    sources: Mapped[Any] = mapped_column(Json, default=dict)
    interests: Mapped[Any] = mapped_column(Json, default=dict)


class ProfileTrait(Base):
    """The surviving value of one trait on one (leaf) profile."""

    __tablename__ = "profile_traits"

    profile_id: Mapped[str] = mapped_column(
        String(32), ForeignKey("profiles.id", ondelete="CASCADE"), primary_key=True
    )
    name: Mapped[str] = mapped_column(String(255), primary_key=True)
    workspace_id: Mapped[str] = mapped_column(String(32))
    value: Mapped[Any] = mapped_column(Json, nullable=True)
    observed_at: Mapped[datetime] = mapped_column(UtcDateTime())
    event_id: Mapped[int | None] = mapped_column(BigId, nullable=True)


class TraitHistory(Base):
    __tablename__ = "trait_history"
    __table_args__ = (Index("ix_trait_history_profile_name", "profile_id", "name"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    workspace_id: Mapped[str] = mapped_column(String(32))
    profile_id: Mapped[str] = mapped_column(
        String(32), ForeignKey("profiles.id", ondelete="CASCADE")
    )
    name: Mapped[str] = mapped_column(String(255))
    value: Mapped[Any] = mapped_column(Json, nullable=True)
    observed_at: Mapped[datetime] = mapped_column(UtcDateTime())
    event_id: Mapped[int | None] = mapped_column(BigId, nullable=True)
