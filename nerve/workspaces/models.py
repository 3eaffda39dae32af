"""Workspace and source tables."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from nerve.db.base import Base, created_at_column

SOURCE_KINDS = ("web", "app", "kiosk", "pos", "server")


class Workspace(Base):
    __tablename__ = "workspaces"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    created_at: Mapped[datetime] = created_at_column()
    # Key for hashing erased identifiers (GDPR), created on first use.
    hash_key: Mapped[str | None] = mapped_column(String(64), nullable=True)


class Source(Base):
    __tablename__ = "sources"
    __table_args__ = (UniqueConstraint("workspace_id", "name"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    workspace_id: Mapped[str] = mapped_column(
        String(32), ForeignKey("workspaces.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(16))
    # Write keys are public by design (they ship inside web pages and apps), so they are stored
    # as they are and looked up directly; they only allow sending events to this source.
    write_key: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = created_at_column()
    # Set when the write key is revoked: the source's events are refused until it is rotated.
    write_key_revoked_at: Mapped[datetime | None] = mapped_column(nullable=True)
