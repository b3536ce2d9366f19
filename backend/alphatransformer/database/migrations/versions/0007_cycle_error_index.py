"""A partial index of the cycles that ended in a model error: `/api/runs` and the arena
leaderboard count them per run, and without it SQLite reads every cycle row of the run
(14,400 for a month of 3-minute decisions) to find the few with an error.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-05
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_ERRORS = sa.text("error IS NOT NULL")


def upgrade() -> None:
    op.create_index(
        "ix_decision_cycles_run_errors",
        "decision_cycles",
        ["run_id"],
        sqlite_where=_ERRORS,
        postgresql_where=_ERRORS,
    )


def downgrade() -> None:
    op.drop_index("ix_decision_cycles_run_errors", table_name="decision_cycles")
