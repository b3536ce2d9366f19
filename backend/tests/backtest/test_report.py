"""The report: the trade list (exact decimals, UTC times, nothing that differs between runs),
the model errors in `report.json`, and the arena's chart of every entrant's equity."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import numpy as np

from alphatransformer.backtest.report import (
    REPORT_FILE,
    RunRecord,
    equity_curves,
    trades_csv,
    write_report,
)
from alphatransformer.database.repositories import UsageTotals
from alphatransformer.trading.performance import ClosedTrade, LlmUsage, TradeSide, performance


def test_the_trade_list_holds_exact_decimals_and_utc_times() -> None:
    # Long 0.010 BTC from 42000.0 to 42420.0: 4.200 gross, 0.4221 of fees, 3.7779 net.
    trade = ClosedTrade(
        symbol="BTCUSDT",
        side=TradeSide.LONG,
        opened_at=datetime(2024, 1, 11, tzinfo=UTC),
        closed_at=datetime(2024, 1, 11, 4, 30, tzinfo=UTC),
        quantity=Decimal("0.010"),
        entry_price=Decimal("42000.0"),
        exit_price=Decimal("42420.0"),
        gross_pnl=Decimal("4.200"),
        fees=Decimal("0.4221"),
        net_pnl=Decimal("3.7779"),
        hold_time=timedelta(hours=4, minutes=30),
    )

    assert trades_csv([trade]).decode() == (
        "symbol,side,opened_at,closed_at,quantity,entry_price,exit_price,gross_pnl,fees,"
        "net_pnl,hold_seconds\n"
        "BTCUSDT,long,2024-01-11T00:00:00.000+00:00,2024-01-11T04:30:00.000+00:00,0.010,"
        "42000.0,42420.0,4.200,0.4221,3.7779,16200\n"
    )


def test_no_trades_is_a_header_alone() -> None:
    assert trades_csv([]).count(b"\n") == 1


def test_the_report_counts_the_cycles_whose_model_call_failed(tmp_path: Path) -> None:
    usage = UsageTotals(10, 0, 0, Decimal(0), 0.0, errors=3)
    record = RunRecord(performance([], [], Decimal(0), LlmUsage(0, 0, Decimal(0))), [], [], usage)

    write_report(tmp_path, record, {}, title="ten cycles, three failed")

    model_usage = json.loads((tmp_path / REPORT_FILE).read_text())["model_usage"]
    assert (model_usage["cycles"], model_usage["model_errors"]) == (10, 3)


def test_the_arena_chart_draws_each_entrant_s_equity_as_a_labelled_line() -> None:
    start = datetime(2024, 1, 11, tzinfo=UTC)
    hours = [start + timedelta(hours=h) for h in range(3)]
    curves = {
        "rules": list(zip(hours, map(Decimal, ("10000", "10100", "10050")), strict=True)),
        "gpt": list(zip(hours[:2], map(Decimal, ("10000", "9900")), strict=True)),
    }

    figure = equity_curves(curves, title="Arena")

    [axes] = figure.axes
    lines = axes.get_lines()
    assert [line.get_label() for line in lines] == ["rules", "gpt"]
    assert [np.asarray(line.get_ydata()).tolist() for line in lines] == [
        [10000, 10100, 10050],
        [10000, 9900],
    ]
    legend = axes.get_legend()
    assert legend is not None
    assert [text.get_text() for text in legend.get_texts()] == ["rules", "gpt"]
