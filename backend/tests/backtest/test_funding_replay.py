"""Funding in backtests: rates downloaded beside the candles are replayed, a position held over
a funding time pays notional x rate into the equity, and a backtest without funding files still
runs but says, in its log and its report, that funding was left out."""

from __future__ import annotations

import json
import logging
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from backtest.replay_data import (
    DATA_END,
    DATA_START,
    HOUR,
    SEEDS,
    START,
    config_for,
    period,
    series,
)

from alphatransformer.backtest.downloads import write_history
from alphatransformer.backtest.period import ReplayPeriod
from alphatransformer.backtest.report import REPORT_FILE, FundingRecord
from alphatransformer.backtest.runner import (
    RunResult,
    buy_and_hold_entrant,
    run_entrants,
    save_run,
)
from alphatransformer.config.schema import AppConfig
from alphatransformer.market.history_files import SettledFunding, funding_path, write_funding

BTC = "BTCUSDT"
FEB_1 = 1_706_745_600_000  # 2024-02-01 00:00 UTC
FUNDING_AT = START + 8 * HOUR  # 2024-01-11 08:00 UTC, the one funding inside the replay
RATE = 0.0005  # 5 bp: the long pays
OTHER_RATE = -0.0003  # every other funding: a long paid at the wrong time would receive


def write_btc_market(root: Path) -> Path:
    write_history(root, series(BTC, DATA_START, DATA_END, SEEDS[BTC]))
    return root


def write_btc_funding(root: Path) -> None:
    """Every 8 h of January and February; the one at 08:00 on the 11th stamped 1 ms late, as
    Binance stamps some."""
    times = range(DATA_START, DATA_END, 8 * HOUR)
    fundings = [
        SettledFunding(t + 1, 8, RATE) if t == FUNDING_AT else SettledFunding(t, 8, OTHER_RATE)
        for t in times
    ]
    january = [f for f in fundings if f.calc_time < FEB_1]
    write_funding(funding_path(root, BTC, "2024-01"), january)
    write_funding(funding_path(root, BTC, "2024-02"), fundings[len(january) :])


async def buy_and_hold(config: AppConfig, replay: ReplayPeriod, run_id: str) -> RunResult:
    [result] = await run_entrants([buy_and_hold_entrant(run_id, config)], [run_id], replay)
    return result


def report(result: RunResult, folder: Path, config: AppConfig, replay: ReplayPeriod) -> Any:
    """The funding part of the run's `report.json`."""
    saved = save_run(result, folder, config, replay, None)
    return json.loads((saved.folder / REPORT_FILE).read_text())["funding"]


async def test_a_position_held_over_a_funding_time_pays_notional_times_rate(
    tmp_path: Path,
) -> None:
    root = write_btc_market(tmp_path / "history")
    write_btc_funding(root)
    config = config_for(tmp_path, symbols=[BTC])
    replay = period(root, days=0.5)  # 00:00 to 12:00: buy at 00:00, one funding, at 08:00

    with_funding = await buy_and_hold(config, replay, "bh-with-funding")

    # Given: 0.225 BTC bought at 00:00, and 42,320.37 the close of the candle ending at 08:00.
    [trade] = with_funding.record.trades
    assert (trade.quantity, trade.opened_at.hour, trade.closed_at.hour) == (Decimal("0.225"), 0, 12)
    assert series(BTC, DATA_START, FUNDING_AT, SEEDS[BTC])[-1].close == 42_320.37
    # Then: 0.225 x 42,320.37 x 0.0005 = 4.761041625, booked to 8 decimals, half up.
    paid = Decimal("4.76104163")
    assert with_funding.record.funding == FundingRecord((), paid=paid, received=Decimal(0))
    # The equity: 10,000 + the trade's net PnL (-341.25357375) - 4.76104163 of funding.
    equity = with_funding.record.performance.equity
    assert trade.net_pnl == Decimal("-341.25357375")
    assert equity.end_equity == Decimal(10_000) + trade.net_pnl - paid == Decimal("9653.98538462")
    assert report(with_funding, tmp_path / "with", config, replay) == {
        "replayed": True,
        "paid": "4.76104163",
        "received": "0",
        "net": "-4.76104163",
    }


async def test_a_backtest_without_funding_files_runs_and_says_funding_was_left_out(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    root = write_btc_market(tmp_path / "history")
    config = config_for(tmp_path, symbols=[BTC])
    replay = period(root, days=0.5)

    with caplog.at_level(logging.WARNING, logger="alphatransformer.backtest"):
        result = await buy_and_hold(config, replay, "bh-without-funding")

    assert result.record.funding == FundingRecord((BTC,), Decimal(0), Decimal(0))
    [warning] = [
        r
        for r in caplog.records
        if r.name == "alphatransformer.backtest.period" and "funding" in r.getMessage()
    ]
    assert warning.levelno == logging.WARNING
    assert warning.getMessage().startswith("no funding files for BTCUSDT in ")
    summary = report(result, tmp_path / "without", config, replay)
    assert summary == {
        "replayed": False,
        "paid": "0",
        "received": "0",
        "net": "0",
        "not_replayed_for": [BTC],
        "note": "no funding files for BTCUSDT: positions in them paid no funding, so the PnL "
        "leaves it out (alphatransformer data download fetches them)",
    }
