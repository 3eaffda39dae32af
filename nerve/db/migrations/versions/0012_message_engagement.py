"""message engagement: the links a mail contained, when it was first opened and clicked

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-30
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_ts = sa.DateTime(timezone=True)


def upgrade() -> None:
    with op.batch_alter_table("messages") as table:
        table.add_column(
            sa.Column("links", sa.JSON().with_variant(JSONB(), "postgresql"), nullable=True)
        )
        table.add_column(sa.Column("opened_at", _ts, nullable=True))
        table.add_column(sa.Column("clicked_at", _ts, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("messages") as table:
        table.drop_column("clicked_at")
        table.drop_column("opened_at")
        table.drop_column("links")
