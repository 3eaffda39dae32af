"""orders: exact money, line items, status history, coupons

The float totals become exact money (ten-thousandths in a BIGINT), rounded to four decimals;
the order's customer, amounts, coupons, flags, cart and sources join it; `ordered_at` is
`placed_at`; an order may wait for its person (a shop's webhook). Line items and the status
history get tables of their own.

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-01
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision: str = "0018"
down_revision: str | None = "0017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON = sa.JSON().with_variant(JSONB(), "postgresql")
BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_TS = sa.DateTime(timezone=True)
_AMOUNTS = ("subtotal", "tax", "shipping", "discount")


def upgrade() -> None:
    with op.batch_alter_table("orders") as batch:
        batch.add_column(sa.Column("user_id", sa.String(length=255), nullable=True))
        batch.add_column(sa.Column("anonymous_id", sa.String(length=255), nullable=True))
        batch.add_column(sa.Column("email", sa.String(length=320), nullable=True))
        batch.add_column(sa.Column("phone", sa.String(length=64), nullable=True))
        batch.add_column(sa.Column("total_units", sa.BigInteger(), nullable=True))
        for amount in _AMOUNTS:
            batch.add_column(sa.Column(amount, sa.BigInteger(), nullable=True))
        batch.add_column(sa.Column("coupons", JSON, nullable=True))
        batch.add_column(sa.Column("b2b", sa.Boolean(), server_default=sa.false(), nullable=False))
        batch.add_column(
            sa.Column("preorder", sa.Boolean(), server_default=sa.false(), nullable=False)
        )
        batch.add_column(sa.Column("cart_id", sa.String(length=255), nullable=True))
        batch.add_column(sa.Column("sources", JSON, nullable=True))
        batch.add_column(
            sa.Column("status", sa.String(length=32), server_default="placed", nullable=False)
        )
        batch.add_column(sa.Column("created_at", _TS, server_default=sa.func.now(), nullable=False))
    # Exact from here on: the float total, rounded to four decimals, in ten-thousandths.
    op.execute(
        "UPDATE orders SET total_units = CAST(ROUND(total * 10000) AS BIGINT),"
        " coupons = '[]', sources = '[]'"
    )
    with op.batch_alter_table("orders") as batch:
        batch.drop_column("total")
        batch.alter_column("total_units", new_column_name="total", existing_type=sa.BigInteger())
        batch.alter_column("ordered_at", new_column_name="placed_at", existing_type=_TS)
        batch.alter_column("profile_id", nullable=True, existing_type=sa.String(length=32))
        batch.alter_column("coupons", nullable=False, existing_type=JSON)
        batch.alter_column("sources", nullable=False, existing_type=JSON)

    op.create_table(
        "order_lines",
        sa.Column("id", BIG_ID, autoincrement=True, nullable=False),
        sa.Column("order_ref", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("sku", sa.String(length=255), nullable=True),
        sa.Column("product_id", sa.String(length=255), nullable=True),
        sa.Column("name", sa.String(length=1000), nullable=True),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column("price", sa.BigInteger(), nullable=True),
        sa.Column("line_total", sa.BigInteger(), nullable=True),
        sa.ForeignKeyConstraint(
            ["order_ref"],
            ["orders.id"],
            name=op.f("fk_order_lines_order_ref_orders"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_order_lines")),
        sa.UniqueConstraint(
            "order_ref", "position", name=op.f("uq_order_lines_order_ref_position")
        ),
    )
    op.create_index(op.f("ix_order_lines_order_ref"), "order_lines", ["order_ref"], unique=False)
    op.create_table(
        "order_statuses",
        sa.Column("id", BIG_ID, autoincrement=True, nullable=False),
        sa.Column("workspace_id", sa.String(length=32), nullable=False),
        sa.Column("order_id", sa.String(length=255), nullable=False),
        sa.Column("status", sa.String(length=32), nullable=False),
        sa.Column("at", _TS, nullable=False),
        sa.Column("source", sa.String(length=255), nullable=False),
        sa.Column("detail", JSON, nullable=False),
        sa.Column("announced", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("recorded_at", _TS, server_default=sa.func.now(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_order_statuses")),
        sa.UniqueConstraint(
            "workspace_id",
            "order_id",
            "status",
            "at",
            name=op.f("uq_order_statuses_workspace_id_order_id_status_at"),
        ),
    )


def downgrade() -> None:
    op.drop_table("order_statuses")
    op.drop_index(op.f("ix_order_lines_order_ref"), table_name="order_lines")
    op.drop_table("order_lines")
    # Orders still waiting for their person had none before.
    op.execute("DELETE FROM orders WHERE profile_id IS NULL")
    with op.batch_alter_table("orders") as batch:
        batch.add_column(sa.Column("total_float", sa.Float(), nullable=True))
    op.execute("UPDATE orders SET total_float = COALESCE(total, 0) / 10000.0")
    with op.batch_alter_table("orders") as batch:
        for column in ("user_id", "anonymous_id", "email", "phone", "total", *_AMOUNTS,
                       "coupons", "b2b", "preorder", "cart_id", "sources", "status",
                       "created_at"):  # fmt: skip
            batch.drop_column(column)
        batch.alter_column("total_float", new_column_name="total", nullable=False,
                           existing_type=sa.Float())  # fmt: skip
        batch.alter_column("placed_at", new_column_name="ordered_at", existing_type=_TS)
        batch.alter_column("profile_id", nullable=False, existing_type=sa.String(length=32))
