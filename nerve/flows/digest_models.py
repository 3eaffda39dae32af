"""Digests: a flow step that collects one person's events over a window and lets one run go on
with all of them. One open digest per flow, environment, node and person (a partial unique
index), its items keyed so a duplicate or a redelivered event is one item."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String, text
from sqlalchemy.orm import Mapped, mapped_column

from nerve.db.base import Base, BigId, created_at_column


class Digest(Base):
    __tablename__ = "digests"
    __table_args__ = (
        Index(
            "ux_digests_open", "workspace_id", "flow", "environment", "node", "profile_id",
            unique=True,
            sqlite_where=text("status = 'open'"), postgresql_where=text("status = 'open'"),
        ),
    )  # fmt: skip

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    workspace_id: Mapped[str] = mapped_column(String(32))
    flow: Mapped[str] = mapped_column(String(100))  # the flow's name
    # A staging run records instead of sending: it must not take production's items.
    environment: Mapped[str] = mapped_column(String(16))
    node: Mapped[str] = mapped_column(String(100))
    profile_id: Mapped[str] = mapped_column(String(32))
    run_id: Mapped[str] = mapped_column(String(32))  # the run that sends it
    # open; closed (its run went on with the items); abandoned (its run ended before the
    # window closed, say at an exit: the next event opens a new digest)
    status: Mapped[str] = mapped_column(String(16))
    opened_at: Mapped[datetime] = created_at_column()
    closes_at: Mapped[datetime]
    closed_at: Mapped[datetime | None] = mapped_column(nullable=True)


class DigestItem(Base):
    __tablename__ = "digest_items"

    digest_id: Mapped[str] = mapped_column(
        String(32), ForeignKey("digests.id", ondelete="CASCADE"), primary_key=True
    )
    item_key: Mapped[str] = mapped_column(String(255), primary_key=True)
    # The event that brought the item: items are listed in the order their events arrived.
    event_id: Mapped[int] = mapped_column(BigId)
    payload: Mapped[dict[str, Any]]
    added_at: Mapped[datetime] = created_at_column()
