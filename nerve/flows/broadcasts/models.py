"""The broadcasts table: one fan-out of a flow over a segment's members, with its cursor."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Index, Integer, String, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from nerve.db.base import Base, Json, UtcDateTime, created_at_column


class Broadcast(Base):
    """A flow started for every member of a segment. The worker walks the members in person-id
    order from `cursor`, a chunk per transaction; `cause` (unique per flow and environment)
    makes one catalog event or one schedule occurrence one broadcast."""

    __tablename__ = "broadcasts"
    __table_args__ = (
        UniqueConstraint("flow_id", "environment", "cause"),
        Index("ix_broadcasts_workspace", "workspace_id", "created_at"),
        # The worker's queue: only broadcasts that still have work.
        Index(
            "ix_broadcasts_due",
            "next_chunk_at",
            sqlite_where=text("status IN ('scheduled', 'running')"),
            postgresql_where=text("status IN ('scheduled', 'running')"),
        ),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    workspace_id: Mapped[str] = mapped_column(String(32))
    flow_id: Mapped[str] = mapped_column(String(32))
    version_id: Mapped[str] = mapped_column(String(32))
    environment: Mapped[str] = mapped_column(String(16))
    segment_id: Mapped[str] = mapped_column(String(32))
    # scheduled | running | paused | cancelled | done
    status: Mapped[str] = mapped_column(String(16))
    due_at: Mapped[datetime] = mapped_column(UtcDateTime())
    # When the worker may take the next chunk: the throttle, shared by every worker.
    next_chunk_at: Mapped[datetime] = mapped_column(UtcDateTime())
    cursor: Mapped[str | None] = mapped_column(String(32), nullable=True)  # last person id
    audience: Mapped[int | None] = mapped_column(Integer, nullable=True)  # size when started
    entered: Mapped[int] = mapped_column(Integer, default=0)
    skipped: Mapped[int] = mapped_column(Integer, default=0)
    # broadcast:<id> (started by hand), schedule:<occurrence>, shop_event:<id>
    cause: Mapped[str] = mapped_column(String(64))
    trigger: Mapped[Any] = mapped_column(Json)  # what the runs' conditions see as `trigger`
    created_by: Mapped[str | None] = mapped_column(String(64), nullable=True)
    created_at: Mapped[datetime] = created_at_column()
    started_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)
    finished_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)
