"""Listing runs stays cheap however long they are: SQLite answers every query `RunRepository`
sends with index seeks, never by reading a table or an index from end to end."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

from backtest.test_api import seed
from sqlalchemy import event

from alphatransformer.database.engine import create_engine, session_factory
from alphatransformer.database.migrate import upgrade_database
from alphatransformer.database.repositories import RunRepository


async def test_listing_and_summarising_runs_only_seek_indexes(tmp_path: Path) -> None:
    path = tmp_path / "runs.db"
    database = create_engine(f"sqlite+aiosqlite:///{path}")
    await upgrade_database(database)
    await seed(database, "backtest-20261205T120000-c3d4", ["10000", "10100"])
    sent: list[tuple[str, Any]] = []

    @event.listens_for(database.sync_engine, "before_cursor_execute")
    def record(*args: Any) -> None:
        _connection, _cursor, statement, parameters = args[:4]
        sent.append((statement, parameters))

    runs = RunRepository(session_factory(database))
    await runs.summaries(await runs.newest_run_ids("backtest-", 50))
    await database.dispose()

    with sqlite3.connect(path) as connection:
        plans = [
            detail
            for statement, parameters in sent
            for *_, detail in connection.execute(f"EXPLAIN QUERY PLAN {statement}", parameters)
        ]
    tables = [step for step in plans if "account_snapshots" in step or "decision_cycles" in step]
    assert len(sent) == 2
    assert tables, plans
    assert all(step.startswith("SEARCH") for step in tables), tables
    assert any("ix_decision_cycles_run_errors" in step for step in tables), (
        "model errors are counted from the partial index of failed cycles"
    )
