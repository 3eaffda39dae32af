"""recommendations: training runs, item neighbours, popular items, the training schedule

Revision ID: 0023
Revises: 0022
Create Date: 2026-12-01
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision: str = "0023"
down_revision: str | None = "0022"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_JSON = sa.JSON().with_variant(JSONB(), "postgresql")
BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "recommendation_runs",
        sa.Column("id", BIG_ID, autoincrement=True, nullable=False),
        sa.Column("workspace_id", sa.String(length=32), nullable=False),
        sa.Column("model", sa.String(length=32), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("counts", _JSON, nullable=False),
        sa.Column("metrics", _JSON, nullable=False),
        sa.Column("error", sa.String(length=1000), nullable=True),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column(
            "trained_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_recommendation_runs")),
    )
    op.create_index(
        "ix_recommendation_runs_workspace", "recommendation_runs", ["workspace_id", "id"]
    )
    op.create_table(
        "item_neighbors",
        sa.Column("workspace_id", sa.String(length=32), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("sku", sa.String(length=255), nullable=False),
        sa.Column("rank", sa.Integer(), nullable=False),
        sa.Column("neighbor_sku", sa.String(length=255), nullable=False),
        sa.Column("score", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint(
            "workspace_id", "kind", "sku", "rank", name=op.f("pk_item_neighbors")
        ),
    )
    op.create_table(
        "popular_items",
        sa.Column("workspace_id", sa.String(length=32), nullable=False),
        sa.Column("category", sa.String(length=1000), nullable=False),
        sa.Column("rank", sa.Integer(), nullable=False),
        sa.Column("sku", sa.String(length=255), nullable=False),
        sa.Column("score", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("workspace_id", "category", "rank", name=op.f("pk_popular_items")),
    )
    op.create_table(
        "recommendation_schedules",
        sa.Column("workspace_id", sa.String(length=32), nullable=False),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("requested_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("workspace_id", name=op.f("pk_recommendation_schedules")),
    )


def downgrade() -> None:
    op.drop_table("recommendation_schedules")
    op.drop_table("popular_items")
    op.drop_table("item_neighbors")
    op.drop_index("ix_recommendation_runs_workspace", table_name="recommendation_runs")
    op.drop_table("recommendation_runs")
