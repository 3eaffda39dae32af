"""messages by Message-ID: a bounce or complaint report names the message it is about by its
Message-ID, often with no workspace (a bounce mailbox); without this index each report scanned
the message log

Revision ID: 0014
Revises: 0013
Create Date: 2026-11-30
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_messages_message_id", "messages", ["message_id"])


def downgrade() -> None:
    op.drop_index("ix_messages_message_id", table_name="messages")
