"""An index for the newest order change of a run: `/api/performance` asks for it on every
request (its cache marker), and without the index SQLite reads every order row of the run.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-24
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(
        "ix_trade_executions_run_updated_at", "trade_executions", ["run_id", "updated_at"]
    )


def downgrade() -> None:
    op.drop_index("ix_trade_executions_run_updated_at", table_name="trade_executions")
