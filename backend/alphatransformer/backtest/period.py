"""What a backtest replays: the period, how often agents decide, and the history files that
must cover it (with the warm-up before its start): candles always, funding rates and open
interest when they were downloaded.

Light on imports on purpose: the CLI checks a period before it loads the agent machinery.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from alphatransformer.config.schema import MarketConfig
from alphatransformer.market.history_files import (
    METRICS_PERIOD,
    read_funding_range,
    read_open_interest_range,
    read_range,
)
from alphatransformer.market.types import Interval, Kline
from alphatransformer.utils.clock import to_datetime

logger = logging.getLogger(__name__)

Candles = dict[tuple[str, Interval], list[Kline]]
_MINUTE_MS = 60_000
_Row = TypeVar("_Row")

FUNDING_SOURCE = "alphatransformer data download fetches them"
OPEN_INTEREST_SOURCE = (
    "alphatransformer data download fetches the last 30 days; Binance's daily metrics archives, "
    "in SYMBOL/metrics/, hold older ones"
)
"""Where the files come from, for the warnings here and the notes in `report.json`."""


class BacktestDataError(ValueError):
    """The history on disk does not cover what the backtest asks for."""


@dataclass(frozen=True, slots=True)
class ReplayPeriod:
    """What is replayed: the history folder, the period [start, end), and how often agents decide.

    The files must also hold the warm-up before `start_ms` (`market.history_candles` candles of
    the long interval), which every market shows before the first decision.
    """

    history: Path
    start_ms: int
    end_ms: int
    decision_interval: Interval
    allow_gaps: bool = False

    def check(self, market: MarketConfig) -> None:
        """Refuse a period the replay cannot step through exactly."""
        short = market.short_interval
        if self.end_ms <= self.start_ms:
            raise ValueError("the backtest must end after it starts")
        if self.start_ms % short.ms or self.end_ms % short.ms:
            raise ValueError(f"start and end must fall on {short} candle boundaries")
        if self.decision_interval.ms % short.ms:
            raise ValueError(
                f"the decision interval {self.decision_interval} is not a whole number of "
                f"{short} candles"
            )

    def steps(self, market: MarketConfig) -> range:
        """The replay's times: every short candle's close from start to end, both included."""
        step = market.short_interval.ms
        return range(self.start_ms, self.end_ms + step, step)

    def decides_at(self, now_ms: int) -> bool:
        return now_ms < self.end_ms and (now_ms - self.start_ms) % self.decision_interval.ms == 0


@dataclass(frozen=True, slots=True)
class ReplayedSeries:
    """Values a backtest replays beside the candles (funding rates, open interest), per symbol
    as (time ms, value), oldest first, and the symbols it has no files for."""

    values: dict[str, list[tuple[int, float]]]
    missing: tuple[str, ...]

    def late_starts(self, start_ms: int) -> dict[str, int | None]:
        """The symbols with no value as of `start_ms`, with the time of their first one (None
        when they have none)."""
        return {
            symbol: values[0][0] if values else None
            for symbol, values in self.values.items()
            if not values or values[0][0] > start_ms
        }


def load_candles(symbols: Sequence[str], market: MarketConfig, period: ReplayPeriod) -> Candles:
    """Each symbol's short candles from the warm-up's start to the end, checked to reach both."""
    short = market.short_interval
    first_ms = _first_ms(market, period)
    candles: Candles = {}
    for symbol in symbols:
        klines = read_range(
            period.history, symbol, short, first_ms, period.end_ms, allow_gaps=period.allow_gaps
        )
        _check_coverage(symbol, short, klines, period)
        candles[(symbol, short)] = klines
    return candles


def load_funding(
    symbols: Sequence[str], market: MarketConfig, period: ReplayPeriod
) -> ReplayedSeries:
    """Each symbol's funding rates over the months its candles come from, or the symbol listed
    as missing, with a warning, when none of those months has a funding file (a month missing
    among present ones raises `HistoryFileError`).

    Times are moved to the minute they settled: Binance stamps some a millisecond late, and the
    paper exchange, paying at the exact funding time, takes the rate settled by then.
    """
    first_ms = _first_ms(market, period)
    return _load_series(
        symbols,
        lambda symbol: read_funding_range(period.history, symbol, first_ms, period.end_ms),
        lambda funding: (_to_the_minute(funding.calc_time), funding.rate),
        period.history,
        files="funding",
        consequence="funding is not replayed for them and their PnL leaves it out "
        f"({FUNDING_SOURCE})",
    )


def load_open_interest(
    symbols: Sequence[str], market: MarketConfig, period: ReplayPeriod
) -> ReplayedSeries:
    """Each symbol's open interest, in contracts as Binance's live `openInterest` gives it,
    over the days its candles come from, or the symbol listed as missing, with a warning, when
    none of those days has a metrics file.

    Days before a symbol's first file are left out (Binance serves only the last 30 days over
    REST, so older ones exist only where Binance's archives were dropped in), with a warning when
    that leaves the first decision without a value: the agent sees none until the files start.
    A day missing after the first file raises `HistoryFileError`.
    """
    first_ms = _first_ms(market, period)
    loaded = _load_series(
        symbols,
        lambda symbol: read_open_interest_range(period.history, symbol, first_ms, period.end_ms),
        # A sample is shown from the end of its 5-minute period: whether Binance stamps it at
        # the period's start or end, the agent never sees it before it was taken.
        lambda stat: (stat.time + METRICS_PERIOD.ms, stat.open_interest),
        period.history,
        files="metrics",
        consequence="open interest is not replayed for them and the agent sees none "
        f"({OPEN_INTEREST_SOURCE})",
    )
    late = loaded.late_starts(period.start_ms)
    if late:
        logger.warning(
            "open interest files for %s start after the first decision at %s: the agent sees "
            "no open interest for them before",
            ", ".join(
                f"{symbol} (from {'never' if time is None else to_datetime(time)})"
                for symbol, time in late.items()
            ),
            to_datetime(period.start_ms),
        )
    return loaded


def _load_series(
    symbols: Sequence[str],
    read: Callable[[str], list[_Row] | None],
    point: Callable[[_Row], tuple[int, float]],
    history: Path,
    *,
    files: str,
    consequence: str,
) -> ReplayedSeries:
    """Each symbol's rows as `read` finds them, as (time, value) points, the symbols it finds no
    files for (None) listed as missing and warned about: `no <files> files for ...: <consequence>`.
    """
    values: dict[str, list[tuple[int, float]]] = {}
    missing: list[str] = []
    for symbol in symbols:
        rows = read(symbol)
        if rows is None:
            missing.append(symbol)
        else:
            values[symbol] = [point(row) for row in rows]
    if missing:
        logger.warning(
            "no %s files for %s in %s: %s", files, ", ".join(missing), history, consequence
        )
    return ReplayedSeries(values, tuple(missing))


def _first_ms(market: MarketConfig, period: ReplayPeriod) -> int:
    """Where the files must start (as `ReplayMarket.from_history_files` does): the warm-up of
    the long interval before the first decision."""
    long = market.long_interval
    return long.open_time(period.start_ms) - market.history_candles * long.ms


def _to_the_minute(time_ms: int) -> int:
    return (time_ms + _MINUTE_MS // 2) // _MINUTE_MS * _MINUTE_MS


def _check_coverage(
    symbol: str, interval: Interval, klines: Sequence[Kline], period: ReplayPeriod
) -> None:
    last_open = period.end_ms - interval.ms
    if not klines or klines[0].open_time >= period.start_ms:
        raise BacktestDataError(
            f"{symbol} {interval}: no history before the start {to_datetime(period.start_ms)}"
        )
    if klines[-1].open_time != last_open:
        raise BacktestDataError(
            f"{symbol} {interval}: the history ends with the candle of "
            f"{to_datetime(klines[-1].open_time)}, before the backtest's end "
            f"{to_datetime(period.end_ms)}: download the rest first"
        )
