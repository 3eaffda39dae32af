"""Catalog tables: products (one row per sku, a variant; `product_id` groups the variants),
stock per sku and location, and the progress of file imports so a re-run resumes."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from nerve.db.base import Base, Json, UtcDateTime, created_at_column
from nerve.db.money import Money


class Product(Base):
    """A sku as the shop sells it. Amounts are exact (Money) with the currency beside them."""

    __tablename__ = "products"
    __table_args__ = (Index("ix_products_product", "workspace_id", "product_id"),)

    workspace_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    sku: Mapped[str] = mapped_column(String(255), primary_key=True)
    product_id: Mapped[str] = mapped_column(String(255))
    gtin: Mapped[str | None] = mapped_column(String(14), nullable=True)
    name: Mapped[str] = mapped_column(String(1000))
    brand: Mapped[str | None] = mapped_column(String(255), nullable=True)
    # The path from the root, " > " between levels: "Apparel > Shirts > T-Shirts".
    category: Mapped[str | None] = mapped_column(String(1000), nullable=True)
    price: Mapped[Decimal] = mapped_column(Money())
    currency: Mapped[str] = mapped_column(String(3))
    compare_at_price: Mapped[Decimal | None] = mapped_column(Money(), nullable=True)
    cost: Mapped[Decimal | None] = mapped_column(Money(), nullable=True)
    url: Mapped[str | None] = mapped_column(String(2000), nullable=True)
    image_url: Mapped[str | None] = mapped_column(String(2000), nullable=True)
    image_alt: Mapped[str | None] = mapped_column(Text, nullable=True)
    status: Mapped[str] = mapped_column(String(16))  # active | draft | archived
    tags: Mapped[Any] = mapped_column(Json)
    collections: Mapped[Any] = mapped_column(Json)
    attributes: Mapped[Any] = mapped_column(Json)
    usage_days: Mapped[int | None] = mapped_column(Integer, nullable=True)
    created_at: Mapped[datetime] = created_at_column()
    updated_at: Mapped[datetime] = created_at_column()


class Inventory(Base):
    """Stock of a sku at one location; available = on_hand - reserved. A row may exist before
    its product does (a shop reports stock and products apart)."""

    __tablename__ = "inventory"

    workspace_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    sku: Mapped[str] = mapped_column(String(255), primary_key=True)
    location: Mapped[str] = mapped_column(String(255), primary_key=True)
    on_hand: Mapped[int] = mapped_column(Integer)
    reserved: Mapped[int] = mapped_column(Integer)
    minimum: Mapped[int | None] = mapped_column(Integer, nullable=True)
    lead_time_days: Mapped[int | None] = mapped_column(Integer, nullable=True)
    supplier: Mapped[str | None] = mapped_column(String(255), nullable=True)
    supplier_price: Mapped[Decimal | None] = mapped_column(Money(), nullable=True)
    supplier_currency: Mapped[str | None] = mapped_column(String(3), nullable=True)
    updated_at: Mapped[datetime] = created_at_column()


class CatalogImport(Base):
    """How far `nerve catalog import` got with one file (known by its content's hash): a
    re-run continues after `lines_done`, the last line of a committed batch."""

    __tablename__ = "catalog_imports"

    workspace_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    file_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    file_name: Mapped[str] = mapped_column(String(1000))
    lines_done: Mapped[int] = mapped_column(Integer)
    applied: Mapped[int] = mapped_column(Integer)
    failed: Mapped[Any] = mapped_column(Json)  # [{line, reason}], the first 1000
    failed_count: Mapped[int] = mapped_column(Integer)
    events: Mapped[int] = mapped_column(Integer)
    started_at: Mapped[datetime] = created_at_column()
    finished_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)


class PublishedCollection(Base):
    """A collection seen on an active product: `collection_published` goes once, the first
    time (a later product in it is no news)."""

    __tablename__ = "catalog_collections"

    workspace_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    name: Mapped[str] = mapped_column(String(255), primary_key=True)
    published_at: Mapped[datetime] = created_at_column()
