"""catalog: products and variants, inventory per location, imports, the outbox of catalog events
(the flows' `shop_events`: facts about the shop that flows trigger on)

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-01
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision: str = "0017"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON = sa.JSON().with_variant(JSONB(), "postgresql")
BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _now(name: str) -> sa.Column[object]:
    return sa.Column(name, sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False)


def upgrade() -> None:
    op.create_table(
        "products",
        sa.Column("workspace_id", sa.String(length=32), nullable=False),
        sa.Column("sku", sa.String(length=255), nullable=False),
        sa.Column("product_id", sa.String(length=255), nullable=False),
        sa.Column("gtin", sa.String(length=14), nullable=True),
        sa.Column("name", sa.String(length=1000), nullable=False),
        sa.Column("brand", sa.String(length=255), nullable=True),
        sa.Column("category", sa.String(length=1000), nullable=True),
        sa.Column("price", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("compare_at_price", sa.BigInteger(), nullable=True),
        sa.Column("cost", sa.BigInteger(), nullable=True),
        sa.Column("url", sa.String(length=2000), nullable=True),
        sa.Column("image_url", sa.String(length=2000), nullable=True),
        sa.Column("image_alt", sa.Text(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("tags", JSON, nullable=False),
        sa.Column("collections", JSON, nullable=False),
        sa.Column("attributes", JSON, nullable=False),
        sa.Column("usage_days", sa.Integer(), nullable=True),
        _now("created_at"),
        _now("updated_at"),
        sa.PrimaryKeyConstraint("workspace_id", "sku", name=op.f("pk_products")),
    )
    op.create_index("ix_products_product", "products", ["workspace_id", "product_id"])
    op.create_table(
        "inventory",
        sa.Column("workspace_id", sa.String(length=32), nullable=False),
        sa.Column("sku", sa.String(length=255), nullable=False),
        sa.Column("location", sa.String(length=255), nullable=False),
        sa.Column("on_hand", sa.Integer(), nullable=False),
        sa.Column("reserved", sa.Integer(), nullable=False),
        sa.Column("minimum", sa.Integer(), nullable=True),
        sa.Column("lead_time_days", sa.Integer(), nullable=True),
        sa.Column("supplier", sa.String(length=255), nullable=True),
        sa.Column("supplier_price", sa.BigInteger(), nullable=True),
        sa.Column("supplier_currency", sa.String(length=3), nullable=True),
        _now("updated_at"),
        sa.PrimaryKeyConstraint("workspace_id", "sku", "location", name=op.f("pk_inventory")),
    )
    op.create_table(
        "catalog_imports",
        sa.Column("workspace_id", sa.String(length=32), nullable=False),
        sa.Column("file_hash", sa.String(length=64), nullable=False),
        sa.Column("file_name", sa.String(length=1000), nullable=False),
        sa.Column("lines_done", sa.Integer(), nullable=False),
        sa.Column("applied", sa.Integer(), nullable=False),
        sa.Column("failed", JSON, nullable=False),
        sa.Column("failed_count", sa.Integer(), nullable=False),
        sa.Column("events", sa.Integer(), nullable=False),
        _now("started_at"),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("workspace_id", "file_hash", name=op.f("pk_catalog_imports")),
    )
    op.create_table(
        "catalog_collections",
        sa.Column("workspace_id", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        _now("published_at"),
        sa.PrimaryKeyConstraint("workspace_id", "name", name=op.f("pk_catalog_collections")),
    )
    op.create_table(
        "shop_events",
        sa.Column("id", BIG_ID, autoincrement=True, nullable=False),
        sa.Column("workspace_id", sa.String(length=32), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("properties", JSON, nullable=False),
        _now("occurred_at"),
        sa.Column("routed_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_shop_events")),
    )
    op.create_index(
        "ix_shop_events_unrouted", "shop_events", ["id"],
        sqlite_where=sa.text("routed_at IS NULL"), postgresql_where=sa.text("routed_at IS NULL"),
    )  # fmt: skip
    op.create_index("ix_shop_events_workspace", "shop_events", ["workspace_id", "id"])


def downgrade() -> None:
    op.drop_table("shop_events")
    op.drop_table("catalog_collections")
    op.drop_table("catalog_imports")
    op.drop_table("inventory")
    op.drop_table("products")
