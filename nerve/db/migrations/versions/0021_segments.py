"""segments: definitions and versions, members, the change log, window timers and builds

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-01
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision: str = "0021"
down_revision: str | None = "0020"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_JSON = sa.JSON().with_variant(JSONB(), "postgresql")
BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _segment_fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["segment_id"],
        ["segments.id"],
        name=op.f(f"fk_{table}_segment_id_segments"),
        ondelete="CASCADE",
    )


def upgrade() -> None:
    op.create_table(
        "segments",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("workspace_id", sa.String(length=32), nullable=False),
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("public", sa.Boolean(), nullable=False),
        sa.Column("active_version", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("archived_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_segments")),
        sa.UniqueConstraint("workspace_id", "key", name=op.f("uq_segments_workspace_id_key")),
    )
    op.create_index(op.f("ix_segments_workspace_id"), "segments", ["workspace_id"])
    op.create_table(
        "segment_versions",
        sa.Column("segment_id", sa.String(length=32), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("definition", _JSON, nullable=False),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        _segment_fk("segment_versions"),
        sa.PrimaryKeyConstraint("segment_id", "version", name=op.f("pk_segment_versions")),
    )
    op.create_table(
        "segment_members",
        sa.Column("segment_id", sa.String(length=32), nullable=False),
        sa.Column("person_id", sa.String(length=32), nullable=False),
        sa.Column("workspace_id", sa.String(length=32), nullable=False),
        sa.Column("entered_at", sa.DateTime(timezone=True), nullable=False),
        _segment_fk("segment_members"),
        sa.PrimaryKeyConstraint("segment_id", "person_id", name=op.f("pk_segment_members")),
    )
    op.create_index("ix_segment_members_person", "segment_members", ["workspace_id", "person_id"])
    op.create_table(
        "segment_changes",
        sa.Column("id", BIG_ID, autoincrement=True, nullable=False),
        sa.Column("workspace_id", sa.String(length=32), nullable=False),
        sa.Column("segment_id", sa.String(length=32), nullable=False),
        sa.Column("person_id", sa.String(length=32), nullable=False),
        sa.Column("change", sa.String(length=8), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        _segment_fk("segment_changes"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_segment_changes")),
    )
    op.create_index("ix_segment_changes_cursor", "segment_changes", ["segment_id", "id"])
    op.create_index("ix_segment_changes_person", "segment_changes", ["workspace_id", "person_id"])
    op.create_table(
        "segment_timers",
        sa.Column("segment_id", sa.String(length=32), nullable=False),
        sa.Column("person_id", sa.String(length=32), nullable=False),
        sa.Column("workspace_id", sa.String(length=32), nullable=False),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=False),
        _segment_fk("segment_timers"),
        sa.PrimaryKeyConstraint("segment_id", "person_id", name=op.f("pk_segment_timers")),
    )
    op.create_index("ix_segment_timers_due", "segment_timers", ["due_at"])
    op.create_index("ix_segment_timers_person", "segment_timers", ["workspace_id", "person_id"])
    op.create_table(
        "segment_builds",
        sa.Column("segment_id", sa.String(length=32), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("workspace_id", sa.String(length=32), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("cursor", sa.String(length=32), nullable=True),
        sa.Column("done", sa.Integer(), nullable=False),
        sa.Column("total", sa.Integer(), nullable=False),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        _segment_fk("segment_builds"),
        sa.PrimaryKeyConstraint("segment_id", "version", name=op.f("pk_segment_builds")),
    )
    op.create_index("ix_segment_builds_status", "segment_builds", ["status"])


def downgrade() -> None:
    op.drop_table("segment_builds")
    op.drop_table("segment_timers")
    op.drop_table("segment_changes")
    op.drop_table("segment_members")
    op.drop_table("segment_versions")
    op.drop_table("segments")
