"""What a backtest replays: the period, how often agents decide, and the history files that
must cover it (with the warm-up before its start): candles always, funding rates when they were
downloaded.

Light on imports on purpose: the CLI checks a period before it loads the agent machinery.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from alphatransformer.config.schema import MarketConfig
from alphatransformer.market.history_files import read_funding_range, read_range
from alphatransformer.market.types import Interval, Kline
from alphatransformer.utils.clock import to_datetime

logger = logging.getLogger(__name__)

Candles = dict[tuple[str, Interval], list[Kline]]
_MINUTE_MS = 60_000


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
class FundingHistory:
    """The funding rates a backtest replays, per symbol as (time ms, rate), and the symbols it
    has none for: positions in those pay no funding, so their PnL leaves it out."""

    rates: dict[str, list[tuple[int, float]]]
    missing: tuple[str, ...]


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
) -> FundingHistory:
    """Each symbol's funding rates over the months its candles come from, or the symbol listed
    as missing, with a warning, when none of those months has a funding file (a month missing
    among present ones raises `HistoryFileError`).

    Times are moved to the minute they settled: Binance stamps some a millisecond late, and the
    paper exchange, paying at the exact funding time, takes the rate settled by then.
    """
    first_ms = _first_ms(market, period)
    rates: dict[str, list[tuple[int, float]]] = {}
    missing: list[str] = []
    for symbol in symbols:
        fundings = read_funding_range(period.history, symbol, first_ms, period.end_ms)
        if fundings is None:
            missing.append(symbol)
        else:
            rates[symbol] = [(_to_the_minute(f.calc_time), f.rate) for f in fundings]
    if missing:
        logger.warning(
            "no funding files for %s in %s: funding is not replayed for them and their PnL "
            "leaves it out (alphatransformer data download fetches them)",
            ", ".join(missing),
            period.history,
        )
    return FundingHistory(rates, tuple(missing))


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
