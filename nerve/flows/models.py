"""Flow tables: flows and their immutable versions, runs with their step history, the
durable task queue (timers and actions), trigger entries and dead letters."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, Integer, String, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from nerve.db.base import Base, BigId, Json, UtcDateTime, created_at_column


class Flow(Base):
    __tablename__ = "flows"
    __table_args__ = (UniqueConstraint("workspace_id", "name"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    workspace_id: Mapped[str] = mapped_column(String(32), index=True)
    name: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = created_at_column()


class FlowVersion(Base):
    """Immutable: a publish creates a new version; runs keep the version they started on."""

    __tablename__ = "flow_versions"
    __table_args__ = (UniqueConstraint("flow_id", "version"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    workspace_id: Mapped[str] = mapped_column(String(32))
    flow_id: Mapped[str] = mapped_column(String(32), ForeignKey("flows.id", ondelete="CASCADE"))
    version: Mapped[int] = mapped_column(Integer)
    environment: Mapped[str] = mapped_column(String(16))  # staging | production
    definition: Mapped[Any] = mapped_column(Json)
    published_at: Mapped[datetime] = created_at_column()


class FlowRun(Base):
    __tablename__ = "flow_runs"
    __table_args__ = (
        Index("ix_flow_runs_profile_status", "workspace_id", "profile_id", "status"),
        Index("ix_flow_runs_flow", "flow_id", "started_at"),
        # Pruning finds ended runs by age (nerve/flows/retention.py).
        Index(
            "ix_flow_runs_ended",
            "ended_at",
            sqlite_where=text("ended_at IS NOT NULL"),
            postgresql_where=text("ended_at IS NOT NULL"),
        ),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    workspace_id: Mapped[str] = mapped_column(String(32))
    flow_id: Mapped[str] = mapped_column(String(32))
    version_id: Mapped[str] = mapped_column(String(32))
    environment: Mapped[str] = mapped_column(String(16))
    profile_id: Mapped[str] = mapped_column(String(32))
    trigger_key: Mapped[str] = mapped_column(String(255))
    # active (a task is due or running), waiting (for an event), completed, exited, failed
    status: Mapped[str] = mapped_column(String(16))
    node: Mapped[str | None] = mapped_column(String(64), nullable=True)
    # Bumped on every transition: a timer or event that expected an older state is stale.
    state_version: Mapped[int] = mapped_column(Integer, default=0)
    waiting_for: Mapped[Any] = mapped_column(Json, nullable=True)
    state: Mapped[Any] = mapped_column(Json)
    outcome: Mapped[str | None] = mapped_column(String(32), nullable=True)
    started_at: Mapped[datetime] = created_at_column()
    ended_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)


class FlowEntry(Base):
    """Who entered which flow under which key: duplicate triggers start one run, also after
    old runs are cleaned up."""

    __tablename__ = "flow_entries"

    flow_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    environment: Mapped[str] = mapped_column(String(16), primary_key=True)
    profile_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    entry_key: Mapped[str] = mapped_column(String(255), primary_key=True)
    workspace_id: Mapped[str] = mapped_column(String(32))
    run_id: Mapped[str] = mapped_column(String(32))
    entered_at: Mapped[datetime] = created_at_column()


class FlowStep(Base):
    """Everything a run did: entered, waited, branched, attempt, result, error."""

    __tablename__ = "flow_steps"
    __table_args__ = (Index("ix_flow_steps_run", "run_id", "id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    workspace_id: Mapped[str] = mapped_column(String(32))
    run_id: Mapped[str] = mapped_column(String(32))
    node: Mapped[str | None] = mapped_column(String(64), nullable=True)
    kind: Mapped[str] = mapped_column(String(32))
    detail: Mapped[Any] = mapped_column(Json)
    at: Mapped[datetime] = created_at_column()


class Task(Base):
    """A durable unit of work: continue a run at a node when due, run an action, time out."""

    __tablename__ = "tasks"
    __table_args__ = (
        Index(
            "ix_tasks_due",
            "due_at",
            sqlite_where=text("status = 'pending'"),
            postgresql_where=text("status = 'pending'"),
        ),
        Index("ix_tasks_run", "run_id"),
        # The rescuer's scan: only tasks currently leased.
        Index(
            "ix_tasks_leased",
            "lease_until",
            sqlite_where=text("status = 'running'"),
            postgresql_where=text("status = 'running'"),
        ),
        Index(
            "ix_tasks_finished",
            "created_at",
            sqlite_where=text("status IN ('done', 'cancelled')"),
            postgresql_where=text("status IN ('done', 'cancelled')"),
        ),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    workspace_id: Mapped[str] = mapped_column(String(32))
    run_id: Mapped[str] = mapped_column(String(32))
    kind: Mapped[str] = mapped_column(String(16))  # advance | action | timeout
    node: Mapped[str] = mapped_column(String(64))
    expected_version: Mapped[int] = mapped_column(Integer)
    due_at: Mapped[datetime] = mapped_column(UtcDateTime())
    status: Mapped[str] = mapped_column(String(16))  # pending | running | done | dead
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    lease_until: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)
    owner: Mapped[str | None] = mapped_column(String(64), nullable=True)
    idempotency_key: Mapped[str] = mapped_column(String(64))
    last_error: Mapped[Any] = mapped_column(Json, nullable=True)
    created_at: Mapped[datetime] = created_at_column()


class DeadLetter(Base):
    __tablename__ = "dead_letters"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    workspace_id: Mapped[str] = mapped_column(String(32), index=True)
    task_id: Mapped[int] = mapped_column(BigId)
    run_id: Mapped[str] = mapped_column(String(32))
    node: Mapped[str] = mapped_column(String(64))
    error: Mapped[Any] = mapped_column(Json)
    attempts: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = created_at_column()
    replayed_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)


class ShopEvent(Base):
    """A fact about the shop, not a person (a price changed, stock ran low), that flows can
    trigger on: written by its capability in the transaction of the change (an outbox), routed
    to the flows it triggers once (nerve/flows/shop_events.py)."""

    __tablename__ = "shop_events"
    __table_args__ = (
        # The router's queue: only what is not routed yet.
        Index(
            "ix_shop_events_unrouted",
            "id",
            sqlite_where=text("routed_at IS NULL"),
            postgresql_where=text("routed_at IS NULL"),
        ),
        Index("ix_shop_events_workspace", "workspace_id", "id"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    workspace_id: Mapped[str] = mapped_column(String(32))
    kind: Mapped[str] = mapped_column(String(32))  # the trigger type: catalog
    name: Mapped[str] = mapped_column(String(64))  # price_changed, stock_below_minimum, ...
    properties: Mapped[Any] = mapped_column(Json)
    occurred_at: Mapped[datetime] = created_at_column()
    routed_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)
