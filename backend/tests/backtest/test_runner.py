"""Backtests on replayed history: the same parts as paper trading, a clock that only the replay
moves, no look-ahead, and the same trades to the byte on every run."""

from __future__ import annotations

import hashlib
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from backtest.replay_data import (
    DATA_END,
    DATA_START,
    DAY,
    HOUR,
    SEEDS,
    START,
    config_for,
    period,
    series,
)
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from alphatransformer.backtest.downloads import write_history
from alphatransformer.backtest.period import BacktestDataError, ReplayPeriod
from alphatransformer.backtest.report import PLOT_FILE, REPORT_FILE, TRADES_FILE
from alphatransformer.backtest.runner import (
    ModelOptions,
    RunOrigin,
    entrant_run_id,
    new_run_id,
    run_backtest,
    run_origin,
)
from alphatransformer.database.engine import create_engine, session_factory
from alphatransformer.database.models import Decision, TradeExecution
from alphatransformer.database.repositories import (
    DecisionFilter,
    DecisionRepository,
    ExecutionRepository,
    SnapshotRepository,
)
from alphatransformer.market.history_files import HistoryFileError
from alphatransformer.market.types import Interval
from alphatransformer.utils.clock import to_datetime

T = START + 2 * DAY  # 2024-01-13 00:00 UTC: "now" in the look-ahead test
Sessions = async_sessionmaker[AsyncSession]


@pytest.fixture
async def sessions(tmp_path: Path) -> AsyncIterator[Sessions]:
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path}/backtest.db")
    yield session_factory(engine)
    await engine.dispose()


async def backtest(tmp_path: Path, replay: ReplayPeriod, run_id: str) -> tuple[Path, str]:
    saved = await run_backtest(
        config_for(tmp_path), replay, ModelOptions(), run_id=run_id, reports=tmp_path / "reports"
    )
    return saved.folder, saved.checksum


async def decisions(sessions: Sessions, run_id: str, until_ms: int) -> list[Decision]:
    """The run's decisions made before `until_ms`, oldest first."""
    query = DecisionFilter(until=to_datetime(until_ms))
    rows = await DecisionRepository(sessions, run_id).page(query, 100_000)
    return sorted(rows, key=lambda row: row.id)


async def orders_placed(sessions: Sessions, run_id: str, before_ms: int) -> list[tuple[Any, ...]]:
    """The orders placed before `before_ms`, as placed (their later fate may differ)."""
    rows: list[TradeExecution] = await ExecutionRepository(sessions, run_id).page(limit=100_000)
    return sorted(
        (row.created_at, row.symbol, row.side, row.order_type, row.purpose, row.quantity)
        for row in rows
        if row.created_at < to_datetime(before_ms)
    )


async def equity(sessions: Sessions, run_id: str) -> list[tuple[Any, ...]]:
    """Every account snapshot of the run: time, equity, wallet, unrealized PnL."""
    _, rows = await SnapshotRepository(sessions, run_id).equity_series(None, None, 10**9)
    return rows


def decided(rows: list[Decision]) -> list[tuple[Any, ...]]:
    """What the decision rows say, without their row and cycle ids (which differ between runs)."""
    return [
        (
            row.created_at,
            row.symbol,
            row.action,
            row.status,
            row.price,
            row.quantity,
            row.notional,
            row.leverage,
            row.stop_loss,
            row.take_profit,
            row.confidence,
            row.reasoning,
        )
        for row in rows
    ]


def write_crash_after_t(root: Path) -> Path:
    """The same candles as the session's history up to T, then a 30 % gap down and another
    random walk."""
    for symbol, seed in SEEDS.items():
        past = series(symbol, DATA_START, T, seed)
        crash = series(symbol, T, DATA_END, seed + 100, start_price=past[-1].close * 0.7)
        write_history(root, past + crash)
    return root


async def test_a_backtest_repeats_byte_for_byte_and_writes_its_report(
    tmp_path: Path, history: Path, sessions: Sessions
) -> None:
    replay = period(history, days=3)

    first_folder, first = await backtest(tmp_path, replay, "bt-first")
    second_folder, second = await backtest(tmp_path, replay, "bt-second")

    trades = (first_folder / TRADES_FILE).read_bytes()
    assert first == second == hashlib.sha256(trades).hexdigest()
    assert trades == (second_folder / TRADES_FILE).read_bytes()
    assert trades.count(b"\n") > 2, "the rules model should have traded in three days"
    assert (first_folder / PLOT_FILE).read_bytes().startswith(b"\x89PNG")
    report = json.loads((first_folder / REPORT_FILE).read_text())
    assert report["trades_csv_sha256"] == first
    assert report["cycles"] == 72
    assert report["performance"]["equity"]["start_equity"] == "10000.00000000"
    assert report["performance"]["open_trades"] == 0, "the end closes every position"
    # Each run sees only its own rows of the shared database, and they say the same.
    end = replay.end_ms + 1
    first_rows = await decisions(sessions, "bt-first", end)
    assert decided(first_rows) == decided(await decisions(sessions, "bt-second", end))
    assert await equity(sessions, "bt-first") == await equity(sessions, "bt-second")


async def test_decisions_are_made_on_the_replayed_clock(
    tmp_path: Path, history: Path, sessions: Sessions
) -> None:
    replay = period(history, days=1, every=Interval.H4)

    await backtest(tmp_path, replay, "bt-clock")

    rows = await decisions(sessions, "bt-clock", replay.end_ms)
    assert sorted({row.created_at for row in rows}) == [
        to_datetime(START + k * 4 * HOUR) for k in range(6)
    ]


async def test_a_decision_at_t_is_the_same_whatever_happens_after_t(
    tmp_path: Path, history: Path, sessions: Sessions
) -> None:
    # Given the same candles up to T, then the real future, a crash, or no future at all.
    crashed = write_crash_after_t(tmp_path / "crash")

    await backtest(tmp_path, period(history, days=3, every=Interval.H2), "future")
    await backtest(tmp_path, period(crashed, days=3, every=Interval.H2), "crash")
    await backtest(tmp_path, period(history, days=2, every=Interval.H2), "no-future")

    # Then every decision up to T (included) is the same, and so is every order placed.
    up_to_t = decided(await decisions(sessions, "future", T + 1))
    assert up_to_t == decided(await decisions(sessions, "crash", T + 1))
    assert up_to_t[:-3] == decided(await decisions(sessions, "no-future", T))
    assert up_to_t[-1][0] == to_datetime(T)
    placed = await orders_placed(sessions, "future", T)
    assert placed, "the rules model should have traded before T"
    assert placed == await orders_placed(sessions, "crash", T)
    assert placed == await orders_placed(sessions, "no-future", T)
    # And the futures did differ: after T the decisions part ways.
    after = decided(await decisions(sessions, "future", T + DAY))
    assert after != decided(await decisions(sessions, "crash", T + DAY))


async def test_history_that_stops_before_the_end_is_refused(tmp_path: Path, history: Path) -> None:
    replay = ReplayPeriod(history, START, DATA_END + DAY, Interval.H1)

    with pytest.raises(BacktestDataError, match="before the backtest's end"):
        await backtest(tmp_path, replay, "short")


async def test_a_missing_warm_up_month_is_refused(tmp_path: Path, history: Path) -> None:
    # The warm-up of a backtest starting on January 2nd reaches back into December.
    replay = ReplayPeriod(history, DATA_START + DAY, DATA_START + 2 * DAY, Interval.H1)

    with pytest.raises(HistoryFileError, match="2023-12"):
        await backtest(tmp_path, replay, "no-warm-up")


@pytest.mark.parametrize(
    ("start", "end", "every", "message"),
    [
        (START, START, Interval.H1, "end after it starts"),
        (START + 60_000, START + DAY, Interval.H1, "candle boundaries"),
        (START, START + DAY, Interval.M5, "whole number"),
    ],
    ids=["empty", "unaligned", "uneven-interval"],
)
def test_a_period_the_replay_cannot_step_through_is_refused(
    history: Path, start: int, end: int, every: Interval, message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        ReplayPeriod(history, start, end, every).check(config_for(history).market)


AT_NOON = datetime(2026, 12, 5, 12, tzinfo=UTC)


@pytest.mark.parametrize(
    ("run_id", "origin"),
    [
        (
            "backtest-20261205T120000-c3d4",
            RunOrigin("backtest", None, "backtest-20261205T120000-c3d4", AT_NOON),
        ),
        (
            "arena-20261205T120000-a1b2-buy-and-hold",
            RunOrigin("arena", "arena-20261205T120000-a1b2", "buy-and-hold", AT_NOON),
        ),
        ("arena-20261205T120000-a1b2", None),
        ("backtest-20261205T120000-c3d4-extra", None),
        ("live", None),
        ("live-20261205T120000-a1b2", None),
    ],
    ids=["backtest", "arena-entrant", "arena-itself", "backtest-with-a-name", "live", "live-x"],
)
def test_a_run_id_tells_its_kind_arena_name_and_start(
    run_id: str, origin: RunOrigin | None
) -> None:
    assert run_origin(run_id) == origin


def test_an_entrant_s_run_id_names_its_arena() -> None:
    arena_id = new_run_id("arena")

    origin = run_origin(entrant_run_id(arena_id, "gpt-4.1"))

    assert origin is not None
    assert (origin.arena_id, origin.name) == (arena_id, "gpt-4.1")
