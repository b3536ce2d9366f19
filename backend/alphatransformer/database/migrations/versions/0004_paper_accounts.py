"""Paper accounts: the paper exchange's state, kept per run so a restart resumes it.

One row per account holds its positions and settings as a versioned JSON document; its orders
and income ledger get tables of their own, since they grow for as long as the account trades.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-24
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from alphatransformer.database.types import ExactDecimal

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "paper_accounts",
        sa.Column("run_id", sa.String(length=64), nullable=False),
        sa.Column("state", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("run_id"),
    )
    op.create_table(
        "paper_income",
        sa.Column("run_id", sa.String(length=64), nullable=False),
        sa.Column("tran_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("symbol", sa.String(length=20), nullable=False),
        sa.Column("income_type", sa.String(length=24), nullable=False),
        sa.Column("income", ExactDecimal(length=64), nullable=False),
        sa.Column("asset", sa.String(length=16), nullable=False),
        sa.Column("info", sa.String(length=64), nullable=False),
        sa.Column("time_ms", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("run_id", "tran_id"),
    )
    op.create_table(
        "paper_orders",
        sa.Column("run_id", sa.String(length=64), nullable=False),
        sa.Column("client_order_id", sa.String(length=64), nullable=False),
        sa.Column("order_id", sa.Integer(), nullable=False),
        sa.Column("symbol", sa.String(length=20), nullable=False),
        sa.Column("side", sa.String(length=4), nullable=False),
        sa.Column("order_type", sa.String(length=24), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("quantity", ExactDecimal(length=64), nullable=False),
        sa.Column("filled_quantity", ExactDecimal(length=64), nullable=False),
        sa.Column("avg_price", ExactDecimal(length=64), nullable=True),
        sa.Column("price", ExactDecimal(length=64), nullable=True),
        sa.Column("stop_price", ExactDecimal(length=64), nullable=True),
        sa.Column("reduce_only", sa.Boolean(), nullable=False),
        sa.Column("close_position", sa.Boolean(), nullable=False),
        sa.Column("fee", ExactDecimal(length=64), nullable=False),
        sa.Column("fee_asset", sa.String(length=16), nullable=False),
        sa.Column("realized_pnl", ExactDecimal(length=64), nullable=False),
        sa.Column("update_time_ms", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("run_id", "client_order_id"),
    )


def downgrade() -> None:
    op.drop_table("paper_orders")
    op.drop_table("paper_income")
    op.drop_table("paper_accounts")
