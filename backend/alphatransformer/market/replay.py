"""Historical replay: real Binance candles played back on a clock, with no look-ahead.

Visibility is the one rule everything here follows: a candle is visible at time T once
`close_time < T`. Binance's close time is `open_time + interval - 1 ms`, so the candle
[open, open + interval) becomes visible exactly when T reaches its end, never earlier. The
latest price is the close of the last visible candle of the shortest interval; the inside of a
candle that has not closed is unknown, so the shortest interval has no forming candle, and a
longer interval's forming candle is built only from the visible short candles of its bucket.
Funding and open interest stamped t are known from T = t on.

Every visible candle goes through the same `KlineCache` as live data, so indicator arrays come
from the same code in a backtest as in production.
"""

from __future__ import annotations

import logging
import math
from bisect import bisect_left, bisect_right
from collections.abc import Mapping, Sequence
from itertools import groupby, pairwise
from operator import attrgetter
from pathlib import Path

from alphatransformer.config.schema import MarketConfig
from alphatransformer.market.cached_market import CachedMarket
from alphatransformer.market.history_files import KlineSequenceCheck, read_range
from alphatransformer.market.kline_cache import InsertResult
from alphatransformer.market.market_data import KlineListener
from alphatransformer.market.types import FundingInfo, Interval, Kline, OpenInterest
from alphatransformer.utils.clock import Clock

logger = logging.getLogger(__name__)

TimeSeries = Sequence[tuple[int, float]]
"""Values stamped with times (ms), oldest first: funding rates, open interest."""

_HOUR_MS = 3_600_000
OPEN_INTEREST_MAX_AGE_MS = 15 * 60_000
"""Three of Binance's 5-minute open interest samples: an older one means the history has a
hole there."""
# A funding series of a single entry is taken to follow Binance's usual 8 h schedule.
_DEFAULT_FUNDING_PERIOD_MS = 8 * _HOUR_MS
_FUNDING_HOURS = (8, 4, 1)


class ReplayMarket(CachedMarket):
    """`MarketData` over pre-loaded historical candles, driven by a clock (a `ManualClock` in
    backtests).

    `is_simulated` is False (the prices are Binance's own) and `is_replay` is True (they are
    not live). Like `SimulatedMarket`, a backtest calls `load_history()` at the start time and
    then `tick(now_ms)` each time it moves the clock; nothing runs in the background.
    """

    def __init__(
        self,
        symbols: Sequence[str],
        config: MarketConfig,
        clock: Clock,
        candles: Mapping[tuple[str, Interval], Sequence[Kline]],
        *,
        funding_rates: Mapping[str, TimeSeries] | None = None,
        open_interest: Mapping[str, TimeSeries] | None = None,
    ) -> None:
        """`candles` holds each symbol's short-interval candles, and long-interval ones when
        they come from their own files; missing long ones are aggregated from the short ones.
        Every series is checked with the cache's rules now (a `ValueError` names the candle),
        and holes are filled with flat candles (see `fill_gaps`)."""
        intervals = (config.short_interval, config.long_interval)
        super().__init__(symbols, intervals, config.cache_size, clock)
        self._short = config.short_interval
        self._history_candles = config.history_candles
        self._clock = clock
        self._tapes = _tapes(self._symbols, self._intervals, candles)
        self._funding = _timelines(self._symbols, funding_rates or {}, "funding_rates")
        self._open_interest = _timelines(self._symbols, open_interest or {}, "open_interest")
        self._now_ms: int | None = None

    @classmethod
    def from_history_files(
        cls,
        root: Path,
        symbols: Sequence[str],
        config: MarketConfig,
        clock: Clock,
        end_ms: int,
        *,
        allow_gaps: bool = False,
        funding_rates: Mapping[str, TimeSeries] | None = None,
        open_interest: Mapping[str, TimeSeries] | None = None,
    ) -> ReplayMarket:
        """A replay from the clock's now to `end_ms` of the short interval's monthly files under
        `root`, long candles aggregated from them, starting early enough for the warm-up."""
        long = config.long_interval
        first_ms = long.open_time(clock.now_ms()) - config.history_candles * long.ms
        short = config.short_interval
        candles = {
            (symbol, short): read_range(
                root, symbol, short, first_ms, end_ms, allow_gaps=allow_gaps
            )
            for symbol in symbols
        }
        return cls(
            symbols,
            config,
            clock,
            candles,
            funding_rates=funding_rates,
            open_interest=open_interest,
        )

    @property
    def is_simulated(self) -> bool:
        """False: replayed prices are real Binance prices, only not live ones."""
        return False

    @property
    def is_replay(self) -> bool:
        """True: the prices are historical, so every surface that shows them says so."""
        return True

    async def start(self) -> None:
        """Load the warm-up history; the clock's owner drives the rest with `tick()`."""
        self.load_history()

    async def stop(self) -> None:
        """Nothing runs in the background, so there is nothing to stop."""

    def load_history(self) -> None:
        """Make visible the last `history_candles` candles of each series closed before the
        clock's now.

        History is a backfill: it fills the cache without calling listeners. Loading twice is
        a no-op.
        """
        if self._now_ms is not None:
            return
        self._now_ms = self._clock.now_ms()
        for tape in self._tapes.values():
            for kline in tape.reveal(self._now_ms)[-self._history_candles :]:
                self._insert(kline)

    def tick(self, now_ms: int) -> None:
        """Make visible every candle with `close_time < now_ms`: into the cache, then to the
        listeners.

        Candles closing at the same time enter the cache together before any listener hears
        of them, as a live feed would have them all by then: the paper exchange settling
        funding or margin on BTC's candle reads ETH's price of that same moment, not the one
        a candle earlier. A time at or before the last tick changes nothing, so a clock that
        stands still (or a repeated tick) never delivers a candle twice.
        """
        if self._now_ms is None:
            raise RuntimeError("the replay has no history yet: call load_history()")
        if now_ms <= self._now_ms:
            return
        self._now_ms = now_ms
        for _, moment in groupby(self._newly_visible(now_ms), key=attrgetter("close_time")):
            closed = list(moment)
            for kline in closed:
                self._insert(kline)
            for kline in closed:
                self._notify(kline)

    def add_listener(self, listener: KlineListener) -> None:
        """Call `listener` on every candle that becomes visible, closed ones only (replay has
        nothing from inside a candle), in time order: by close time, then symbol by symbol,
        short interval before long, so a long candle follows the short one that completes it."""
        self._listeners.append(listener)

    def latest_price(self, symbol: str) -> float:
        """The close of the last visible short-interval candle."""
        last = self._cache.series(self._known(symbol), self._short).last_closed
        if last is None:
            raise RuntimeError(f"no {symbol} candle is visible yet: load history or tick first")
        return last.close

    def forming(self, symbol: str, interval: Interval) -> Kline | None:
        """The long-interval candle so far, aggregated from the visible short candles of its
        bucket; None for the short interval (its inside is unknown), for a bucket with no
        visible candle yet, and when the cache no longer holds the bucket's first candle."""
        self._cache.series(symbol, interval)  # an unknown series raises, as from the cache
        if interval is self._short or interval.ms % self._short.ms:
            return None
        per_bucket = interval.ms // self._short.ms
        recent = self._cache.klines(symbol, self._short, limit=per_bucket)
        if not recent:
            return None
        bucket_open = interval.open_time(recent[-1].open_time)
        parts = [kline for kline in recent if kline.open_time >= bucket_open]
        if len(parts) == per_bucket or parts[0].open_time != bucket_open:
            return None
        return _combine(parts, interval, closed=False)

    def funding(self, symbol: str) -> FundingInfo | None:
        """The last funding rate settled by now, with the last visible close as mark and index
        price (history has no separate mark price); None without a funding series."""
        timeline = self._funding.get(self._known(symbol))
        now_ms = self._now_ms
        if timeline is None or now_ms is None:
            return None
        settled = timeline.as_of(now_ms)
        last = self._cache.series(symbol, self._short).last_closed
        if settled is None or last is None:
            return None
        time_ms, rate = settled
        # The schedule is public in advance, so the next entry's time (not its rate) is known;
        # after the last entry, the schedule is taken to go on as it went.
        interval_ms = _funding_interval_ms(timeline.gap_after(time_ms))
        return FundingInfo(
            symbol=symbol,
            mark_price=last.close,
            index_price=last.close,
            funding_rate=rate,
            next_funding_time=time_ms + interval_ms,
            time=now_ms,
            interval_hours=max(1, round(interval_ms / _HOUR_MS)),
        )

    def open_interest(self, symbol: str) -> OpenInterest | None:
        """The last open interest stamped by now; None without an open interest series, and
        when the last one is older than `OPEN_INTEREST_MAX_AGE_MS` (a hole in the history
        is shown as no data, not as a value hours old)."""
        timeline = self._open_interest.get(self._known(symbol))
        now_ms = self._now_ms
        if timeline is None or now_ms is None:
            return None
        point = timeline.as_of(now_ms)
        if point is None or now_ms - point[0] > OPEN_INTEREST_MAX_AGE_MS:
            return None
        time_ms, value = point
        return OpenInterest(symbol=symbol, open_interest=value, time=time_ms)

    def is_fresh(self, symbol: str, max_age_ms: int) -> bool:
        """Whether the newest short candle due by the clock's now is visible: the last visible
        one ended less than one interval ago.

        `max_age_ms` bounds delivery delays in a live feed; replayed candles arrive when they
        close, with no delay, so what can go stale here is the data running out.
        """
        last = self._cache.series(self._known(symbol), self._short).last_closed
        if last is None:
            return False
        return self._clock.now_ms() - (last.close_time + 1) < self._short.ms

    def _newly_visible(self, now_ms: int) -> list[Kline]:
        revealed = [
            (rank, kline)
            for rank, tape in enumerate(self._tapes.values())
            for kline in tape.reveal(now_ms)
        ]
        revealed.sort(key=lambda item: (item[1].close_time, item[0]))
        return [kline for _, kline in revealed]

    def _insert(self, kline: Kline) -> None:
        result = self._cache.insert(kline)
        if result is not InsertResult.ACCEPTED:
            # Every series was checked with the cache's rules up front; a rejection here is a
            # bug, and skipping the candle would quietly corrupt the backtest.
            raise RuntimeError(f"replayed candle rejected by the cache ({result}): {kline}")


def aggregate(klines: Sequence[Kline], to_interval: Interval) -> list[Kline]:
    """Candles of `to_interval` built from the shorter candles of one series, oldest first.

    Exact, as Binance builds them: open of the first, highest high, lowest low, close of the
    last, sums of volumes and trade counts. Only complete buckets are returned: one with a
    candle missing, or the one still filling at the end, would have a wrong open, close or
    volume.
    """
    if not klines:
        return []
    source = klines[0].interval
    if to_interval.ms <= source.ms or to_interval.ms % source.ms:
        raise ValueError(f"{to_interval} candles cannot be built from {source} candles")
    _require_one_series(klines)
    per_bucket = to_interval.ms // source.ms
    combined: list[Kline] = []
    for _, bucket in groupby(klines, key=lambda kline: to_interval.open_time(kline.open_time)):
        parts = list(bucket)
        if len(parts) == per_bucket:
            combined.append(_combine(parts, to_interval, closed=True))
    return combined


def fill_gaps(klines: Sequence[Kline]) -> list[Kline]:
    """One series with each hole filled by flat, zero-volume candles at the previous close.

    Exchange outages leave holes in Binance's history, while the cache and the indicators need
    a gap-free series; a flat candle at the last price is what a market that did not trade
    looks like (freqtrade fills the same way), and its zero volume marks it.
    """
    filled: list[Kline] = []
    for kline in klines:
        if filled:
            filled.extend(_flat_candles(filled[-1], kline.open_time))
        filled.append(kline)
    return filled


def _flat_candles(previous: Kline, until_ms: int) -> list[Kline]:
    step = previous.interval.ms
    price = previous.close
    return [
        Kline(
            symbol=previous.symbol,
            interval=previous.interval,
            open_time=open_time,
            open=price,
            high=price,
            low=price,
            close=price,
            volume=0.0,
            close_time=open_time + step - 1,
        )
        for open_time in range(previous.open_time + step, until_ms, step)
    ]


def _combine(parts: Sequence[Kline], interval: Interval, *, closed: bool) -> Kline:
    """One `interval` candle from consecutive shorter ones; `fsum` makes the volume sums
    exact to the last bit, whatever the order of the parts."""
    first = parts[0]
    open_time = interval.open_time(first.open_time)
    return Kline(
        symbol=first.symbol,
        interval=interval,
        open_time=open_time,
        open=first.open,
        high=max(kline.high for kline in parts),
        low=min(kline.low for kline in parts),
        close=parts[-1].close,
        volume=math.fsum(kline.volume for kline in parts),
        close_time=open_time + interval.ms - 1,
        quote_volume=math.fsum(kline.quote_volume for kline in parts),
        trades=sum(kline.trades for kline in parts),
        taker_buy_volume=math.fsum(kline.taker_buy_volume for kline in parts),
        taker_buy_quote_volume=math.fsum(kline.taker_buy_quote_volume for kline in parts),
        closed=closed,
    )


def _require_one_series(klines: Sequence[Kline]) -> None:
    """Counting candles per bucket proves a bucket complete only for one series of closed
    candles in strictly increasing time."""
    first = klines[0]
    for previous, kline in pairwise(klines):
        same_series = kline.symbol == first.symbol and kline.interval == first.interval
        if not (same_series and kline.closed and kline.open_time > previous.open_time):
            raise ValueError(f"aggregate takes one series of closed candles, oldest first: {kline}")


class _Tape:
    """One series' candles in time order and how many of them are visible so far."""

    def __init__(self, klines: list[Kline]) -> None:
        self._klines = klines
        self._close_times = [kline.close_time for kline in klines]
        self._visible = 0

    def reveal(self, now_ms: int) -> list[Kline]:
        """The candles that became visible (`close_time < now_ms`) since the last call; time
        only moves forward."""
        count = max(bisect_left(self._close_times, now_ms), self._visible)
        revealed = self._klines[self._visible : count]
        self._visible = count
        return revealed


class _Timeline:
    """Values stamped with times, read as of a moment: the newest stamped at or before it."""

    def __init__(self, points: TimeSeries, name: str) -> None:
        self._times = [time_ms for time_ms, _ in points]
        self._values = [value for _, value in points]
        if any(later <= earlier for earlier, later in pairwise(self._times)):
            raise ValueError(f"{name}: times must be strictly increasing")

    def as_of(self, now_ms: int) -> tuple[int, float] | None:
        index = bisect_right(self._times, now_ms) - 1
        return None if index < 0 else (self._times[index], self._values[index])

    def gap_after(self, time_ms: int) -> int | None:
        """From the point stamped `time_ms` to the next one, or from the one before it when it
        is the last; None for a lone point."""
        index = bisect_right(self._times, time_ms)
        if index < len(self._times):
            return self._times[index] - time_ms
        return time_ms - self._times[-2] if len(self._times) > 1 else None


def _funding_interval_ms(gap_ms: int | None) -> int:
    """The funding interval a gap between two settlements shows: the longest of Binance's
    (8, 4 or 1 h) that divides it, so a settlement missing from the history (a 16 h gap) does
    not make up a schedule Binance never had; 8 h when there is no gap to go by."""
    if gap_ms is None:
        return _DEFAULT_FUNDING_PERIOD_MS
    for hours in _FUNDING_HOURS:
        if gap_ms % (hours * _HOUR_MS) == 0:
            return hours * _HOUR_MS
    return _DEFAULT_FUNDING_PERIOD_MS


def _tapes(
    symbols: Sequence[str],
    intervals: Sequence[Interval],
    candles: Mapping[tuple[str, Interval], Sequence[Kline]],
) -> dict[tuple[str, Interval], _Tape]:
    """Per series, symbol by symbol and short before long (the order listeners see at one
    time), the candles to replay."""
    unknown = set(candles) - {(symbol, interval) for symbol in symbols for interval in intervals}
    if unknown:
        raise ValueError(f"candles given for series the market does not hold: {sorted(unknown)}")
    short, *longer = intervals
    tapes: dict[tuple[str, Interval], _Tape] = {}
    for symbol in symbols:
        if (symbol, short) not in candles:
            raise ValueError(f"no {short} candles for {symbol}: replay steps through them")
        base = _prepared(symbol, short, candles[(symbol, short)])
        tapes[(symbol, short)] = _Tape(base)
        for interval in longer:
            given = candles.get((symbol, interval))
            klines = (
                aggregate(base, interval) if given is None else _prepared(symbol, interval, given)
            )
            tapes[(symbol, interval)] = _Tape(klines)
    return tapes


def _prepared(symbol: str, interval: Interval, klines: Sequence[Kline]) -> list[Kline]:
    """The series checked with the cache's rules, holes filled, so the cache takes every one."""
    check = KlineSequenceCheck(symbol, interval, allow_gaps=True)
    for index, kline in enumerate(klines):
        problem = check.problem(kline)
        if problem is not None:
            raise ValueError(f"{symbol} {interval} candle #{index}: {problem}")
    filled = fill_gaps(klines)
    if len(filled) > len(klines):
        logger.warning(
            "%s %s: %d missing candles filled with flat ones",
            symbol,
            interval,
            len(filled) - len(klines),
        )
    return filled


def _timelines(
    symbols: Sequence[str], series: Mapping[str, TimeSeries], name: str
) -> dict[str, _Timeline]:
    unknown = set(series) - set(symbols)
    if unknown:
        raise ValueError(f"{name} given for symbols the market does not hold: {sorted(unknown)}")
    return {symbol: _Timeline(points, f"{name}[{symbol}]") for symbol, points in series.items()}
