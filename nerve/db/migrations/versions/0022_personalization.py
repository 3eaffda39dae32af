"""personalization: slots and their versions, the impression log

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-01
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision: str = "0022"
down_revision: str | None = "0021"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_JSON = sa.JSON().with_variant(JSONB(), "postgresql")
BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "slots",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("workspace_id", sa.String(length=32), nullable=False),
        sa.Column("key", sa.String(length=100), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("active_version", sa.Integer(), nullable=False),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_slots")),
        sa.UniqueConstraint("workspace_id", "key", name=op.f("uq_slots_workspace_id_key")),
    )
    op.create_table(
        "slot_versions",
        sa.Column("slot_id", sa.String(length=32), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("definition", _JSON, nullable=False),
        sa.Column("created_by", sa.String(length=64), nullable=False),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.ForeignKeyConstraint(
            ["slot_id"],
            ["slots.id"],
            name=op.f("fk_slot_versions_slot_id_slots"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("slot_id", "version", name=op.f("pk_slot_versions")),
    )
    op.create_table(
        "slot_impressions",
        sa.Column("id", BIG_ID, autoincrement=True, nullable=False),
        sa.Column("workspace_id", sa.String(length=32), nullable=False),
        sa.Column("slot_key", sa.String(length=100), nullable=False),
        sa.Column("person_id", sa.String(length=32), nullable=True),
        sa.Column("anonymous_id", sa.String(length=255), nullable=True),
        sa.Column("user_id", sa.String(length=255), nullable=True),
        sa.Column("variant", sa.String(length=100), nullable=False),
        sa.Column("experiment", sa.String(length=100), nullable=True),
        sa.Column("arm", sa.String(length=100), nullable=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_slot_impressions")),
    )
    op.create_index(
        "ix_slot_impressions_slot", "slot_impressions", ["workspace_id", "slot_key", "at"]
    )
    op.create_index("ix_slot_impressions_person", "slot_impressions", ["person_id"])
    op.create_index(
        "ix_slot_impressions_anonymous", "slot_impressions", ["workspace_id", "anonymous_id"]
    )
    op.create_index("ix_slot_impressions_user", "slot_impressions", ["workspace_id", "user_id"])


def downgrade() -> None:
    op.drop_table("slot_impressions")
    op.drop_table("slot_versions")
    op.drop_table("slots")
