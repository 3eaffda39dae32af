"""identity graph and profiles

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_ts = sa.DateTime(timezone=True)
_json = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
_event_id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    with op.batch_alter_table("workspaces", schema=None) as batch_op:
        batch_op.add_column(sa.Column("hash_key", sa.String(length=64), nullable=True))
    op.create_table(
        "audit_log",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("workspace_id", sa.String(length=32), nullable=False),
        sa.Column("actor", sa.String(length=64), nullable=False),
        sa.Column("action", sa.String(length=64), nullable=False),
        sa.Column("target", sa.String(length=64), nullable=False),
        sa.Column("at", _ts, server_default=sa.func.now(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_log")),
    )
    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_audit_log_workspace_id"), ["workspace_id"], unique=False
        )

    op.create_table(
        "erased_identifiers",
        sa.Column("workspace_id", sa.String(length=32), nullable=False),
        sa.Column("type", sa.String(length=64), nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.Column("erased_at", _ts, server_default=sa.func.now(), nullable=False),
        sa.PrimaryKeyConstraint("workspace_id", "type", "hash", name=op.f("pk_erased_identifiers")),
    )
    op.create_table(
        "identity_rules",
        sa.Column("workspace_id", sa.String(length=32), nullable=False),
        sa.Column("rules", _json, nullable=False),
        sa.PrimaryKeyConstraint("workspace_id", name=op.f("pk_identity_rules")),
    )
    op.create_table(
        "merges",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("workspace_id", sa.String(length=32), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("survivor_id", sa.String(length=32), nullable=False),
        sa.Column("merged_id", sa.String(length=32), nullable=False),
        sa.Column("event_id", _event_id, nullable=True),
        sa.Column("rule", sa.String(length=64), nullable=False),
        sa.Column("reason", sa.String(length=500), nullable=False),
        sa.Column("details", _json, nullable=False),
        sa.Column("created_at", _ts, server_default=sa.func.now(), nullable=False),
        sa.Column("undone_at", _ts, nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_merges")),
    )
    with op.batch_alter_table("merges", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_merges_merged_id"), ["merged_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_merges_survivor_id"), ["survivor_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_merges_workspace_id"), ["workspace_id"], unique=False)

    op.create_table(
        "profiles",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("workspace_id", sa.String(length=32), nullable=False),
        sa.Column("merged_into", sa.String(length=32), nullable=True),
        sa.Column("cluster_id", sa.String(length=32), nullable=False),
        sa.Column("created_at", _ts, server_default=sa.func.now(), nullable=False),
        sa.Column("first_seen", _ts, nullable=True),
        sa.Column("last_seen", _ts, nullable=True),
        sa.Column("order_count", sa.Integer(), nullable=False),
        sa.Column("total_spent", sa.Float(), nullable=False),
        sa.Column("last_order_at", _ts, nullable=True),
        sa.Column("timezone", sa.String(length=64), nullable=True),
        sa.Column("timezone_at", _ts, nullable=True),
        sa.Column("sources", _json, nullable=False),
        sa.Column("interests", _json, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_profiles")),
    )
    with op.batch_alter_table("profiles", schema=None) as batch_op:
        batch_op.create_index("ix_profiles_cluster", ["cluster_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_profiles_merged_into"), ["merged_into"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_profiles_workspace_id"), ["workspace_id"], unique=False
        )

    op.create_table(
        "identifiers",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("workspace_id", sa.String(length=32), nullable=False),
        sa.Column("type", sa.String(length=64), nullable=False),
        sa.Column("value", sa.String(length=255), nullable=False),
        sa.Column("profile_id", sa.String(length=32), nullable=False),
        sa.Column("created_at", _ts, server_default=sa.func.now(), nullable=False),
        sa.ForeignKeyConstraint(
            ["profile_id"],
            ["profiles.id"],
            name=op.f("fk_identifiers_profile_id_profiles"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_identifiers")),
        sa.UniqueConstraint(
            "workspace_id", "type", "value", name=op.f("uq_identifiers_workspace_id_type_value")
        ),
    )
    with op.batch_alter_table("identifiers", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_identifiers_profile_id"), ["profile_id"], unique=False)

    op.create_table(
        "profile_orders",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("workspace_id", sa.String(length=32), nullable=False),
        sa.Column("order_id", sa.String(length=255), nullable=False),
        sa.Column("profile_id", sa.String(length=32), nullable=False),
        sa.Column("total", sa.Float(), nullable=False),
        sa.Column("currency", sa.String(length=8), nullable=True),
        sa.Column("ordered_at", _ts, nullable=False),
        sa.Column("event_id", _event_id, nullable=True),
        sa.ForeignKeyConstraint(
            ["profile_id"],
            ["profiles.id"],
            name=op.f("fk_profile_orders_profile_id_profiles"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_profile_orders")),
        sa.UniqueConstraint(
            "workspace_id", "order_id", name=op.f("uq_profile_orders_workspace_id_order_id")
        ),
    )
    with op.batch_alter_table("profile_orders", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_profile_orders_profile_id"), ["profile_id"], unique=False
        )

    op.create_table(
        "profile_traits",
        sa.Column("profile_id", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("workspace_id", sa.String(length=32), nullable=False),
        sa.Column("value", _json, nullable=True),
        sa.Column("observed_at", _ts, nullable=False),
        sa.Column("event_id", _event_id, nullable=True),
        sa.ForeignKeyConstraint(
            ["profile_id"],
            ["profiles.id"],
            name=op.f("fk_profile_traits_profile_id_profiles"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("profile_id", "name", name=op.f("pk_profile_traits")),
    )
    op.create_table(
        "trait_history",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("workspace_id", sa.String(length=32), nullable=False),
        sa.Column("profile_id", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("value", _json, nullable=True),
        sa.Column("observed_at", _ts, nullable=False),
        sa.Column("event_id", _event_id, nullable=True),
        sa.ForeignKeyConstraint(
            ["profile_id"],
            ["profiles.id"],
            name=op.f("fk_trait_history_profile_id_profiles"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_trait_history")),
    )
    with op.batch_alter_table("trait_history", schema=None) as batch_op:
        batch_op.create_index("ix_trait_history_profile_name", ["profile_id", "name"], unique=False)

    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.add_column(sa.Column("profile_id", sa.String(length=32), nullable=True))
        batch_op.create_index(
            "ix_events_profile_timestamp", ["profile_id", "timestamp"], unique=False
        )
        batch_op.create_index(
            "ix_events_unresolved",
            ["id"],
            unique=False,
            sqlite_where=sa.text("profile_id IS NULL"),
            postgresql_where=sa.text("profile_id IS NULL"),
        )


def downgrade() -> None:
    with op.batch_alter_table("workspaces", schema=None) as batch_op:
        batch_op.drop_column("hash_key")
    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.drop_index(
            "ix_events_unresolved",
            sqlite_where=sa.text("profile_id IS NULL"),
            postgresql_where=sa.text("profile_id IS NULL"),
        )
        batch_op.drop_index("ix_events_profile_timestamp")
        batch_op.drop_column("profile_id")

    with op.batch_alter_table("trait_history", schema=None) as batch_op:
        batch_op.drop_index("ix_trait_history_profile_name")

    op.drop_table("trait_history")
    op.drop_table("profile_traits")
    with op.batch_alter_table("profile_orders", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_profile_orders_profile_id"))

    op.drop_table("profile_orders")
    with op.batch_alter_table("identifiers", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_identifiers_profile_id"))

    op.drop_table("identifiers")
    with op.batch_alter_table("profiles", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_profiles_workspace_id"))
        batch_op.drop_index(batch_op.f("ix_profiles_merged_into"))
        batch_op.drop_index("ix_profiles_cluster")

    op.drop_table("profiles")
    with op.batch_alter_table("merges", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_merges_workspace_id"))
        batch_op.drop_index(batch_op.f("ix_merges_survivor_id"))
        batch_op.drop_index(batch_op.f("ix_merges_merged_id"))

    op.drop_table("merges")
    op.drop_table("identity_rules")
    op.drop_table("erased_identifiers")
    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_audit_log_workspace_id"))

    op.drop_table("audit_log")
