"""Traits (current value + history), orders seen per profile, erasure records, audit log."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Float, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from nerve.db.base import Base, Json, UtcDateTime, created_at_column
from nerve.events.models import EventId


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
    event_id: Mapped[int | None] = mapped_column(EventId, nullable=True)


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
    event_id: Mapped[int | None] = mapped_column(EventId, nullable=True)


class ProfileOrder(Base):
    """Each order counted once per workspace, even when several heads report it."""

    __tablename__ = "profile_orders"
    __table_args__ = (UniqueConstraint("workspace_id", "order_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    workspace_id: Mapped[str] = mapped_column(String(32))
    order_id: Mapped[str] = mapped_column(String(255))
    profile_id: Mapped[str] = mapped_column(
        String(32), ForeignKey("profiles.id", ondelete="CASCADE"), index=True
    )
    total: Mapped[float] = mapped_column(Float)
    currency: Mapped[str | None] = mapped_column(String(8), nullable=True)
    ordered_at: Mapped[datetime] = mapped_column(UtcDateTime())
    event_id: Mapped[int | None] = mapped_column(EventId, nullable=True)


class ErasedIdentifier(Base):
    """A keyed hash of an erased email or phone, so suppression still works after erasure."""

    __tablename__ = "erased_identifiers"

    workspace_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    type: Mapped[str] = mapped_column(String(64), primary_key=True)
    hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    erased_at: Mapped[datetime] = created_at_column()


class AuditRecord(Base):
    """Who did what to which record, and when — never the personal data itself."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    workspace_id: Mapped[str] = mapped_column(String(32), index=True)
    actor: Mapped[str] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(64))
    target: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime] = created_at_column()
