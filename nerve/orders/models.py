"""The orders tables: each order once per workspace, its lines, and its status history."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Boolean, ForeignKey, Integer, String, UniqueConstraint, false
from sqlalchemy.orm import Mapped, mapped_column

from nerve.db.base import Base, BigId, Json, UtcDateTime, created_at_column
from nerve.db.money import Money


class Order(Base):
    """Each order counted once per workspace, however many heads and shop webhooks report it:
    later reports fill what earlier ones lacked."""

    __tablename__ = "orders"
    __table_args__ = (UniqueConstraint("workspace_id", "order_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    workspace_id: Mapped[str] = mapped_column(String(32))
    order_id: Mapped[str] = mapped_column(String(255))
    # The (leaf) profile of the order's event, null until identity attaches it (an order from
    # a shop webhook reaches its person through its `Order Completed` event).
    profile_id: Mapped[str | None] = mapped_column(
        String(32), ForeignKey("profiles.id", ondelete="CASCADE"), index=True, nullable=True
    )
    # Who the shop says bought it: what the order's own events name their person by.
    user_id: Mapped[str | None] = mapped_column(String(255), nullable=True)
    anonymous_id: Mapped[str | None] = mapped_column(String(255), nullable=True)
    email: Mapped[str | None] = mapped_column(String(320), nullable=True)
    phone: Mapped[str | None] = mapped_column(String(64), nullable=True)
    currency: Mapped[str | None] = mapped_column(String(8), nullable=True)
    total: Mapped[Decimal | None] = mapped_column(Money(), nullable=True)
    subtotal: Mapped[Decimal | None] = mapped_column(Money(), nullable=True)
    tax: Mapped[Decimal | None] = mapped_column(Money(), nullable=True)
    shipping: Mapped[Decimal | None] = mapped_column(Money(), nullable=True)
    discount: Mapped[Decimal | None] = mapped_column(Money(), nullable=True)
    coupons: Mapped[list[str]] = mapped_column(Json, default=list)
    b2b: Mapped[bool] = mapped_column(Boolean, server_default=false(), default=False)
    preorder: Mapped[bool] = mapped_column(Boolean, server_default=false(), default=False)
    cart_id: Mapped[str | None] = mapped_column(String(255), nullable=True)
    # Names of the sources that reported it: heads ("web") and connectors ("shopify:main").
    sources: Mapped[list[str]] = mapped_column(Json, default=list)
    # Derived from the status history (latest by time, ties by lifecycle): kept for reading.
    status: Mapped[str] = mapped_column(String(32), default="placed", server_default="placed")
    placed_at: Mapped[datetime] = mapped_column(UtcDateTime())
    event_id: Mapped[int | None] = mapped_column(BigId, nullable=True)
    created_at: Mapped[datetime] = created_at_column()


class OrderItem(Base):
    """A line item of an order, in the order's currency."""

    __tablename__ = "order_lines"
    __table_args__ = (UniqueConstraint("order_ref", "position"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    order_ref: Mapped[int] = mapped_column(
        Integer, ForeignKey("orders.id", ondelete="CASCADE"), index=True
    )
    position: Mapped[int] = mapped_column(Integer)
    sku: Mapped[str | None] = mapped_column(String(255), nullable=True)
    product_id: Mapped[str | None] = mapped_column(String(255), nullable=True)
    name: Mapped[str | None] = mapped_column(String(1000), nullable=True)
    quantity: Mapped[int] = mapped_column(Integer)
    price: Mapped[Decimal | None] = mapped_column(Money(), nullable=True)
    line_total: Mapped[Decimal | None] = mapped_column(Money(), nullable=True)


class OrderStatus(Base):
    """One status fact with its time. Keyed by the shop's order id, not the row: a webhook may
    report `paid` before the order itself, and the fact waits for it (`announced` false)."""

    __tablename__ = "order_statuses"
    __table_args__ = (UniqueConstraint("workspace_id", "order_id", "status", "at"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    workspace_id: Mapped[str] = mapped_column(String(32))
    order_id: Mapped[str] = mapped_column(String(255))
    status: Mapped[str] = mapped_column(String(32))
    at: Mapped[datetime] = mapped_column(UtcDateTime())
    source: Mapped[str] = mapped_column(String(255))
    detail: Mapped[dict[str, Any]] = mapped_column(Json, default=dict)
    # Its event (order_paid, ...) is recorded: at once for a known order, else on its arrival.
    announced: Mapped[bool] = mapped_column(Boolean, server_default=false(), default=False)
    recorded_at: Mapped[datetime] = created_at_column()
