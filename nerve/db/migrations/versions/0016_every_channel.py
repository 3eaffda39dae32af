"""every channel: push subscriptions, opt-outs (everything, a channel, a flow), the delivery
policy (fatigue cap, quiet hours), digests and their items; the message log's channel details and
the index the fatigue cap counts with

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-01
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON = sa.JSON().with_variant(JSONB(), "postgresql")


def _now(name: str) -> sa.Column[object]:
    return sa.Column(name, sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False)


def upgrade() -> None:
    with op.batch_alter_table("messages") as batch:
        batch.add_column(sa.Column("details", JSON, nullable=True))
        batch.create_index(
            "ix_messages_person_recent", ["workspace_id", "profile_id", "created_at"]
        )
    op.create_table(
        "push_subscriptions",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("workspace_id", sa.String(length=32), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("endpoint", sa.String(length=2000), nullable=False),
        sa.Column("endpoint_hash", sa.String(length=64), nullable=False),
        sa.Column("keys", JSON, nullable=True),
        sa.Column("identifier_type", sa.String(length=32), nullable=False),
        sa.Column("identifier_value", sa.String(length=320), nullable=False),
        sa.Column("user_agent", sa.String(length=1000), nullable=True),
        _now("created_at"),
        sa.Column("last_sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_push_subscriptions")),
        sa.UniqueConstraint(
            "workspace_id",
            "endpoint_hash",
            name=op.f("uq_push_subscriptions_workspace_id_endpoint_hash"),
        ),
    )
    op.create_index(
        "ix_push_subscriptions_identifier", "push_subscriptions",
        ["workspace_id", "identifier_type", "identifier_value"],
    )  # fmt: skip
    op.create_table(
        "opt_outs",
        sa.Column("workspace_id", sa.String(length=32), nullable=False),
        sa.Column("profile_id", sa.String(length=32), nullable=False),
        sa.Column("scope", sa.String(length=16), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("via", sa.String(length=32), nullable=False),
        _now("created_at"),
        sa.PrimaryKeyConstraint(
            "workspace_id", "profile_id", "scope", "name", name=op.f("pk_opt_outs")
        ),
    )
    op.create_table(
        "delivery_policies",
        sa.Column("workspace_id", sa.String(length=32), nullable=False),
        sa.Column("policy", JSON, nullable=False),
        sa.Column("updated_by", sa.String(length=64), nullable=False),
        _now("updated_at"),
        sa.PrimaryKeyConstraint("workspace_id", name=op.f("pk_delivery_policies")),
    )
    op.create_table(
        "digests",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("workspace_id", sa.String(length=32), nullable=False),
        sa.Column("flow", sa.String(length=100), nullable=False),
        sa.Column("environment", sa.String(length=16), nullable=False),
        sa.Column("node", sa.String(length=100), nullable=False),
        sa.Column("profile_id", sa.String(length=32), nullable=False),
        sa.Column("run_id", sa.String(length=32), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        _now("opened_at"),
        sa.Column("closes_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_digests")),
    )
    op.create_index(
        "ux_digests_open", "digests", ["workspace_id", "flow", "environment", "node", "profile_id"],
        unique=True, sqlite_where=sa.text("status = 'open'"),
        postgresql_where=sa.text("status = 'open'"),
    )  # fmt: skip
    op.create_table(
        "digest_items",
        sa.Column("digest_id", sa.String(length=32), nullable=False),
        sa.Column("item_key", sa.String(length=255), nullable=False),
        sa.Column("event_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("payload", JSON, nullable=False),
        _now("added_at"),
        sa.ForeignKeyConstraint(
            ["digest_id"],
            ["digests.id"],
            name=op.f("fk_digest_items_digest_id_digests"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("digest_id", "item_key", name=op.f("pk_digest_items")),
    )


def downgrade() -> None:
    op.drop_table("digest_items")
    op.drop_index("ux_digests_open", table_name="digests")
    op.drop_table("digests")
    op.drop_table("delivery_policies")
    op.drop_table("opt_outs")
    op.drop_index("ix_push_subscriptions_identifier", table_name="push_subscriptions")
    op.drop_table("push_subscriptions")
    with op.batch_alter_table("messages") as batch:
        batch.drop_index("ix_messages_person_recent")
        batch.drop_column("details")
