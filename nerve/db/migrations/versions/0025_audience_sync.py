"""audience sync: syncs of segments to ad-platform audiences, and whom each sent

Revision ID: 0025
Revises: 0024
Create Date: 2026-12-08
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0025"
down_revision: str | None = "0024"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def _at(name: str, nullable: bool = False) -> sa.Column:  # type: ignore[type-arg]
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "audience_syncs",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("workspace_id", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("segment_id", sa.String(length=32), nullable=False),
        sa.Column("segment_key", sa.String(length=64), nullable=False),
        sa.Column("destination", sa.String(length=32), nullable=False),
        sa.Column("config", JSON, nullable=False),
        sa.Column("consent_topic", sa.String(length=64), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("phase", sa.String(length=16), nullable=False),
        sa.Column("member_cursor", sa.String(length=32), nullable=True),
        sa.Column("change_cursor", BIG_ID, nullable=False),
        _at("recheck_at"),
        sa.Column("recheck_cursor", sa.String(length=32), nullable=True),
        sa.Column("added", sa.Integer(), nullable=False),
        sa.Column("removed", sa.Integer(), nullable=False),
        sa.Column("skipped_no_consent", sa.Integer(), nullable=False),
        sa.Column("skipped_no_identifier", sa.Integer(), nullable=False),
        sa.Column("dead_batches", sa.Integer(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        _at("next_attempt_at"),
        _at("leased_until", nullable=True),
        _at("last_synced_at", nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        _at("updated_at"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audience_syncs")),
        sa.UniqueConstraint(
            "workspace_id", "name", name=op.f("uq_audience_syncs_workspace_id_name")
        ),
    )
    op.create_index(op.f("ix_audience_syncs_workspace_id"), "audience_syncs", ["workspace_id"])
    op.create_index("ix_audience_syncs_due", "audience_syncs", ["status", "next_attempt_at"])
    op.create_table(
        "audience_members",
        sa.Column("sync_id", sa.String(length=32), nullable=False),
        sa.Column("person_id", sa.String(length=32), nullable=False),
        sa.Column("workspace_id", sa.String(length=32), nullable=False),
        _at("added_at"),
        sa.ForeignKeyConstraint(
            ["sync_id"],
            ["audience_syncs.id"],
            ondelete="CASCADE",
            name=op.f("fk_audience_members_sync_id_audience_syncs"),
        ),
        sa.PrimaryKeyConstraint("sync_id", "person_id", name=op.f("pk_audience_members")),
    )
    op.create_index("ix_audience_members_person", "audience_members", ["workspace_id", "person_id"])


def downgrade() -> None:
    op.drop_table("audience_members")
    op.drop_table("audience_syncs")
