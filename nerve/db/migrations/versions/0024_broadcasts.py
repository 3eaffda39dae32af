"""broadcasts: a flow started for every member of a segment, fanned out by the worker

Revision ID: 0024
Revises: 0023
Create Date: 2026-12-01
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision: str = "0024"
down_revision: str | None = "0023"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_JSON = sa.JSON().with_variant(JSONB(), "postgresql")
_WITH_WORK = "status IN ('scheduled', 'running')"


def upgrade() -> None:
    op.create_table(
        "broadcasts",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("workspace_id", sa.String(length=32), nullable=False),
        sa.Column("flow_id", sa.String(length=32), nullable=False),
        sa.Column("version_id", sa.String(length=32), nullable=False),
        sa.Column("environment", sa.String(length=16), nullable=False),
        sa.Column("segment_id", sa.String(length=32), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("next_chunk_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("cursor", sa.String(length=32), nullable=True),
        sa.Column("audience", sa.Integer(), nullable=True),
        sa.Column("entered", sa.Integer(), nullable=False),
        sa.Column("skipped", sa.Integer(), nullable=False),
        sa.Column("cause", sa.String(length=64), nullable=False),
        sa.Column("trigger", _JSON, nullable=False),
        sa.Column("created_by", sa.String(length=64), nullable=True),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_broadcasts")),
        sa.UniqueConstraint(
            "flow_id", "environment", "cause", name=op.f("uq_broadcasts_flow_id_environment_cause")
        ),
    )
    op.create_index("ix_broadcasts_workspace", "broadcasts", ["workspace_id", "created_at"])
    op.create_index(
        "ix_broadcasts_due",
        "broadcasts",
        ["next_chunk_at"],
        sqlite_where=sa.text(_WITH_WORK),
        postgresql_where=sa.text(_WITH_WORK),
    )


def downgrade() -> None:
    op.drop_index("ix_broadcasts_due", table_name="broadcasts")
    op.drop_index("ix_broadcasts_workspace", table_name="broadcasts")
    op.drop_table("broadcasts")
