"""Performance analytics: trades rebuilt from fills, equity-curve risk figures, LLM cost.

Everything here is a pure, deterministic function of its arguments (no I/O, no clock), so the
`/api/performance` endpoint and a backtest report compute the same numbers from the same rows.
Money stays `Decimal` and exact; floats appear only in ratios (returns, Sharpe, win rate, ...),
where the equity curve is long enough that numpy has to do the work.

Conventions, chosen once here so every report agrees:

- **Trades** follow Binance one-way netting: a fill on the open side of a symbol adds to the
  trade, a fill on the other side reduces it, and the trade is closed when its quantity is back
  to zero. A reducing fill larger than what is open closes the trade and opens the opposite one
  with the excess (its fee split by quantity). A reducing fill on a symbol with no open trade
  (no known entry, e.g. history that starts mid-trade) is set aside as an unmatched exit.
- **Wins and losses** are judged on net PnL (after entry and exit fees).
- **Periods**: the curve is sampled every `period`, counted from its first point (so the result
  does not depend on time zones), at `first + k * period` for k = 0..K, the last sample being
  at or after the last point. Each sample is the last equity at or before that instant, so a
  period with no point carries the previous value forward.
- **Ratios** use the period returns of that sampled curve, a risk-free rate of 0 and
  `sqrt(periods per year)` annualisation with a 365-day year (crypto trades every day).
  Volatility and Sharpe use the sample standard deviation (ddof=1); Sortino divides by the
  downside deviation `sqrt(mean(min(r, 0)^2))` taken over all periods. They need at least two
  period returns, a positive equity before every return, and non-zero (downside) deviation;
  otherwise they are `None`, never NaN or infinity.
- **Total return and max drawdown** use every point, not the samples, so a dip between two
  samples still counts. The max drawdown is the largest fall from a running peak as a fraction
  of that peak; its amount and times are that same episode's.
"""

from __future__ import annotations

import math
import operator
import statistics
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from enum import StrEnum
from itertools import repeat

import numpy as np
import numpy.typing as npt

from alphatransformer.database.models import ExecutionPurpose
from alphatransformer.trading.models import OrderSide

EquityPoint = tuple[datetime, Decimal]
IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]

_YEAR = timedelta(days=365)
_MICROSECOND = timedelta(microseconds=1)
# Period returns are ratios of floats, exact to about 1e-16; a deviation below this is rounding
# noise on a flat or steadily compounding curve, and dividing by it would give absurd ratios.
_NOISE = 1e-12
_ZERO = Decimal(0)
_time = operator.itemgetter(0)
_equity = operator.itemgetter(1)


class TradeSide(StrEnum):
    LONG = "long"
    SHORT = "short"


@dataclass(frozen=True, slots=True)
class ExecutionFill:
    """What analytics need from one `TradeExecution` row; the caller maps rows to these.

    Quantities are what was filled (an unfilled order has `filled_quantity` 0 and is ignored),
    `fee` is in the quote asset and `realized_pnl` is the exchange's figure before fees.
    """

    symbol: str
    side: OrderSide
    purpose: ExecutionPurpose
    filled_quantity: Decimal
    avg_price: Decimal
    fee: Decimal
    realized_pnl: Decimal
    time: datetime


@dataclass(frozen=True, slots=True)
class ClosedTrade:
    """One round trip, from the entry fill to the fill that brought the quantity back to zero."""

    symbol: str
    side: TradeSide
    opened_at: datetime
    closed_at: datetime
    quantity: Decimal
    entry_price: Decimal
    exit_price: Decimal
    gross_pnl: Decimal
    fees: Decimal
    net_pnl: Decimal
    hold_time: timedelta


@dataclass(frozen=True, slots=True)
class TradeBook:
    """Fills grouped into trades: the closed ones, how many are still open, and the exits that
    matched no entry (kept so a report can say its history is incomplete)."""

    closed: list[ClosedTrade]
    open_trades: int
    unmatched_exits: list[ExecutionFill]


@dataclass(slots=True)
class _OpenTrade:
    symbol: str
    entry_side: OrderSide
    opened_at: datetime
    entry_quantity: Decimal = _ZERO
    entry_value: Decimal = _ZERO
    exit_quantity: Decimal = _ZERO
    exit_value: Decimal = _ZERO
    gross_pnl: Decimal = _ZERO
    fees: Decimal = _ZERO

    @property
    def remaining(self) -> Decimal:
        return self.entry_quantity - self.exit_quantity

    def add_entry(self, quantity: Decimal, price: Decimal, fee: Decimal) -> None:
        self.entry_quantity += quantity
        self.entry_value += quantity * price
        self.fees += fee

    def add_exit(self, quantity: Decimal, price: Decimal, fee: Decimal, pnl: Decimal) -> None:
        self.exit_quantity += quantity
        self.exit_value += quantity * price
        self.fees += fee
        self.gross_pnl += pnl

    def closed(self, closed_at: datetime) -> ClosedTrade:
        return ClosedTrade(
            symbol=self.symbol,
            side=TradeSide.LONG if self.entry_side == OrderSide.BUY else TradeSide.SHORT,
            opened_at=self.opened_at,
            closed_at=closed_at,
            quantity=self.entry_quantity,
            entry_price=self.entry_value / self.entry_quantity,
            exit_price=self.exit_value / self.exit_quantity,
            gross_pnl=self.gross_pnl,
            fees=self.fees,
            net_pnl=self.gross_pnl - self.fees,
            hold_time=closed_at - self.opened_at,
        )


@dataclass(slots=True)
class _TradeBuilder:
    open: dict[str, _OpenTrade] = field(default_factory=dict)
    closed: list[ClosedTrade] = field(default_factory=list)
    unmatched: list[ExecutionFill] = field(default_factory=list)

    def apply(self, fill: ExecutionFill) -> None:
        trade = self.open.get(fill.symbol)
        if trade is None:
            if fill.purpose == ExecutionPurpose.ENTRY:
                self._open(fill, fill.filled_quantity, fill.fee)
            else:
                self.unmatched.append(fill)
        elif fill.side == trade.entry_side:
            trade.add_entry(fill.filled_quantity, fill.avg_price, fill.fee)
        else:
            self._reduce(trade, fill)

    def _open(self, fill: ExecutionFill, quantity: Decimal, fee: Decimal) -> None:
        trade = _OpenTrade(fill.symbol, fill.side, fill.time)
        trade.add_entry(quantity, fill.avg_price, fee)
        self.open[fill.symbol] = trade

    def _reduce(self, trade: _OpenTrade, fill: ExecutionFill) -> None:
        closing = min(fill.filled_quantity, trade.remaining)
        excess = fill.filled_quantity - closing
        # The exchange realizes PnL only on the closing part; the fee is paid on both parts.
        closing_fee = fill.fee if excess == 0 else fill.fee * closing / fill.filled_quantity
        trade.add_exit(closing, fill.avg_price, closing_fee, fill.realized_pnl)
        if trade.remaining == 0:
            self.closed.append(trade.closed(fill.time))
            del self.open[fill.symbol]
        if excess > 0:
            self._open(fill, excess, fill.fee - closing_fee)


def trade_book(fills: Iterable[ExecutionFill]) -> TradeBook:
    """Group fills into trades, in time order (ties keep the given order)."""
    builder = _TradeBuilder()
    for fill in sorted(fills, key=operator.attrgetter("time")):
        if fill.filled_quantity > 0:
            builder.apply(fill)
    return TradeBook(builder.closed, len(builder.open), builder.unmatched)


def closed_trades(executions: Sequence[ExecutionFill]) -> list[ClosedTrade]:
    """The round trips completed by these fills, in the order they closed."""
    return trade_book(executions).closed


@dataclass(frozen=True, slots=True)
class TradeMetrics:
    """Closed-trade statistics; a win is a trade with positive net PnL (after fees).

    Hold times are in whole seconds (see `whole_seconds`), as the backtest's trade list has them.
    """

    trades: int
    wins: int
    losses: int
    win_rate: float | None
    profit_factor: float | None
    average_hold_time: timedelta | None
    median_hold_time: timedelta | None
    biggest_win: Decimal | None
    biggest_loss: Decimal | None
    average_net_pnl: Decimal | None
    total_realized_pnl: Decimal
    total_fees: Decimal
    total_net_pnl: Decimal


def trade_metrics(trades: Sequence[ClosedTrade]) -> TradeMetrics:
    """Summarise closed trades; ratios are `None` where they would divide by zero."""
    net = [trade.net_pnl for trade in trades]
    wins = sum(1 for pnl in net if pnl > 0)
    gains = sum((pnl for pnl in net if pnl > 0), _ZERO)
    losses = sum((-pnl for pnl in net if pnl < 0), _ZERO)
    holds = [trade.hold_time for trade in trades]
    total_net = sum(net, _ZERO)
    return TradeMetrics(
        trades=len(trades),
        wins=wins,
        losses=sum(1 for pnl in net if pnl < 0),
        win_rate=wins / len(net) if net else None,
        profit_factor=float(gains / losses) if losses else None,
        average_hold_time=whole_seconds(sum(holds, timedelta()) / len(holds)) if holds else None,
        median_hold_time=_median_timedelta(holds),
        biggest_win=max(net) if gains else None,
        biggest_loss=min(net) if losses else None,
        average_net_pnl=total_net / len(net) if net else None,
        total_realized_pnl=sum((trade.gross_pnl for trade in trades), _ZERO),
        total_fees=sum((trade.fees for trade in trades), _ZERO),
        total_net_pnl=total_net,
    )


def whole_seconds(duration: timedelta) -> timedelta:
    """`duration` rounded to the nearest second (half to even).

    The API shows a `timedelta` as an RFC 3339 duration (`format: duration`), which has no
    fractional seconds: `PT29.1675S` broke the API's own schema, `PT29S` keeps it.
    """
    return timedelta(seconds=round(duration.total_seconds()))


def _median_timedelta(values: Sequence[timedelta]) -> timedelta | None:
    if not values:
        return None
    low, high = statistics.median_low(values), statistics.median_high(values)
    return whole_seconds(low + (high - low) / 2)


@dataclass(frozen=True, slots=True)
class Drawdown:
    """The deepest fall from a running peak: `fraction` of the peak, `amount` in money."""

    fraction: float
    amount: Decimal
    peak_at: datetime
    peak_equity: Decimal
    trough_at: datetime
    trough_equity: Decimal


@dataclass(frozen=True, slots=True)
class EquityMetrics:
    """Return and risk of an equity curve (conventions in the module docstring)."""

    period: timedelta
    periods: int
    start_at: datetime | None
    end_at: datetime | None
    start_equity: Decimal | None
    end_equity: Decimal | None
    pnl: Decimal | None
    total_return: float | None
    max_drawdown: Drawdown | None
    volatility: float | None
    sharpe: float | None
    sortino: float | None


@dataclass(frozen=True, slots=True)
class _Curve:
    """Points sorted by time, with their offsets from the first in microseconds and their
    equity as floats, for vectorised work; `points` keeps the exact values."""

    points: Sequence[EquityPoint]
    offsets: IntArray
    values: FloatArray

    @classmethod
    def of(cls, points: Sequence[EquityPoint]) -> _Curve:
        offsets = _offsets_us(points)
        if offsets.size > 1 and bool(np.any(offsets[1:] < offsets[:-1])):
            order = np.argsort(offsets, kind="stable")
            points = [points[i] for i in order]
            offsets = offsets[order] - offsets[order[0]]
        values = np.fromiter(map(float, map(_equity, points)), np.float64, len(points))
        return cls(points, offsets, values)


def _offsets_us(points: Sequence[EquityPoint]) -> IntArray:
    """Microseconds since the first point: exact, and the same for naive or aware datetimes."""
    if not points:
        return np.zeros(0, np.int64)
    deltas = map(operator.sub, map(_time, points), repeat(points[0][0]))
    return np.fromiter(map(operator.floordiv, deltas, repeat(_MICROSECOND)), np.int64, len(points))


def _period_us(period: timedelta) -> int:
    if period <= timedelta():
        raise ValueError(f"period must be positive, got {period}")
    return period // _MICROSECOND


def _sample_indexes(offsets: IntArray, period_us: int) -> IntArray:
    """Index of the last point at or before each sampling instant (module docstring)."""
    span = int(offsets[-1])
    grid = np.arange(-(-span // period_us) + 1, dtype=np.int64) * period_us
    return np.searchsorted(offsets, grid, side="right") - 1


def resample(points: Sequence[EquityPoint], period: timedelta) -> list[EquityPoint]:
    """The curve sampled every `period` from its first point, values carried forward, exact."""
    period_us = _period_us(period)
    curve = _Curve.of(points)
    if not curve.points:
        return []
    start = curve.points[0][0]
    return [
        (start + k * period, curve.points[i][1])
        for k, i in enumerate(_sample_indexes(curve.offsets, period_us))
    ]


def equity_metrics(
    points: Sequence[EquityPoint], period: timedelta = timedelta(hours=1)
) -> EquityMetrics:
    """Total return, max drawdown, volatility, Sharpe and Sortino of an irregular equity curve."""
    period_us = _period_us(period)
    curve = _Curve.of(points)
    if len(curve.points) < 2:
        return _no_metrics(curve, period)
    samples = curve.values[_sample_indexes(curve.offsets, period_us)]
    returns = _period_returns(samples)
    ratios = _ratios(returns, _YEAR / period)
    (start_at, start), (end_at, end) = curve.points[0], curve.points[-1]
    return EquityMetrics(
        period=period,
        periods=samples.size - 1,
        start_at=start_at,
        end_at=end_at,
        start_equity=start,
        end_equity=end,
        pnl=end - start,
        total_return=float((end - start) / start) if start > 0 else None,
        max_drawdown=_max_drawdown(curve),
        volatility=ratios[0],
        sharpe=ratios[1],
        sortino=ratios[2],
    )


def _no_metrics(curve: _Curve, period: timedelta) -> EquityMetrics:
    """With one point there is a level but no change; with none, nothing at all."""
    at, equity = curve.points[0] if curve.points else (None, None)
    return EquityMetrics(
        period=period,
        periods=0,
        start_at=at,
        end_at=at,
        start_equity=equity,
        end_equity=equity,
        pnl=None,
        total_return=None,
        max_drawdown=None,
        volatility=None,
        sharpe=None,
        sortino=None,
    )


def _period_returns(samples: FloatArray) -> FloatArray | None:
    """Simple returns between samples; `None` when a return would divide by a non-positive
    equity (a blown account has no meaningful percentage change)."""
    previous = samples[:-1]
    if previous.size == 0 or bool(np.any(previous <= 0)):
        return None
    return samples[1:] / previous - 1.0


def _ratios(
    returns: FloatArray | None, periods_per_year: float
) -> tuple[float | None, float | None, float | None]:
    """Annualised (volatility, Sharpe, Sortino), each `None` where it is undefined."""
    if returns is None or returns.size < 2:
        return None, None, None
    scale = math.sqrt(periods_per_year)
    mean = float(np.mean(returns))
    deviation = float(np.std(returns, ddof=1))
    downside = math.sqrt(float(np.mean(np.minimum(returns, 0.0) ** 2)))
    volatility = deviation * scale if deviation > _NOISE else 0.0
    sharpe = mean / deviation * scale if deviation > _NOISE else None
    sortino = mean / downside * scale if downside > _NOISE else None
    return volatility, sharpe, sortino


def _max_drawdown(curve: _Curve) -> Drawdown:
    """Locate the deepest fall on floats, then report it from the exact values. A curve that
    never falls has a zero drawdown at its first point."""
    peaks = np.maximum.accumulate(curve.values)
    positive = peaks > 0
    falls = np.zeros_like(peaks)
    np.divide(peaks - curve.values, peaks, out=falls, where=positive)
    trough = int(np.argmax(falls))
    # The peak is the latest point before the trough at the running maximum.
    peak = trough - int(np.argmax(curve.values[trough::-1] == peaks[trough]))
    (peak_at, peak_equity), (trough_at, trough_equity) = curve.points[peak], curve.points[trough]
    amount = peak_equity - trough_equity
    return Drawdown(
        fraction=float(amount / peak_equity) if peak_equity > 0 else 0.0,
        amount=amount,
        peak_at=peak_at,
        peak_equity=peak_equity,
        trough_at=trough_at,
        trough_equity=trough_equity,
    )


def downsample(points: Sequence[EquityPoint], max_points: int) -> list[EquityPoint]:
    """At most `max_points + 1` of the given points, for a chart: the first, and the last of
    each of `max_points` equal time buckets over the curve's span (so the last point too).

    Values are the originals, never interpolated; a curve that already fits is returned whole.
    Last-per-bucket matches how `resample` reads a curve (the level at the end of a period).
    """
    if max_points < 1:
        raise ValueError(f"max_points must be at least 1, got {max_points}")
    curve = _Curve.of(points)
    if len(curve.points) <= max_points:
        return list(curve.points)
    span = int(curve.offsets[-1])
    if span == 0:
        return [curve.points[0], curve.points[-1]]
    buckets = np.minimum(curve.offsets * (max_points / span), max_points - 1).astype(np.int64)
    last_of_bucket = np.flatnonzero(np.diff(buckets))
    keep = np.concatenate(([0], last_of_bucket, [len(curve.points) - 1]))
    return [curve.points[i] for i in np.unique(keep)]


@dataclass(frozen=True, slots=True)
class LlmUsage:
    """Model usage totals over the reported span, from `DecisionCycle` rows."""

    input_tokens: int
    output_tokens: int
    cost_usd: Decimal
    cycles: int = 0
    errors: int = 0
    """Cycles whose model call failed: the agent held every symbol with the error."""


@dataclass(frozen=True, slots=True)
class Performance:
    """Everything `/api/performance` and a backtest report show.

    `pnl_after_llm_cost` is the equity change minus what the model cost: whether the agent
    paid for itself (USD and USDT taken as equal).
    """

    equity: EquityMetrics
    trades: TradeMetrics
    open_trades: int
    unmatched_exits: int
    unrealized_pnl: Decimal
    llm_usage: LlmUsage
    pnl_after_llm_cost: Decimal | None
    fees_paid: Decimal = _ZERO
    """Every fill's fee, open trades' entries included (`trades.total_fees` is closed trades')."""


def performance(
    equity_points: Sequence[EquityPoint],
    fills: Sequence[ExecutionFill],
    unrealized_pnl: Decimal,
    llm_usage: LlmUsage,
    period: timedelta = timedelta(hours=1),
) -> Performance:
    """Assemble the full report from the equity curve, the fills and the usage totals."""
    equity = equity_metrics(equity_points, period)
    book = trade_book(fills)
    return Performance(
        equity=equity,
        trades=trade_metrics(book.closed),
        open_trades=book.open_trades,
        unmatched_exits=len(book.unmatched_exits),
        unrealized_pnl=unrealized_pnl,
        llm_usage=llm_usage,
        pnl_after_llm_cost=None if equity.pnl is None else equity.pnl - llm_usage.cost_usd,
        fees_paid=sum((fill.fee for fill in fills), _ZERO),
    )
