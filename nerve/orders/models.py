"""The orders table."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Float, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from nerve.db.base import Base, BigId, UtcDateTime


class Order(Base):
    """Each order counted once per workspace, even when several heads report it."""

    __tablename__ = "orders"
    __table_args__ = (UniqueConstraint("workspace_id", "order_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    workspace_id: Mapped[str] = mapped_column(String(32))
    order_id: Mapped[str] = mapped_column(String(255))
    # The (leaf) profile whose event reported the order first.
    profile_id: Mapped[str] = mapped_column(
        String(32), ForeignKey("profiles.id", ondelete="CASCADE"), index=True
    )
    total: Mapped[float] = mapped_column(Float)
    currency: Mapped[str | None] = mapped_column(String(8), nullable=True)
    ordered_at: Mapped[datetime] = mapped_column(UtcDateTime())
    event_id: Mapped[int | None] = mapped_column(BigId, nullable=True)
