"""connectors: shop webhook deliveries, dedupe and the connector dead-letter list

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-01
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0020"
down_revision: str | None = "0019"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "connectors",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("workspace_id", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=128), nullable=False),
        sa.Column("platform", sa.String(length=16), nullable=False),
        sa.Column("source_id", sa.String(length=32), nullable=False),
        sa.Column("secret_name", sa.String(length=128), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=True),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_connectors")),
        sa.UniqueConstraint("workspace_id", "name", name=op.f("uq_connectors_workspace_id_name")),
        sa.UniqueConstraint("source_id", name=op.f("uq_connectors_source_id")),
    )
    op.create_index(op.f("ix_connectors_workspace_id"), "connectors", ["workspace_id"])
    op.create_table(
        "connector_deliveries",
        sa.Column("id", BIG_ID, autoincrement=True, nullable=False),
        sa.Column("workspace_id", sa.String(length=32), nullable=False),
        sa.Column("connector_id", sa.String(length=32), nullable=False),
        sa.Column("delivery_key", sa.String(length=128), nullable=False),
        sa.Column("topic", sa.String(length=128), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("body", sa.Text(), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("applied_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["connector_id"],
            ["connectors.id"],
            ondelete="CASCADE",
            name=op.f("fk_connector_deliveries_connector_id_connectors"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_connector_deliveries")),
        sa.UniqueConstraint(
            "connector_id",
            "delivery_key",
            name=op.f("uq_connector_deliveries_connector_id_delivery_key"),
        ),
    )
    op.create_index(
        "ix_connector_deliveries_dead", "connector_deliveries", ["workspace_id", "status", "id"]
    )
    op.create_table(
        "connector_delivery_people",
        sa.Column("delivery_id", BIG_ID, nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.Column("workspace_id", sa.String(length=32), nullable=False),
        sa.ForeignKeyConstraint(
            ["delivery_id"],
            ["connector_deliveries.id"],
            ondelete="CASCADE",
            name=op.f("fk_connector_delivery_people_delivery_id_connector_deliveries"),
        ),
        sa.PrimaryKeyConstraint("delivery_id", "hash", name=op.f("pk_connector_delivery_people")),
    )
    op.create_index(
        "ix_connector_delivery_people_hash", "connector_delivery_people", ["workspace_id", "hash"]
    )
    op.create_table(
        "connector_inventory_items",
        sa.Column("connector_id", sa.String(length=32), nullable=False),
        sa.Column("inventory_item_id", sa.String(length=64), nullable=False),
        sa.Column("workspace_id", sa.String(length=32), nullable=False),
        sa.Column("sku", sa.String(length=255), nullable=False),
        sa.ForeignKeyConstraint(
            ["connector_id"],
            ["connectors.id"],
            ondelete="CASCADE",
            name=op.f("fk_connector_inventory_items_connector_id_connectors"),
        ),
        sa.PrimaryKeyConstraint(
            "connector_id", "inventory_item_id", name=op.f("pk_connector_inventory_items")
        ),
    )


def downgrade() -> None:
    op.drop_table("connector_inventory_items")
    op.drop_table("connector_delivery_people")
    op.drop_table("connector_deliveries")
    op.drop_table("connectors")
