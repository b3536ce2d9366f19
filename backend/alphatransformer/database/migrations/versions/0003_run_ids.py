"""Run ids: live trading, backtests and arena entrants share one database, each in its own run.

Existing rows belong to the live run. Indexes lead with the run id, and decision and order lists
(newest first by id) get one index per filter column. Cycle ids grow to hold the run id.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-24
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("account_snapshots", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("run_id", sa.String(length=64), server_default="live", nullable=False)
        )
        batch_op.drop_index(batch_op.f("ix_account_snapshots_taken_at"))
        batch_op.create_index(
            "ix_account_snapshots_run_taken_at", ["run_id", "taken_at"], unique=False
        )

    with op.batch_alter_table("decision_cycles", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("run_id", sa.String(length=64), server_default="live", nullable=False)
        )
        batch_op.alter_column(
            "id",
            existing_type=sa.VARCHAR(length=40),
            type_=sa.String(length=80),
            existing_nullable=False,
        )
        batch_op.drop_index(batch_op.f("ix_decision_cycles_started_at"))
        batch_op.create_index(
            "ix_decision_cycles_run_started_at", ["run_id", "started_at"], unique=False
        )

    with op.batch_alter_table("decisions", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("run_id", sa.String(length=64), server_default="live", nullable=False)
        )
        batch_op.alter_column(
            "cycle_id",
            existing_type=sa.VARCHAR(length=40),
            type_=sa.String(length=80),
            existing_nullable=False,
        )
        batch_op.drop_index(batch_op.f("ix_decisions_action_created_at"))
        batch_op.drop_index(batch_op.f("ix_decisions_created_at"))
        batch_op.drop_index(batch_op.f("ix_decisions_status_created_at"))
        batch_op.drop_index(batch_op.f("ix_decisions_symbol_created_at"))
        batch_op.create_index("ix_decisions_run_action", ["run_id", "action", "id"], unique=False)
        batch_op.create_index("ix_decisions_run_created_at", ["run_id", "created_at"], unique=False)
        batch_op.create_index("ix_decisions_run_id", ["run_id", "id"], unique=False)
        batch_op.create_index("ix_decisions_run_status", ["run_id", "status", "id"], unique=False)
        batch_op.create_index("ix_decisions_run_symbol", ["run_id", "symbol", "id"], unique=False)

    with op.batch_alter_table("trade_executions", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("run_id", sa.String(length=64), server_default="live", nullable=False)
        )
        batch_op.drop_index(batch_op.f("ix_trade_executions_created_at"))
        batch_op.drop_index(batch_op.f("ix_trade_executions_status"))
        batch_op.drop_index(batch_op.f("ix_trade_executions_symbol_created_at"))
        batch_op.create_index("ix_trade_executions_run_id", ["run_id", "id"], unique=False)
        batch_op.create_index(
            "ix_trade_executions_run_status", ["run_id", "status", "id"], unique=False
        )
        batch_op.create_index(
            "ix_trade_executions_run_symbol", ["run_id", "symbol", "id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("trade_executions", schema=None) as batch_op:
        batch_op.drop_index("ix_trade_executions_run_symbol")
        batch_op.drop_index("ix_trade_executions_run_status")
        batch_op.drop_index("ix_trade_executions_run_id")
        batch_op.create_index(
            batch_op.f("ix_trade_executions_symbol_created_at"),
            ["symbol", "created_at"],
            unique=False,
        )
        batch_op.create_index(batch_op.f("ix_trade_executions_status"), ["status"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_trade_executions_created_at"), ["created_at"], unique=False
        )
        batch_op.drop_column("run_id")

    with op.batch_alter_table("decisions", schema=None) as batch_op:
        batch_op.drop_index("ix_decisions_run_symbol")
        batch_op.drop_index("ix_decisions_run_status")
        batch_op.drop_index("ix_decisions_run_id")
        batch_op.drop_index("ix_decisions_run_created_at")
        batch_op.drop_index("ix_decisions_run_action")
        batch_op.create_index(
            batch_op.f("ix_decisions_symbol_created_at"), ["symbol", "created_at"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_decisions_status_created_at"), ["status", "created_at"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_decisions_created_at"), ["created_at"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_decisions_action_created_at"), ["action", "created_at"], unique=False
        )
        batch_op.alter_column(
            "cycle_id",
            existing_type=sa.String(length=80),
            type_=sa.VARCHAR(length=40),
            existing_nullable=False,
        )
        batch_op.drop_column("run_id")

    with op.batch_alter_table("decision_cycles", schema=None) as batch_op:
        batch_op.drop_index("ix_decision_cycles_run_started_at")
        batch_op.create_index(
            batch_op.f("ix_decision_cycles_started_at"), ["started_at"], unique=False
        )
        batch_op.alter_column(
            "id",
            existing_type=sa.String(length=80),
            type_=sa.VARCHAR(length=40),
            existing_nullable=False,
        )
        batch_op.drop_column("run_id")

    with op.batch_alter_table("account_snapshots", schema=None) as batch_op:
        batch_op.drop_index("ix_account_snapshots_run_taken_at")
        batch_op.create_index(
            batch_op.f("ix_account_snapshots_taken_at"), ["taken_at"], unique=False
        )
        batch_op.drop_column("run_id")
