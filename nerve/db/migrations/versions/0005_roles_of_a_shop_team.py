"""roles of a shop team: marketer -> builder, viewer -> analyst (staff is new)

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-30
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_RENAMED = {"marketer": "builder", "viewer": "analyst"}


def upgrade() -> None:
    for old, new in _RENAMED.items():
        op.execute(
            sa.text("UPDATE api_keys SET role = :new WHERE role = :old").bindparams(
                old=old, new=new
            )
        )


def downgrade() -> None:
    for old, new in _RENAMED.items():
        op.execute(
            sa.text("UPDATE api_keys SET role = :old WHERE role = :new").bindparams(
                old=old, new=new
            )
        )
    op.execute(sa.text("UPDATE api_keys SET role = 'viewer' WHERE role = 'staff'"))
