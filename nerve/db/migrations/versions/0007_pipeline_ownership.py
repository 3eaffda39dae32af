"""each capability owns its tables: profile attributes leave the identity graph's profiles
table (dead order columns dropped), profile_orders becomes orders

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-30
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_ts = sa.DateTime(timezone=True)
_json = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
_big_id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_ATTRIBUTES = ("first_seen", "last_seen", "timezone", "timezone_at", "sources", "interests")
# order_count, total_spent and last_order_at were never written: orders are counted from the
# orders table.
_DROPPED = (*_ATTRIBUTES, "order_count", "total_spent", "last_order_at")


def upgrade() -> None:
    op.create_table(
        "profile_attributes",
        sa.Column("profile_id", sa.String(length=32), nullable=False),
        sa.Column("workspace_id", sa.String(length=32), nullable=False),
        sa.Column("first_seen", _ts, nullable=True),
        sa.Column("last_seen", _ts, nullable=True),
        sa.Column("timezone", sa.String(length=64), nullable=True),
        sa.Column("timezone_at", _ts, nullable=True),
        sa.Column("sources", _json, nullable=False),
        sa.Column("interests", _json, nullable=False),
        sa.ForeignKeyConstraint(
            ["profile_id"],
            ["profiles.id"],
            name=op.f("fk_profile_attributes_profile_id_profiles"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("profile_id", name=op.f("pk_profile_attributes")),
    )
    columns = ", ".join(_ATTRIBUTES)
    op.execute(
        f"INSERT INTO profile_attributes (profile_id, workspace_id, {columns})"
        f" SELECT id, workspace_id, {columns} FROM profiles"
    )
    # ALTER TABLE ... DROP COLUMN on both databases (SQLite >= 3.35): a batch copy of profiles
    # would drop the old table, and with foreign keys on, SQLite's DROP cascades to identifiers.
    for column in _DROPPED:
        op.execute(f"ALTER TABLE profiles DROP COLUMN {column}")

    op.create_table(
        "orders",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("workspace_id", sa.String(length=32), nullable=False),
        sa.Column("order_id", sa.String(length=255), nullable=False),
        sa.Column("profile_id", sa.String(length=32), nullable=False),
        sa.Column("total", sa.Float(), nullable=False),
        sa.Column("currency", sa.String(length=8), nullable=True),
        sa.Column("ordered_at", _ts, nullable=False),
        sa.Column("event_id", _big_id, nullable=True),
        sa.ForeignKeyConstraint(
            ["profile_id"],
            ["profiles.id"],
            name=op.f("fk_orders_profile_id_profiles"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_orders")),
        sa.UniqueConstraint(
            "workspace_id", "order_id", name=op.f("uq_orders_workspace_id_order_id")
        ),
    )
    op.create_index(op.f("ix_orders_profile_id"), "orders", ["profile_id"], unique=False)
    op.execute(
        "INSERT INTO orders (workspace_id, order_id, profile_id, total, currency, ordered_at,"
        " event_id) SELECT workspace_id, order_id, profile_id, total, currency, ordered_at,"
        " event_id FROM profile_orders ORDER BY id"
    )
    op.drop_table("profile_orders")


def downgrade() -> None:
    op.create_table(
        "profile_orders",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("workspace_id", sa.String(length=32), nullable=False),
        sa.Column("order_id", sa.String(length=255), nullable=False),
        sa.Column("profile_id", sa.String(length=32), nullable=False),
        sa.Column("total", sa.Float(), nullable=False),
        sa.Column("currency", sa.String(length=8), nullable=True),
        sa.Column("ordered_at", _ts, nullable=False),
        sa.Column("event_id", _big_id, nullable=True),
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
    op.create_index(
        op.f("ix_profile_orders_profile_id"), "profile_orders", ["profile_id"], unique=False
    )
    op.execute(
        "INSERT INTO profile_orders (workspace_id, order_id, profile_id, total, currency,"
        " ordered_at, event_id) SELECT workspace_id, order_id, profile_id, total, currency,"
        " ordered_at, event_id FROM orders ORDER BY id"
    )
    op.drop_table("orders")
    for name, type_ in (
        ("first_seen", _ts), ("last_seen", _ts), ("last_order_at", _ts),
        ("timezone", sa.String(length=64)), ("timezone_at", _ts),
    ):  # fmt: skip
        op.add_column("profiles", sa.Column(name, type_, nullable=True))
    op.add_column("profiles", sa.Column("order_count", sa.Integer(), server_default="0"))
    op.add_column("profiles", sa.Column("total_spent", sa.Float(), server_default="0"))
    op.add_column("profiles", sa.Column("sources", _json, server_default="{}"))
    op.add_column("profiles", sa.Column("interests", _json, server_default="{}"))
    op.drop_table("profile_attributes")
