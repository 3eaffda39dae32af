"""Personalization tables: slots (versions like flows: each save a new immutable version, the
latest one active) and the log of every decision shown to a visitor (impressions).

An impression names the visitor as the head sent them (anonymous id, user id) and the person
they resolved to at that moment, so conversions can be attributed later and an erasure finds
them either way.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from nerve.db.base import Base, BigId, Json, UtcDateTime, created_at_column


class Slot(Base):
    """A place on a head's page (content) or a product listing (product_list) that marketers
    fill with rules."""

    __tablename__ = "slots"
    __table_args__ = (UniqueConstraint("workspace_id", "key"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    workspace_id: Mapped[str] = mapped_column(String(32))
    key: Mapped[str] = mapped_column(String(100))
    kind: Mapped[str] = mapped_column(String(16))  # content | product_list
    active_version: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = created_at_column()
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime())


class SlotVersion(Base):
    __tablename__ = "slot_versions"

    slot_id: Mapped[str] = mapped_column(
        String(32), ForeignKey("slots.id", ondelete="CASCADE"), primary_key=True
    )
    version: Mapped[int] = mapped_column(Integer, primary_key=True)
    definition: Mapped[Any] = mapped_column(Json)
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = created_at_column()


class SlotImpression(Base):
    """One decision shown: which variant (and experiment arm) a visitor got in a slot."""

    __tablename__ = "slot_impressions"
    __table_args__ = (
        Index("ix_slot_impressions_slot", "workspace_id", "slot_key", "at"),
        Index("ix_slot_impressions_person", "person_id"),
        Index("ix_slot_impressions_anonymous", "workspace_id", "anonymous_id"),
        Index("ix_slot_impressions_user", "workspace_id", "user_id"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    workspace_id: Mapped[str] = mapped_column(String(32))
    slot_key: Mapped[str] = mapped_column(String(100))
    person_id: Mapped[str | None] = mapped_column(String(32), nullable=True)
    anonymous_id: Mapped[str | None] = mapped_column(String(255), nullable=True)
    user_id: Mapped[str | None] = mapped_column(String(255), nullable=True)
    variant: Mapped[str] = mapped_column(String(100))
    experiment: Mapped[str | None] = mapped_column(String(100), nullable=True)
    arm: Mapped[str | None] = mapped_column(String(100), nullable=True)
    at: Mapped[datetime] = mapped_column(UtcDateTime())
