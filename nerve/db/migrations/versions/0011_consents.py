"""consents with their proof records

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-30
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_ts = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "consents",
        sa.Column("workspace_id", sa.String(32), nullable=False),
        sa.Column("channel", sa.String(16), nullable=False),
        sa.Column("address", sa.String(320), nullable=False),
        sa.Column("topic", sa.String(64), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("consent_text", sa.Text(), nullable=True),
        sa.Column("text_version", sa.String(64), nullable=True),
        sa.Column("source_url", sa.String(2000), nullable=True),
        sa.Column("ip", sa.String(64), nullable=True),
        sa.Column("user_agent", sa.String(1000), nullable=True),
        sa.Column("signed_up_at", _ts, server_default=sa.func.now(), nullable=False),
        sa.Column("via", sa.String(32), nullable=False),
        sa.Column("confirmation_sent_at", _ts, nullable=True),
        sa.Column("confirmation_message_id", sa.String(255), nullable=True),
        sa.Column("confirmed_at", _ts, nullable=True),
        sa.Column("confirmed_ip", sa.String(64), nullable=True),
        sa.Column("confirmed_user_agent", sa.String(1000), nullable=True),
        sa.Column("withdrawn_at", _ts, nullable=True),
        sa.Column("withdrawn_via", sa.String(32), nullable=True),
        sa.Column("updated_at", _ts, server_default=sa.func.now(), nullable=False),
        sa.PrimaryKeyConstraint(
            "workspace_id", "channel", "address", "topic", name=op.f("pk_consents")
        ),
    )


def downgrade() -> None:
    op.drop_table("consents")
