"""the message log and the suppression list

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-30
"""

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_ts = sa.DateTime(timezone=True)


def _now(name: str) -> sa.Column[Any]:
    return sa.Column(name, _ts, server_default=sa.func.now(), nullable=False)


def upgrade() -> None:
    op.create_table(
        "messages",
        sa.Column("id", sa.String(32), nullable=False),
        sa.Column("workspace_id", sa.String(32), nullable=False),
        sa.Column("profile_id", sa.String(32), nullable=True),
        sa.Column("channel", sa.String(16), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("topic", sa.String(64), nullable=True),
        sa.Column("template", sa.String(100), nullable=True),
        sa.Column("template_version_id", sa.String(32), nullable=True),
        sa.Column("flow", sa.String(100), nullable=True),
        sa.Column("run_id", sa.String(32), nullable=True),
        sa.Column("node", sa.String(100), nullable=True),
        sa.Column("idempotency_key", sa.String(255), nullable=False),
        sa.Column("message_id", sa.String(255), nullable=False),
        sa.Column("recipient", sa.String(320), nullable=True),
        sa.Column("subject", sa.String(1000), nullable=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("reason", sa.String(1000), nullable=True),
        _now("created_at"),
        _now("updated_at"),
        sa.Column("sent_at", _ts, nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_messages")),
        sa.UniqueConstraint(
            "workspace_id", "idempotency_key", name=op.f("uq_messages_workspace_id_idempotency_key")
        ),
    )
    op.create_index("ix_messages_profile", "messages", ["profile_id"])
    op.create_index("ix_messages_workspace_created", "messages", ["workspace_id", "created_at"])
    op.create_table(
        "suppressions",
        sa.Column("workspace_id", sa.String(32), nullable=False),
        sa.Column("channel", sa.String(16), nullable=False),
        sa.Column("address_hash", sa.String(64), nullable=False),
        sa.Column("reason", sa.String(32), nullable=False),
        sa.Column("detail", sa.String(1000), nullable=True),
        _now("created_at"),
        sa.PrimaryKeyConstraint(
            "workspace_id", "channel", "address_hash", "reason", name=op.f("pk_suppressions")
        ),
    )


def downgrade() -> None:
    op.drop_table("suppressions")
    op.drop_table("messages")
