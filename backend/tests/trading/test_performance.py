"""Performance analytics as a specification: every figure below is worked out by hand in the
comments next to it. Fees are 0.04% of notional (Binance USDⓈ-M taker) unless a test says
otherwise; times are UTC from 2025-01-01 00:00.
"""

from __future__ import annotations

import math
import re
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import TypeAdapter

from alphatransformer.database.models import ExecutionPurpose
from alphatransformer.trading.models import OrderSide
from alphatransformer.trading.performance import (
    ClosedTrade,
    EquityPoint,
    ExecutionFill,
    LlmUsage,
    TradeMetrics,
    TradeSide,
    closed_trades,
    downsample,
    equity_metrics,
    performance,
    resample,
    trade_book,
    trade_metrics,
)

T0 = datetime(2025, 1, 1, tzinfo=UTC)
# RFC 3339 appendix A `duration` (what OpenAPI's `format: duration` means): whole numbers only.
RFC3339_DURATION = re.compile(
    r"P(?:(?:\d+D)?(?:T(?:\d+H(?:\d+M(?:\d+S)?)?|\d+M(?:\d+S)?|\d+S))?|\d+W)"
)
D = Decimal
BUY, SELL = OrderSide.BUY, OrderSide.SELL
ENTRY, CLOSE = ExecutionPurpose.ENTRY, ExecutionPurpose.CLOSE
STOP_LOSS, TAKE_PROFIT = ExecutionPurpose.STOP_LOSS, ExecutionPurpose.TAKE_PROFIT


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def fill(
    symbol: str,
    side: OrderSide,
    purpose: ExecutionPurpose,
    quantity: str,
    price: str,
    fee: str,
    minutes: float,
    pnl: str = "0",
) -> ExecutionFill:
    return ExecutionFill(symbol, side, purpose, D(quantity), D(price), D(fee), D(pnl), at(minutes))


def curve(*values: str, step: timedelta = timedelta(days=1)) -> list[EquityPoint]:
    return [(T0 + i * step, D(value)) for i, value in enumerate(values)]


# BTC long: buy 0.010 @ 60,000 (fee 600 x 0.0004 = 0.24), sell @ 61,000 two hours later
# (realized 0.010 x 1,000 = 10.00, fee 610 x 0.0004 = 0.244).
BTC_LONG_WIN = [
    fill("BTCUSDT", BUY, ENTRY, "0.010", "60000", "0.24", 0),
    fill("BTCUSDT", SELL, CLOSE, "0.010", "61000", "0.244", 120, pnl="10.00"),
]
# ETH short: sell 1.0 @ 3,000 (fee 1.20), bought back @ 3,050 half an hour later
# (realized 1.0 x -50 = -50, fee 3,050 x 0.0004 = 1.22).
ETH_SHORT_LOSS = [
    fill("ETHUSDT", SELL, ENTRY, "1.0", "3000", "1.20", 10),
    fill("ETHUSDT", BUY, CLOSE, "1.0", "3050", "1.22", 40, pnl="-50"),
]


class TestClosedTrades:
    def test_long_win_and_short_loss_carry_their_fees(self) -> None:
        # given a winning long and a losing short, interleaved in time
        fills = BTC_LONG_WIN + ETH_SHORT_LOSS

        # when
        eth, btc = closed_trades(fills)

        # then the ETH short closed first (minute 40) and BTC at minute 120
        assert btc == ClosedTrade(
            symbol="BTCUSDT",
            side=TradeSide.LONG,
            opened_at=at(0),
            closed_at=at(120),
            quantity=D("0.010"),
            entry_price=D("60000"),
            exit_price=D("61000"),
            gross_pnl=D("10.00"),
            fees=D("0.484"),  # 0.24 + 0.244
            net_pnl=D("9.516"),  # 10.00 - 0.484
            hold_time=timedelta(hours=2),
        )
        assert eth.side is TradeSide.SHORT
        assert (eth.entry_price, eth.exit_price) == (D("3000"), D("3050"))
        assert eth.fees == D("2.42")  # 1.20 + 1.22
        assert eth.net_pnl == D("-52.42")  # -50 - 2.42
        assert eth.hold_time == timedelta(minutes=30)

    def test_stop_loss_in_two_partial_exits_is_one_trade_at_the_weighted_exit_price(self) -> None:
        # given a 10 SOL long @ 200 (fee 2,000 x 0.0004 = 0.80) stopped out in two fills:
        # 4 @ 190 (pnl 4 x -10 = -40, fee 760 x 0.0004 = 0.304)
        # 6 @ 189.5 (pnl 6 x -10.5 = -63, fee 1,137 x 0.0004 = 0.4548)
        entry = fill("SOLUSDT", BUY, ENTRY, "10", "200", "0.80", 0)
        first = fill("SOLUSDT", SELL, STOP_LOSS, "4", "190", "0.304", 5, pnl="-40")
        second = fill("SOLUSDT", SELL, STOP_LOSS, "6", "189.5", "0.4548", 6, pnl="-63")

        # when only the first exit has filled, the trade is still open
        assert closed_trades([entry, first]) == []
        assert trade_book([entry, first]).open_trades == 1

        # when both have filled
        (trade,) = closed_trades([entry, first, second])

        # then exit price = (760 + 1,137) / 10 = 189.7; gross -40 - 63 = -103;
        # fees 0.80 + 0.304 + 0.4548 = 1.5588; net -103 - 1.5588 = -104.5588
        assert trade.quantity == D("10")
        assert trade.exit_price == D("189.7")
        assert trade.gross_pnl == D("-103")
        assert trade.fees == D("1.5588")
        assert trade.net_pnl == D("-104.5588")
        assert trade.closed_at == at(6)

    def test_exit_without_a_known_entry_is_set_aside_not_counted(self) -> None:
        # given a liquidation (autoclose) of a position opened before the history starts
        liquidation = fill("BTCUSDT", SELL, CLOSE, "0.5", "58000", "11.6", 0, pnl="-900")

        # when
        book = trade_book([liquidation, *BTC_LONG_WIN])

        # then the BTC round trip is the only trade, and the orphan is reported
        assert [t.gross_pnl for t in book.closed] == [D("10.00")]
        assert book.unmatched_exits == [liquidation]
        assert book.open_trades == 0

    def test_unfilled_orders_count_for_nothing(self) -> None:
        # given a take profit cancelled with nothing filled after the close
        cancelled_tp = fill("BTCUSDT", SELL, TAKE_PROFIT, "0", "65000", "0", 121)

        # when / then the trade is exactly the one without it, and nothing is unmatched
        book = trade_book([*BTC_LONG_WIN, cancelled_tp])
        assert book.closed == closed_trades(BTC_LONG_WIN)
        assert book.unmatched_exits == []

    def test_fills_are_taken_in_time_order_whatever_the_given_order(self) -> None:
        assert closed_trades(BTC_LONG_WIN[::-1]) == closed_trades(BTC_LONG_WIN)

    def test_reducing_fill_larger_than_the_position_flips_it_like_one_way_mode(self) -> None:
        # given a 1 BTC long @ 100 (fee 0.04), then a 3 BTC sell @ 110 (fee 0.30, pnl 10)
        fills = [
            fill("BTCUSDT", BUY, ENTRY, "1", "100", "0.04", 0),
            fill("BTCUSDT", SELL, ENTRY, "3", "110", "0.30", 1, pnl="10"),
        ]

        # when
        book = trade_book(fills)

        # then 1 of the 3 closes the long, with a third of the fee (0.10): fees 0.14,
        # net 10 - 0.14 = 9.86; the other 2 open a short that is still open
        (long,) = book.closed
        assert (long.quantity, long.fees, long.net_pnl) == (D("1"), D("0.14"), D("9.86"))
        assert book.open_trades == 1


class TestTradeMetrics:
    def test_win_rate_profit_factor_and_totals(self) -> None:
        # given the BTC win (net 9.516, 2 h) and the ETH loss (net -52.42, 30 min)
        metrics = trade_metrics(closed_trades(BTC_LONG_WIN + ETH_SHORT_LOSS))

        assert (metrics.trades, metrics.wins, metrics.losses) == (2, 1, 1)
        assert metrics.win_rate == 0.5
        assert metrics.profit_factor == pytest.approx(9.516 / 52.42)  # ~0.18153
        assert metrics.biggest_win == D("9.516")
        assert metrics.biggest_loss == D("-52.42")
        assert metrics.average_net_pnl == D("-21.452")  # (9.516 - 52.42) / 2
        assert metrics.total_realized_pnl == D("-40.00")  # 10 - 50
        assert metrics.total_fees == D("2.904")  # 0.484 + 2.42
        assert metrics.total_net_pnl == D("-42.904")
        # (120 + 30) / 2 = 75 minutes; the median of two is their mean
        assert metrics.average_hold_time == timedelta(minutes=75)
        assert metrics.median_hold_time == timedelta(minutes=75)

    def test_hold_times_are_whole_seconds_valid_as_rfc3339_durations(self) -> None:
        # given round trips of 29.1675 s and 29.5 s (fills stamped to the millisecond)
        seconds = 1 / 60
        quick = [
            fill("BTCUSDT", BUY, ENTRY, "0.010", "60000", "0.24", 0),
            fill("BTCUSDT", SELL, CLOSE, "0.010", "60010", "0.24", 29.1675 * seconds),
            fill("ETHUSDT", BUY, ENTRY, "1.0", "3000", "1.20", 1),
            fill("ETHUSDT", SELL, CLOSE, "1.0", "3001", "1.20", 1 + 29.5 * seconds),
        ]

        # when the metrics are shown as the API and report.json show them
        metrics = trade_metrics(closed_trades(quick))
        shown = TypeAdapter(TradeMetrics).dump_python(metrics, mode="json")

        # then the mean 29.33375 s and the median (the same) are 29 s, written without a fraction
        assert metrics.average_hold_time == metrics.median_hold_time == timedelta(seconds=29)
        for key in ("average_hold_time", "median_hold_time"):
            assert RFC3339_DURATION.fullmatch(shown[key]), shown[key]

    def test_no_losses_means_no_profit_factor_and_no_biggest_loss(self) -> None:
        metrics = trade_metrics(closed_trades(BTC_LONG_WIN))
        assert metrics.profit_factor is None
        assert metrics.biggest_loss is None
        assert metrics.win_rate == 1.0

    def test_no_trades_gives_zero_totals_and_no_ratios(self) -> None:
        metrics = trade_metrics([])
        assert metrics.trades == 0
        assert metrics.win_rate is None
        assert metrics.average_hold_time is None
        assert metrics.median_hold_time is None
        assert metrics.average_net_pnl is None
        assert (metrics.total_realized_pnl, metrics.total_fees) == (D(0), D(0))


class TestEquityMetrics:
    def test_sharpe_and_sortino_on_a_tiny_daily_series(self) -> None:
        # given daily equity 100, 110, 99, 108.9: returns +0.1, -0.1, +0.1
        points = curve("100", "110", "99", "108.9")

        # when sampled daily (365 periods a year)
        metrics = equity_metrics(points, timedelta(days=1))

        # then mean = 1/30; sample variance = ((2/30)^2 + (4/30)^2 + (2/30)^2) / 2 = 1/75,
        # sd = 1/(5 sqrt 3); downside deviation = sqrt(0.1^2 / 3) = 1/(10 sqrt 3)
        assert metrics.periods == 3
        assert metrics.volatility == pytest.approx(math.sqrt(365 / 75))  # ~2.2061
        assert metrics.sharpe == pytest.approx(math.sqrt(3) / 6 * math.sqrt(365))  # ~5.5151
        assert metrics.sortino == pytest.approx(math.sqrt(3) / 3 * math.sqrt(365))  # ~11.0303
        # total: 108.9 - 100 = 8.9 -> 8.9%
        assert metrics.pnl == D("8.9")
        assert metrics.total_return == pytest.approx(0.089)

    def test_max_drawdown_reports_the_peak_and_trough_of_the_deepest_fall(self) -> None:
        # given 100, 120, 110, 120, 90, 95: the deepest fall is 120 -> 90, from the second 120
        metrics = equity_metrics(curve("100", "120", "110", "120", "90", "95"))

        drawdown = metrics.max_drawdown
        assert drawdown is not None
        assert drawdown.fraction == pytest.approx(0.25)  # 30 / 120
        assert drawdown.amount == D("30")
        assert (drawdown.peak_at, drawdown.peak_equity) == (T0 + timedelta(days=3), D("120"))
        assert (drawdown.trough_at, drawdown.trough_equity) == (T0 + timedelta(days=4), D("90"))

    def test_a_dip_between_two_samples_still_counts_in_the_drawdown(self) -> None:
        # given hourly sampling and a dip to 80 at 00:30 that has recovered by 01:00
        points = [(at(0), D("100")), (at(30), D("80")), (at(60), D("100"))]

        drawdown = equity_metrics(points).max_drawdown

        assert drawdown is not None
        assert drawdown.fraction == pytest.approx(0.2)
        assert drawdown.trough_at == at(30)

    def test_a_curve_that_never_falls_has_a_zero_drawdown_at_its_start(self) -> None:
        drawdown = equity_metrics(curve("100", "101", "105")).max_drawdown
        assert drawdown is not None
        assert (drawdown.fraction, drawdown.amount) == (0.0, D(0))
        assert drawdown.peak_at == drawdown.trough_at == T0

    def test_resampling_keeps_the_last_value_and_carries_it_over_empty_periods(self) -> None:
        # given points at 00:00, 00:10, 00:50 and 02:30
        points = [(at(0), D("100")), (at(10), D("105")), (at(50), D("102")), (at(150), D("90"))]

        # when sampled hourly: 00:00 is the first point, 01:00 the last before it (00:50),
        # 02:00 has nothing new (carried), 03:00 is the first instant at or after the end
        samples = resample(points, timedelta(hours=1))

        assert samples == [
            (at(0), D("100")),
            (at(60), D("102")),
            (at(120), D("102")),
            (at(180), D("90")),
        ]
        # returns 0.02, 0, 90/102 - 1: three periods
        assert equity_metrics(points).periods == 3

    def test_no_points_gives_no_figures(self) -> None:
        metrics = equity_metrics([])
        assert metrics.periods == 0
        assert metrics.start_equity is None
        assert metrics.pnl is None
        assert metrics.max_drawdown is None
        assert (metrics.volatility, metrics.sharpe, metrics.sortino) == (None, None, None)

    def test_one_point_gives_a_level_but_no_change(self) -> None:
        metrics = equity_metrics([(T0, D("1000"))])
        assert (metrics.start_equity, metrics.end_equity) == (D("1000"), D("1000"))
        assert metrics.pnl is None
        assert metrics.total_return is None
        assert metrics.max_drawdown is None
        assert metrics.sharpe is None

    def test_one_period_return_is_not_enough_for_ratios(self) -> None:
        # given two points ten minutes apart: one hourly return
        metrics = equity_metrics([(at(0), D("100")), (at(10), D("101"))])
        assert metrics.periods == 1
        assert metrics.total_return == pytest.approx(0.01)
        assert (metrics.volatility, metrics.sharpe, metrics.sortino) == (None, None, None)

    def test_flat_curve_has_zero_volatility_and_no_ratios(self) -> None:
        metrics = equity_metrics(curve("100", "100", "100", "100"))
        assert metrics.volatility == 0.0
        assert (metrics.sharpe, metrics.sortino) == (None, None)

    def test_steady_compounding_is_zero_variance_despite_float_rounding(self) -> None:
        # given +10% every day, exactly: as floats the returns differ by ~1e-16
        points = curve("100", "110", "121", "133.1", "146.41", "161.051")
        metrics = equity_metrics(points, timedelta(days=1))
        assert metrics.sharpe is None
        assert metrics.sortino is None  # and no losing period either

    def test_a_blown_account_gives_no_ratios_rather_than_infinity(self) -> None:
        metrics = equity_metrics(curve("100", "0", "50"))
        assert (metrics.volatility, metrics.sharpe, metrics.sortino) == (None, None, None)
        drawdown = metrics.max_drawdown
        assert drawdown is not None
        assert drawdown.fraction == 1.0

    def test_points_out_of_order_give_the_same_figures(self) -> None:
        points = curve("100", "110", "99", "108.9")
        assert equity_metrics(points[::-1]) == equity_metrics(points)

    def test_naive_datetimes_give_the_same_figures_as_aware_ones(self) -> None:
        aware = curve("100", "110", "99", "108.9")
        naive = [(time.replace(tzinfo=None), value) for time, value in aware]
        assert equity_metrics(naive).sharpe == equity_metrics(aware).sharpe

    def test_period_must_be_positive(self) -> None:
        with pytest.raises(ValueError, match="period"):
            equity_metrics(curve("1", "2"), timedelta(0))


class TestDownsample:
    def test_keeps_the_first_and_the_last_point_of_each_bucket(self) -> None:
        # given ten points a minute apart (span 9 min) and 3 buckets of 3 minutes:
        # minutes 0-2, 3-5, 6-9 (the end belongs to the last bucket) -> keep 0, 2, 5, 9
        points = curve(*(str(100 + i) for i in range(10)), step=timedelta(minutes=1))

        kept = downsample(points, 3)

        assert kept == [points[0], points[2], points[5], points[9]]

    def test_a_curve_that_fits_is_returned_whole(self) -> None:
        points = curve("1", "2", "3")
        assert downsample(points, 3) == points

    def test_points_all_at_one_instant_reduce_to_first_and_last(self) -> None:
        points = [(T0, D(i)) for i in range(5)]
        assert downsample(points, 2) == [points[0], points[-1]]

    def test_max_points_must_be_positive(self) -> None:
        with pytest.raises(ValueError, match="max_points"):
            downsample(curve("1", "2"), 0)


class TestPerformance:
    def test_assembles_equity_trades_and_llm_usage(self) -> None:
        # given the two closed trades, one open entry and one orphan exit
        open_entry = fill("SOLUSDT", BUY, ENTRY, "1", "200", "0.08", 50)
        orphan = fill("XRPUSDT", SELL, CLOSE, "10", "2", "0.008", 55, pnl="1")
        fills = [*BTC_LONG_WIN, *ETH_SHORT_LOSS, open_entry, orphan]
        usage = LlmUsage(input_tokens=12_000, output_tokens=800, cost_usd=D("0.35"))

        # when
        report = performance(curve("1000", "957.096"), fills, D("-1.5"), usage)

        # then equity moved 957.096 - 1000 = -42.904; after the model: -42.904 - 0.35
        assert report.trades.trades == 2
        assert (report.open_trades, report.unmatched_exits) == (1, 1)
        assert report.unrealized_pnl == D("-1.5")
        assert report.llm_usage == usage
        assert report.equity.pnl == D("-42.904")
        assert report.pnl_after_llm_cost == D("-43.254")
        # fees paid count the open entry's 0.08 and the orphan exit's 0.008 beside the trades'
        assert report.fees_paid == report.trades.total_fees + D("0.088")


# --- properties ---------------------------------------------------------------------------

gaps = st.integers(min_value=0, max_value=10_000)
equities = st.decimals(min_value=D("0.01"), max_value=D("10000000"), places=2)


@st.composite
def equity_curves(draw: st.DrawFn) -> list[EquityPoint]:
    """Positive equity at non-decreasing times, seconds apart or many hours."""
    seconds = draw(st.lists(gaps, max_size=60))
    values = draw(st.lists(equities, min_size=len(seconds), max_size=len(seconds)))
    times, elapsed = [], 0
    for gap in seconds:
        elapsed += gap * 7
        times.append(T0 + timedelta(seconds=elapsed))
    return list(zip(times, values, strict=True))


@given(equity_curves(), st.sampled_from([timedelta(minutes=1), timedelta(hours=1)]))
def test_max_drawdown_is_a_fraction_and_ratios_are_finite_or_none(
    points: list[EquityPoint], period: timedelta
) -> None:
    metrics = equity_metrics(points, period)
    if metrics.max_drawdown is not None:
        assert 0.0 <= metrics.max_drawdown.fraction <= 1.0
        assert metrics.max_drawdown.amount >= 0
    for ratio in (metrics.volatility, metrics.sharpe, metrics.sortino):
        assert ratio is None or math.isfinite(ratio)


@given(equity_curves(), st.integers(min_value=1, max_value=20))
def test_downsample_keeps_endpoints_and_stays_within_max_points(
    points: list[EquityPoint], max_points: int
) -> None:
    kept = downsample(points, max_points)
    assert len(kept) <= max_points + 1  # the first point, then one per bucket
    assert kept == sorted(kept, key=lambda point: point[0])
    if points:
        assert (kept[0], kept[-1]) == (points[0], points[-1])
        assert set(kept) <= set(points)


quantity_steps = st.integers(min_value=1, max_value=1_000)
money = st.decimals(min_value=D("-1000"), max_value=D("1000"), places=4)
fees = st.decimals(min_value=D("0"), max_value=D("5"), places=4)


@st.composite
def round_trips(draw: st.DrawFn) -> list[list[ExecutionFill]]:
    """Complete trades one after another: an entry, then exits adding up to its quantity."""
    trades: list[list[ExecutionFill]] = []
    minute = 0
    for _ in range(draw(st.integers(min_value=0, max_value=8))):
        symbol = draw(st.sampled_from(["BTCUSDT", "ETHUSDT"]))
        side = draw(st.sampled_from([BUY, SELL]))
        total = draw(quantity_steps)
        cuts = sorted(draw(st.sets(st.integers(1, total - 1), max_size=2)) if total > 1 else [])
        parts = [b - a for a, b in zip([0, *cuts], [*cuts, total], strict=True)]
        price = str(draw(st.integers(min_value=1, max_value=100_000)))
        trade = [fill(symbol, side, ENTRY, str(D(total) / 1000), price, str(draw(fees)), minute)]
        for part in parts:
            minute += 1
            exit_side = side.opposite
            trade.append(
                ExecutionFill(
                    symbol,
                    exit_side,
                    CLOSE,
                    D(part) / 1000,
                    D(price),
                    draw(fees),
                    draw(money),
                    at(minute),
                )
            )
        minute += 1
        trades.append(trade)
    return trades


@given(round_trips())
def test_sum_of_trade_net_pnl_is_total_realized_minus_total_fees(
    trades: list[list[ExecutionFill]],
) -> None:
    fills = [f for trade in trades for f in trade]

    closed = closed_trades(fills)
    metrics = trade_metrics(closed)

    assert len(closed) == len(trades)
    realized = sum((f.realized_pnl for f in fills), D(0))
    paid = sum((f.fee for f in fills), D(0))
    assert sum((t.net_pnl for t in closed), D(0)) == realized - paid
    assert (metrics.total_realized_pnl, metrics.total_fees) == (realized, paid)
    assert metrics.total_net_pnl == metrics.total_realized_pnl - metrics.total_fees
