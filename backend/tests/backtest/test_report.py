"""The report's trade list: exact decimals, UTC times, nothing that differs between runs."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from alphatransformer.backtest.report import trades_csv
from alphatransformer.trading.performance import ClosedTrade, TradeSide


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
