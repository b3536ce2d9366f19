"""The validated K-line cache every market data source writes into and the agent reads from.

Each (symbol, interval) series keeps its closed candles contiguous and gap-free, with the
forming candle apart. Anything that would break that (bad numbers, duplicates, stale or
out-of-order candles, holes) is rejected with a reason and counted, never stored.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable
from enum import StrEnum
from typing import TypeVar

import numpy as np
import numpy.typing as npt

from alphatransformer.market.market_data import FloatArray, IntArray, KlineArrays
from alphatransformer.market.types import Interval, Kline
from alphatransformer.utils.clock import Clock

_Scalar = TypeVar("_Scalar", bound=np.generic)


class InsertResult(StrEnum):
    """What became of one inserted candle; every value but `ACCEPTED` is counted as a rejection."""

    ACCEPTED = "accepted"
    DUPLICATE = "duplicate"
    """The same closed candle again: harmless (a replayed message or an overlapping backfill)."""
    CONFLICT = "conflict"
    """A closed candle for an open time already closed with other values: the first one stands."""
    OUT_OF_ORDER = "out_of_order"
    """Older than what the series already holds."""
    GAP = "gap"
    """Would leave a hole after the last closed candle: backfill the missing ones, re-insert."""
    WRONG_SERIES = "wrong_series"
    UNALIGNED = "unaligned"
    BAD_PRICE = "bad_price"
    """A price is zero, negative, NaN or infinite."""
    BAD_VOLUME = "bad_volume"
    HIGH_BELOW_LOW = "high_below_low"
    OUTSIDE_RANGE = "outside_range"
    """Open or close outside [low, high]."""


class UnknownSeriesError(KeyError):
    """Asked for a (symbol, interval) the cache was not configured with."""


def _read_only(view: npt.NDArray[_Scalar]) -> npt.NDArray[_Scalar]:
    view.flags.writeable = False
    return view


def _is_recent(last_update_ms: int | None, now_ms: int, max_age_ms: int) -> bool:
    return last_update_ms is not None and now_ms - last_update_ms <= max_age_ms


class KlineSeries:
    """The candles of one (symbol, interval): at most `capacity` closed ones plus the forming one.

    Closed candles live in preallocated arrays twice the capacity long: inserts append, and
    when the end is reached the newest `capacity` rows move to the front, so an insert costs
    O(1) amortised and `arrays()` hands out views, never copies.
    """

    def __init__(self, symbol: str, interval: Interval, capacity: int, clock: Clock) -> None:
        if capacity < 1:
            raise ValueError(f"capacity must be positive, got {capacity}")
        self.symbol = symbol
        self.interval = interval
        self.capacity = capacity
        self.rejections: Counter[InsertResult] = Counter()
        self.last_update_ms: int | None = None
        self._clock = clock
        self._interval_ms = interval.ms
        buffer = 2 * capacity
        self._open_time: IntArray = np.zeros(buffer, dtype=np.int64)
        self._open: FloatArray = np.zeros(buffer, dtype=np.float64)
        self._high: FloatArray = np.zeros(buffer, dtype=np.float64)
        self._low: FloatArray = np.zeros(buffer, dtype=np.float64)
        self._close: FloatArray = np.zeros(buffer, dtype=np.float64)
        self._volume: FloatArray = np.zeros(buffer, dtype=np.float64)
        # The Kline objects, in step with the arrays, so `klines()` returns them untouched.
        self._klines: list[Kline] = []
        self._forming: Kline | None = None
        self._views: KlineArrays | None = None

    def __len__(self) -> int:
        """Number of closed candles held (at most `capacity`)."""
        return min(len(self._klines), self.capacity)

    @property
    def last_closed(self) -> Kline | None:
        return self._klines[-1] if self._klines else None

    @property
    def forming(self) -> Kline | None:
        return self._forming

    def insert(self, kline: Kline) -> InsertResult:
        """Validate `kline` and store it as closed or forming according to `kline.closed`."""
        result = self._check_candle(kline)
        if result is InsertResult.ACCEPTED:
            if kline.closed:
                result = self._check_closed_sequence(kline)
            else:
                result = self._check_forming_sequence(kline)
        if result is not InsertResult.ACCEPTED:
            self.rejections[result] += 1
            return result
        if kline.closed:
            self._append_closed(kline)
        else:
            self._forming = kline
        self.last_update_ms = self._clock.now_ms()
        return result

    def klines(self, limit: int | None = None) -> list[Kline]:
        """Closed candles, oldest first; at most `limit` of the newest."""
        count = len(self) if limit is None else min(max(limit, 0), len(self))
        return self._klines[len(self._klines) - count :]

    def arrays(self) -> KlineArrays:
        """Read-only views of the closed candles, valid until the next insert into this series."""
        if self._views is None:
            end = len(self._klines)
            window = slice(max(end - self.capacity, 0), end)
            self._views = KlineArrays(
                open_time=_read_only(self._open_time[window]),
                open=_read_only(self._open[window]),
                high=_read_only(self._high[window]),
                low=_read_only(self._low[window]),
                close=_read_only(self._close[window]),
                volume=_read_only(self._volume[window]),
            )
        return self._views

    def is_fresh(self, max_age_ms: int) -> bool:
        """Whether the series changed within the last `max_age_ms` by the cache's clock."""
        return _is_recent(self.last_update_ms, self._clock.now_ms(), max_age_ms)

    def _check_candle(self, kline: Kline) -> InsertResult:
        if kline.symbol != self.symbol or kline.interval != self.interval:
            return InsertResult.WRONG_SERIES
        if kline.open_time % self._interval_ms:
            return InsertResult.UNALIGNED
        low, high = kline.low, kline.high
        # One isfinite on the sum catches NaN and inf in any of the four prices (a sum that
        # overflows to inf is no real price either), which keeps the hot path short.
        if not math.isfinite(kline.open + high + low + kline.close) or low <= 0.0:
            return InsertResult.BAD_PRICE
        volume = kline.volume
        if not (volume >= 0.0 and math.isfinite(volume)):
            return InsertResult.BAD_VOLUME
        if high < low:
            return InsertResult.HIGH_BELOW_LOW
        if not (low <= kline.open <= high and low <= kline.close <= high):
            return InsertResult.OUTSIDE_RANGE
        return InsertResult.ACCEPTED

    def _check_closed_sequence(self, kline: Kline) -> InsertResult:
        last = self.last_closed
        if last is None:
            return InsertResult.ACCEPTED
        if kline.open_time == last.open_time:
            return InsertResult.DUPLICATE if kline == last else InsertResult.CONFLICT
        if kline.open_time < last.open_time:
            return InsertResult.OUT_OF_ORDER
        if kline.open_time > last.open_time + self._interval_ms:
            return InsertResult.GAP
        return InsertResult.ACCEPTED

    def _check_forming_sequence(self, kline: Kline) -> InsertResult:
        """A forming candle must be newer than the last closed one and not older than the
        current forming one. One that is more than an interval past the last closed candle is
        a gap: refusing it at once tells the feed to backfill now, instead of when it closes,
        and the series goes stale meanwhile, so nothing trades on data with a hole."""
        forming = self._forming
        if forming is not None and kline.open_time < forming.open_time:
            return InsertResult.OUT_OF_ORDER
        last = self.last_closed
        if last is None:
            return InsertResult.ACCEPTED
        if kline.open_time <= last.open_time:
            return InsertResult.OUT_OF_ORDER
        if kline.open_time > last.open_time + self._interval_ms:
            return InsertResult.GAP
        return InsertResult.ACCEPTED

    def _append_closed(self, kline: Kline) -> None:
        if len(self._klines) == 2 * self.capacity:
            self._move_newest_to_front()
        end = len(self._klines)
        self._open_time[end] = kline.open_time
        self._open[end] = kline.open
        self._high[end] = kline.high
        self._low[end] = kline.low
        self._close[end] = kline.close
        self._volume[end] = kline.volume
        self._klines.append(kline)
        self._views = None
        forming = self._forming
        if forming is not None and forming.open_time <= kline.open_time:
            self._forming = None

    def _move_newest_to_front(self) -> None:
        capacity = self.capacity
        for column in (
            self._open_time,
            self._open,
            self._high,
            self._low,
            self._close,
            self._volume,
        ):
            column[:capacity] = column[capacity:]
        del self._klines[:-capacity]


class KlineCache:
    """Validated candles for a fixed set of symbols and intervals."""

    def __init__(
        self,
        symbols: Iterable[str],
        intervals: Iterable[Interval],
        capacity: int,
        clock: Clock,
    ) -> None:
        self.symbols = tuple(symbols)
        self.intervals = tuple(intervals)
        self._clock = clock
        self._series = {
            (symbol, interval): KlineSeries(symbol, interval, capacity, clock)
            for symbol in self.symbols
            for interval in self.intervals
        }
        self._unknown_series = 0

    def insert(self, kline: Kline) -> InsertResult:
        """Validate and store `kline` in its series; a kline of an unknown series is rejected."""
        series = self._series.get((kline.symbol, kline.interval))
        if series is None:
            self._unknown_series += 1
            return InsertResult.WRONG_SERIES
        return series.insert(kline)

    def series(self, symbol: str, interval: Interval) -> KlineSeries:
        try:
            return self._series[(symbol, interval)]
        except KeyError:
            raise UnknownSeriesError(
                f"no K-line series for {symbol} {interval}; the cache holds "
                f"{', '.join(self.symbols)} at {', '.join(self.intervals)}"
            ) from None

    def klines(self, symbol: str, interval: Interval, limit: int | None = None) -> list[Kline]:
        return self.series(symbol, interval).klines(limit)

    def forming(self, symbol: str, interval: Interval) -> Kline | None:
        return self.series(symbol, interval).forming

    def arrays(self, symbol: str, interval: Interval) -> KlineArrays:
        return self.series(symbol, interval).arrays()

    def last_update_ms(self, symbol: str) -> int | None:
        """When any series of `symbol` last changed; None before the first accepted candle."""
        updates = [
            update
            for interval in self.intervals
            if (update := self.series(symbol, interval).last_update_ms) is not None
        ]
        return max(updates, default=None)

    def is_fresh(self, symbol: str, max_age_ms: int) -> bool:
        """Whether any series of `symbol` changed within the last `max_age_ms`."""
        return _is_recent(self.last_update_ms(symbol), self._clock.now_ms(), max_age_ms)

    def rejections(self) -> Counter[InsertResult]:
        """Rejections per reason over every series, for metrics."""
        total: Counter[InsertResult] = Counter()
        for series in self._series.values():
            total.update(series.rejections)
        if self._unknown_series:
            total[InsertResult.WRONG_SERIES] += self._unknown_series
        return total
