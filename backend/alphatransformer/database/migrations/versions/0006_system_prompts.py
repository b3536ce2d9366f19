"""System prompts stored once: each cycle's transcript used to open with the whole system
message (~10 KB, the same every cycle); it now lives in `system_prompts` and the cycle points
at it. Existing transcripts are split the same way, and joined again on downgrade.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-24
"""

from collections.abc import Iterator, Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

from alphatransformer.database.models import SystemPrompt

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_BATCH = 1000
_prompts = sa.table("system_prompts", sa.column("hash", sa.String), sa.column("message", sa.JSON))
_cycles = sa.table(
    "decision_cycles",
    sa.column("id", sa.String),
    sa.column("transcript", sa.JSON),
    sa.column("system_prompt_hash", sa.String),
)


def upgrade() -> None:
    op.create_table(
        "system_prompts",
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.Column("message", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("hash"),
    )
    with op.batch_alter_table("decision_cycles") as batch:
        batch.add_column(sa.Column("system_prompt_hash", sa.String(length=64), nullable=True))
        batch.create_foreign_key(
            "fk_decision_cycles_system_prompt_hash",
            "system_prompts",
            ["system_prompt_hash"],
            ["hash"],
        )
    _split_transcripts(op.get_bind())


def downgrade() -> None:
    _join_transcripts(op.get_bind())
    with op.batch_alter_table("decision_cycles") as batch:
        batch.drop_constraint("fk_decision_cycles_system_prompt_hash", type_="foreignkey")
        batch.drop_column("system_prompt_hash")
    op.drop_table("system_prompts")


def _split_transcripts(bind: sa.Connection) -> None:
    stored: set[str] = set()
    for rows in _batches(bind, _cycles.c.transcript.is_not(None)):
        for cycle_id, transcript in rows:
            if not transcript or transcript[0].get("type") != "system":
                continue
            digest = SystemPrompt.digest(transcript[0])
            if digest not in stored:
                bind.execute(sa.insert(_prompts).values(hash=digest, message=transcript[0]))
                stored.add(digest)
            bind.execute(
                sa.update(_cycles)
                .where(_cycles.c.id == cycle_id)
                .values(transcript=transcript[1:], system_prompt_hash=digest)
            )


def _join_transcripts(bind: sa.Connection) -> None:
    messages = dict(bind.execute(sa.select(_prompts.c.hash, _prompts.c.message)).all())
    pointing = _cycles.c.system_prompt_hash.is_not(None)
    for rows in _batches(bind, pointing, _cycles.c.system_prompt_hash):
        for row in rows:
            joined = [messages[row.system_prompt_hash], *(row.transcript or [])]
            update = sa.update(_cycles).where(_cycles.c.id == row.id)
            bind.execute(update.values(transcript=joined))


def _batches(
    bind: sa.Connection, condition: Any, *more: sa.ColumnClause[Any]
) -> Iterator[Sequence[sa.Row[Any, Any]]]:
    """The cycles' (id, transcript, *more) in id order, a batch at a time (a year of cycles
    would not fit in memory at once)."""
    after = ""
    while True:
        query = (
            sa.select(_cycles.c.id, _cycles.c.transcript, *more)
            .where(condition, _cycles.c.id > after)
            .order_by(_cycles.c.id)
            .limit(_BATCH)
        )
        rows = bind.execute(query).all()
        if not rows:
            return
        yield rows
        after = rows[-1][0]
