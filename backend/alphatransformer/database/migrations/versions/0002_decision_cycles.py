"""Decision cycles hold the model's usage, cost and transcript; decisions point at their cycle.

Existing decisions keep their numbers: one cycle row is made per distinct cycle id from them
(tokens and latency were repeated on every row of a cycle, cost was split across them).

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-24
"""

from collections.abc import Sequence
from decimal import Decimal

import sqlalchemy as sa
from alembic import op

import alphatransformer.database.types

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_USAGE_COLUMNS = ("prompt_hash", "input_tokens", "output_tokens", "latency_ms", "cost_usd")


def upgrade() -> None:
    op.create_table(
        "decision_cycles",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column(
            "started_at",
            alphatransformer.database.types.UTCDateTime(timezone=True),
            nullable=False,
        ),
        sa.Column("model", sa.String(length=100), nullable=False),
        sa.Column("prompt_hash", sa.String(length=64), nullable=True),
        sa.Column("input_tokens", sa.Integer(), nullable=False),
        sa.Column("output_tokens", sa.Integer(), nullable=False),
        sa.Column("latency_ms", sa.Double(), nullable=False),
        sa.Column(
            "cost_usd", alphatransformer.database.types.ExactDecimal(length=64), nullable=False
        ),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("transcript", sa.JSON(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_decision_cycles_started_at", "decision_cycles", ["started_at"])
    op.execute(
        """
        INSERT INTO decision_cycles
            (id, started_at, model, prompt_hash, input_tokens, output_tokens, latency_ms,
             cost_usd, error, transcript)
        SELECT cycle_id, MIN(created_at), MIN(model), MIN(prompt_hash), MAX(input_tokens),
               MAX(output_tokens), MAX(latency_ms), '0', NULL, NULL
        FROM decisions GROUP BY cycle_id
        """
    )
    _restore_split_costs()
    with op.batch_alter_table("decisions") as batch_op:
        batch_op.create_foreign_key(
            "fk_decisions_cycle_id_decision_cycles", "decision_cycles", ["cycle_id"], ["id"]
        )
        for column in _USAGE_COLUMNS:
            batch_op.drop_column(column)


def _restore_split_costs() -> None:
    """Sum each cycle's per-row cost shares exactly (Decimal), which SQL text columns can't."""

    connection = op.get_bind()
    totals: dict[str, Decimal] = {}
    for cycle_id, cost in connection.execute(sa.text("SELECT cycle_id, cost_usd FROM decisions")):
        totals[cycle_id] = totals.get(cycle_id, Decimal(0)) + Decimal(cost)
    for cycle_id, total in totals.items():
        connection.execute(
            sa.text("UPDATE decision_cycles SET cost_usd = :cost WHERE id = :id"),
            {"cost": format(total, "f"), "id": cycle_id},
        )


def _split_costs_again() -> None:
    connection = op.get_bind()
    rows = connection.execute(
        sa.text(
            "SELECT c.id, c.cost_usd, COUNT(d.id) FROM decision_cycles c "
            "JOIN decisions d ON d.cycle_id = c.id GROUP BY c.id"
        )
    )
    for cycle_id, cost, count in list(rows):
        connection.execute(
            sa.text("UPDATE decisions SET cost_usd = :cost WHERE cycle_id = :id"),
            {"cost": format(Decimal(cost) / count, "f"), "id": cycle_id},
        )


def downgrade() -> None:
    with op.batch_alter_table("decisions") as batch_op:
        batch_op.drop_constraint("fk_decisions_cycle_id_decision_cycles", type_="foreignkey")
        batch_op.add_column(sa.Column("prompt_hash", sa.String(length=64), nullable=True))
        batch_op.add_column(
            sa.Column("input_tokens", sa.Integer(), nullable=False, server_default="0")
        )
        batch_op.add_column(
            sa.Column("output_tokens", sa.Integer(), nullable=False, server_default="0")
        )
        batch_op.add_column(
            sa.Column("latency_ms", sa.Double(), nullable=False, server_default="0")
        )
        batch_op.add_column(
            sa.Column(
                "cost_usd",
                alphatransformer.database.types.ExactDecimal(length=64),
                nullable=False,
                server_default="0",
            )
        )
    for column in _USAGE_COLUMNS[:-1]:
        op.execute(
            f"UPDATE decisions SET {column} = "  # noqa: S608 - fixed column names
            f"(SELECT c.{column} FROM decision_cycles c WHERE c.id = decisions.cycle_id)"
        )
    _split_costs_again()
    op.drop_index("ix_decision_cycles_started_at", table_name="decision_cycles")
    op.drop_table("decision_cycles")
