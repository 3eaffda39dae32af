"""Carts tables: one open cart per person, its lines with the price they were added at, and the
log of carts merged into another when identity linked their owners.

A cart belongs to the identifier it was opened under (`anonymous_id:A`, `user_id:U`), not to a
profile: the app adds items before any tracking event made a profile for its device, and
whoever that identifier resolves to in the identity graph owns the cart from then on.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import ForeignKey, Index, Integer, String, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from nerve.db.base import Base, Json, UtcDateTime, created_at_column
from nerve.db.money import Money


class Cart(Base):
    __tablename__ = "carts"
    __table_args__ = (
        # One open cart per owner: two heads opening a new customer's first cart at once
        # make one (the second insert waits, fails and reads the first's; store.create).
        Index(
            "ux_carts_open_owner",
            "workspace_id",
            "identifier_type",
            "identifier_value",
            unique=True,
            sqlite_where=text("status = 'open'"),
            postgresql_where=text("status = 'open'"),
        ),
        Index("ix_carts_owner", "workspace_id", "identifier_type", "identifier_value", "status"),
        UniqueConstraint("workspace_id", "external_id"),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    workspace_id: Mapped[str] = mapped_column(String(32))
    identifier_type: Mapped[str] = mapped_column(String(64))
    identifier_value: Mapped[str] = mapped_column(String(255))
    # open | merged (into `merged_into`) | ordered (closed by `order_id`)
    status: Mapped[str] = mapped_column(String(16))
    merged_into: Mapped[str | None] = mapped_column(String(32), nullable=True)
    order_id: Mapped[str | None] = mapped_column(String(255), nullable=True)
    # The shop's own id of this cart (a Shopify checkout token), when a connector syncs it.
    external_id: Mapped[str | None] = mapped_column(String(255), nullable=True)
    created_at: Mapped[datetime] = created_at_column()
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime())
    closed_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)


class CartLine(Base):
    __tablename__ = "cart_lines"
    __table_args__ = (UniqueConstraint("cart_id", "sku"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    cart_id: Mapped[str] = mapped_column(String(32), ForeignKey("carts.id", ondelete="CASCADE"))
    sku: Mapped[str] = mapped_column(String(255))
    quantity: Mapped[int] = mapped_column(Integer)
    # The snapshot taken when the line was added: what the customer saw.
    product_id: Mapped[str | None] = mapped_column(String(255), nullable=True)
    name: Mapped[str | None] = mapped_column(String(500), nullable=True)
    price: Mapped[Decimal | None] = mapped_column(Money(), nullable=True)
    currency: Mapped[str | None] = mapped_column(String(8), nullable=True)
    added_at: Mapped[datetime] = mapped_column(UtcDateTime())


class CartMerge(Base):
    """A cart merged into another when identity linked their owners (a login)."""

    __tablename__ = "cart_merges"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    workspace_id: Mapped[str] = mapped_column(String(32), index=True)
    survivor_id: Mapped[str] = mapped_column(
        String(32), ForeignKey("carts.id", ondelete="CASCADE"), index=True
    )
    merged_id: Mapped[str] = mapped_column(
        String(32), ForeignKey("carts.id", ondelete="CASCADE"), index=True
    )
    # What moved: [{"sku", "quantity"}]
    lines: Mapped[list[dict[str, Any]]] = mapped_column(Json)
    merged_at: Mapped[datetime] = created_at_column()
