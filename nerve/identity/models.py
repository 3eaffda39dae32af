"""Profiles form merge trees; identifiers belong to exactly one (leaf) profile.

A merge never moves data: the merged profile points at the survivor (`merged_into`) and every
profile carries the root of its tree (`cluster_id`) — the person. Events and identifiers keep
the profile they were attached to, so an unmerge only cuts the edge and everything goes back by
itself. What is known about a profile (traits, computed attributes) belongs to nerve/profiles;
this is only the graph.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from nerve.db.base import Base, BigId, Json, UtcDateTime, created_at_column


class Profile(Base):
    __tablename__ = "profiles"
    __table_args__ = (Index("ix_profiles_cluster", "cluster_id"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    workspace_id: Mapped[str] = mapped_column(String(32), index=True)
    merged_into: Mapped[str | None] = mapped_column(String(32), nullable=True, index=True)
    cluster_id: Mapped[str] = mapped_column(String(32))
    created_at: Mapped[datetime] = created_at_column()


class Identifier(Base):
    __tablename__ = "identifiers"
    __table_args__ = (UniqueConstraint("workspace_id", "type", "value"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    workspace_id: Mapped[str] = mapped_column(String(32))
    type: Mapped[str] = mapped_column(String(64))
    value: Mapped[str] = mapped_column(String(255))
    profile_id: Mapped[str] = mapped_column(
        String(32), ForeignKey("profiles.id", ondelete="CASCADE"), index=True
    )
    created_at: Mapped[datetime] = created_at_column()


class Merge(Base):
    """The merge log: merges, refused merges and device re-links, each with its reason."""

    __tablename__ = "merges"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    workspace_id: Mapped[str] = mapped_column(String(32), index=True)
    kind: Mapped[str] = mapped_column(String(16))  # merged | rejected | relinked | unmerged
    survivor_id: Mapped[str] = mapped_column(String(32), index=True)
    merged_id: Mapped[str] = mapped_column(String(32), index=True)
    event_id: Mapped[int | None] = mapped_column(BigId, nullable=True)
    rule: Mapped[str] = mapped_column(String(64))
    reason: Mapped[str] = mapped_column(String(500))
    details: Mapped[Any] = mapped_column(Json, default=dict)
    created_at: Mapped[datetime] = created_at_column()
    undone_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)


class IdentityRules(Base):
    """Per-workspace merge rules (see nerve/identity/rules.py for the defaults)."""

    __tablename__ = "identity_rules"

    workspace_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    rules: Mapped[Any] = mapped_column(Json)
