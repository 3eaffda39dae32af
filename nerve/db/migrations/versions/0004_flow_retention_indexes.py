"""indexes for pruning ended flow runs and finished tasks

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-22
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_ENDED = sa.text("ended_at IS NOT NULL")
_FINISHED = sa.text("status IN ('done', 'cancelled')")


def upgrade() -> None:
    op.create_index(
        "ix_flow_runs_ended",
        "flow_runs",
        ["ended_at"],
        sqlite_where=_ENDED,
        postgresql_where=_ENDED,
    )
    op.create_index(
        "ix_tasks_finished",
        "tasks",
        ["created_at"],
        sqlite_where=_FINISHED,
        postgresql_where=_FINISHED,
    )


def downgrade() -> None:
    op.drop_index("ix_tasks_finished", table_name="tasks")
    op.drop_index("ix_flow_runs_ended", table_name="flow_runs")
