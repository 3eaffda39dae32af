"""Recommendation tables: each training run with its counts and figures, the neighbours of each
item per kind, the popular items per category, and when each workspace trains next. A run
replaces a workspace's neighbours and popular items in one transaction."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Float, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from nerve.db.base import Base, BigId, Json, UtcDateTime, created_at_column


class RecommendationRun(Base):
    """One training of a workspace's recommendations."""

    __tablename__ = "recommendation_runs"
    __table_args__ = (Index("ix_recommendation_runs_workspace", "workspace_id", "id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    workspace_id: Mapped[str] = mapped_column(String(32))
    model: Mapped[str] = mapped_column(String(32))  # which implicit model made `personal`
    status: Mapped[str] = mapped_column(String(16))  # trained | failed
    counts: Mapped[dict[str, Any]] = mapped_column(Json)  # items, people, orders, views, rows
    metrics: Mapped[dict[str, Any]] = mapped_column(Json)  # seconds per step
    error: Mapped[str | None] = mapped_column(String(1000), nullable=True)
    started_at: Mapped[datetime] = mapped_column(UtcDateTime())
    trained_at: Mapped[datetime] = created_at_column()


class ItemNeighbor(Base):
    """The `rank`-th best neighbour of a sku for one kind: bought_together, also_bought,
    also_viewed, personal (the implicit model's similar items)."""

    __tablename__ = "item_neighbors"

    workspace_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    kind: Mapped[str] = mapped_column(String(16), primary_key=True)
    sku: Mapped[str] = mapped_column(String(255), primary_key=True)
    rank: Mapped[int] = mapped_column(Integer, primary_key=True)
    neighbor_sku: Mapped[str] = mapped_column(String(255))
    score: Mapped[float] = mapped_column(Float)


class PopularItem(Base):
    """The `rank`-th bestseller lately in a category ("" for the whole shop)."""

    __tablename__ = "popular_items"

    workspace_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    category: Mapped[str] = mapped_column(String(1000), primary_key=True)
    rank: Mapped[int] = mapped_column(Integer, primary_key=True)
    sku: Mapped[str] = mapped_column(String(255))
    score: Mapped[float] = mapped_column(Float)


class RecommendationSchedule(Base):
    """When a workspace trains next: a worker claims it by moving `due_at` on (one worker
    per due time, however many run); `POST /api/v1/recommendations/train` sets it to now."""

    __tablename__ = "recommendation_schedules"

    workspace_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    due_at: Mapped[datetime] = mapped_column(UtcDateTime())
    requested_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)
