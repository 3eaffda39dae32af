"""flows, runs, tasks, dead letters

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_ts = sa.DateTime(timezone=True)
_json = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
_bigint = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "dead_letters",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("workspace_id", sa.String(length=32), nullable=False),
        sa.Column("task_id", _bigint, nullable=False),
        sa.Column("run_id", sa.String(length=32), nullable=False),
        sa.Column("node", sa.String(length=64), nullable=False),
        sa.Column("error", _json, nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("created_at", _ts, server_default=sa.func.now(), nullable=False),
        sa.Column("replayed_at", _ts, nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_dead_letters")),
    )
    with op.batch_alter_table("dead_letters", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_dead_letters_workspace_id"), ["workspace_id"], unique=False
        )

    op.create_table(
        "flow_entries",
        sa.Column("flow_id", sa.String(length=32), nullable=False),
        sa.Column("environment", sa.String(length=16), nullable=False),
        sa.Column("profile_id", sa.String(length=32), nullable=False),
        sa.Column("entry_key", sa.String(length=255), nullable=False),
        sa.Column("workspace_id", sa.String(length=32), nullable=False),
        sa.Column("run_id", sa.String(length=32), nullable=False),
        sa.Column("entered_at", _ts, server_default=sa.func.now(), nullable=False),
        sa.PrimaryKeyConstraint(
            "flow_id", "environment", "profile_id", "entry_key", name=op.f("pk_flow_entries")
        ),
    )
    op.create_table(
        "flow_runs",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("workspace_id", sa.String(length=32), nullable=False),
        sa.Column("flow_id", sa.String(length=32), nullable=False),
        sa.Column("version_id", sa.String(length=32), nullable=False),
        sa.Column("environment", sa.String(length=16), nullable=False),
        sa.Column("profile_id", sa.String(length=32), nullable=False),
        sa.Column("trigger_key", sa.String(length=255), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("node", sa.String(length=64), nullable=True),
        sa.Column("state_version", sa.Integer(), nullable=False),
        sa.Column("waiting_for", _json, nullable=True),
        sa.Column("state", _json, nullable=False),
        sa.Column("outcome", sa.String(length=32), nullable=True),
        sa.Column("started_at", _ts, server_default=sa.func.now(), nullable=False),
        sa.Column("ended_at", _ts, nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_flow_runs")),
    )
    with op.batch_alter_table("flow_runs", schema=None) as batch_op:
        batch_op.create_index("ix_flow_runs_flow", ["flow_id", "started_at"], unique=False)
        batch_op.create_index(
            "ix_flow_runs_profile_status", ["workspace_id", "profile_id", "status"], unique=False
        )

    op.create_table(
        "flow_steps",
        sa.Column("id", _bigint, autoincrement=True, nullable=False),
        sa.Column("workspace_id", sa.String(length=32), nullable=False),
        sa.Column("run_id", sa.String(length=32), nullable=False),
        sa.Column("node", sa.String(length=64), nullable=True),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("detail", _json, nullable=False),
        sa.Column("at", _ts, server_default=sa.func.now(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_flow_steps")),
    )
    with op.batch_alter_table("flow_steps", schema=None) as batch_op:
        batch_op.create_index("ix_flow_steps_run", ["run_id", "id"], unique=False)

    op.create_table(
        "flows",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("workspace_id", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("created_at", _ts, server_default=sa.func.now(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_flows")),
        sa.UniqueConstraint("workspace_id", "name", name=op.f("uq_flows_workspace_id_name")),
    )
    with op.batch_alter_table("flows", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_flows_workspace_id"), ["workspace_id"], unique=False)

    op.create_table(
        "tasks",
        sa.Column("id", _bigint, autoincrement=True, nullable=False),
        sa.Column("workspace_id", sa.String(length=32), nullable=False),
        sa.Column("run_id", sa.String(length=32), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("node", sa.String(length=64), nullable=False),
        sa.Column("expected_version", sa.Integer(), nullable=False),
        sa.Column("due_at", _ts, nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("lease_until", _ts, nullable=True),
        sa.Column("owner", sa.String(length=64), nullable=True),
        sa.Column("idempotency_key", sa.String(length=64), nullable=False),
        sa.Column("last_error", _json, nullable=True),
        sa.Column("created_at", _ts, server_default=sa.func.now(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tasks")),
    )
    with op.batch_alter_table("tasks", schema=None) as batch_op:
        batch_op.create_index(
            "ix_tasks_due",
            ["due_at"],
            unique=False,
            sqlite_where=sa.text("status = 'pending'"),
            postgresql_where=sa.text("status = 'pending'"),
        )
        batch_op.create_index("ix_tasks_run", ["run_id"], unique=False)
        batch_op.create_index(
            "ix_tasks_leased",
            ["lease_until"],
            unique=False,
            sqlite_where=sa.text("status = 'running'"),
            postgresql_where=sa.text("status = 'running'"),
        )

    op.create_table(
        "flow_versions",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("workspace_id", sa.String(length=32), nullable=False),
        sa.Column("flow_id", sa.String(length=32), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("environment", sa.String(length=16), nullable=False),
        sa.Column("definition", _json, nullable=False),
        sa.Column("published_at", _ts, server_default=sa.func.now(), nullable=False),
        sa.ForeignKeyConstraint(
            ["flow_id"],
            ["flows.id"],
            name=op.f("fk_flow_versions_flow_id_flows"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_flow_versions")),
        sa.UniqueConstraint("flow_id", "version", name=op.f("uq_flow_versions_flow_id_version")),
    )


def downgrade() -> None:
    op.drop_table("flow_versions")
    with op.batch_alter_table("tasks", schema=None) as batch_op:
        batch_op.drop_index("ix_tasks_run")
        batch_op.drop_index("ix_tasks_leased")
        batch_op.drop_index(
            "ix_tasks_due",
            sqlite_where=sa.text("status = 'pending'"),
            postgresql_where=sa.text("status = 'pending'"),
        )

    op.drop_table("tasks")
    with op.batch_alter_table("flows", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_flows_workspace_id"))

    op.drop_table("flows")
    with op.batch_alter_table("flow_steps", schema=None) as batch_op:
        batch_op.drop_index("ix_flow_steps_run")

    op.drop_table("flow_steps")
    with op.batch_alter_table("flow_runs", schema=None) as batch_op:
        batch_op.drop_index("ix_flow_runs_profile_status")
        batch_op.drop_index("ix_flow_runs_flow")

    op.drop_table("flow_runs")
    op.drop_table("flow_entries")
    with op.batch_alter_table("dead_letters", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_dead_letters_workspace_id"))

    op.drop_table("dead_letters")
