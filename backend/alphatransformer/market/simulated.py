"""A seeded synthetic market, the offline default source: it needs no network and no keys.

Prices follow a regime-switching random walk (up-trend, down-trend, range) with clustered
volatility (mean-reverting log-volatility) and fat-tailed Student-t shocks; volume rises with
volatility. History and live updates share one code path: the price advances in steps, each
configured interval aggregates the steps into candles, and crossing a bucket boundary closes a
candle. The same seed, symbols, start time and tick times give the same candles.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import math
from collections.abc import Sequence

import numpy as np

from alphatransformer.config.schema import MarketConfig
from alphatransformer.market.cached_market import CachedMarket
from alphatransformer.market.kline_cache import InsertResult
from alphatransformer.market.market_data import FloatArray, IntArray, KlineArrays
from alphatransformer.market.types import FundingInfo, Interval, Kline, OpenInterest
from alphatransformer.utils.clock import Clock

logger = logging.getLogger(__name__)

_YEAR_S = 365.0 * 24 * 3600
_HOUR_S = 3600.0
_HOUR_MS = 3_600_000
_FUNDING_PERIOD_MS = 8 * _HOUR_MS  # Binance funds at 00, 08 and 16 UTC
# History steps one minute at a time: no interval is shorter, so every candle gets prices, and
# 20 days of history for six symbols take a fraction of a second.
_HISTORY_STEP_MS = 60_000

_TAIL_DEGREES_OF_FREEDOM = 4.0
_TAIL_TO_UNIT_VARIANCE = math.sqrt((_TAIL_DEGREES_OF_FREEDOM - 2) / _TAIL_DEGREES_OF_FREEDOM)
_LOG_VOL_SPREAD = 0.5  # stationary standard deviation of log-volatility
_LOG_VOL_MEMORY_S = 6 * _HOUR_S  # how long a calm or a stormy spell lasts, roughly
_TREND_DRIFT_IN_HOURLY_SIGMAS = 0.3  # a trend moves the price 0.3 hourly sigmas per hour
_RANGE_MEAN_S = 10 * _HOUR_S
_TREND_MEAN_S = 6 * _HOUR_S
_TREND_TO_RANGE = 0.7  # a trend that ends gives way to a range, otherwise to the opposite trend
_SIGNIFICANT_DIGITS = 6  # 95000.1, 3400.01, 0.320001: prices look like exchange prices
_QUOTE_VOLUME_PER_S = 50_000.0
_VOLUME_NOISE = 0.3
_BASE_FUNDING_TILT = 0.00007  # with the noise, funding stays around ±0.01 % per 8 h
_FUNDING_NOISE = 0.00002
_PREMIUM_TILT = 0.0003
_PREMIUM_NOISE = 0.0002
_OPEN_INTEREST_NOTIONAL = 200_000_000.0
_OPEN_INTEREST_HOURLY_SIGMA = 0.01


class SimulatedMarket(CachedMarket):
    """`MarketData` over synthetic prices, for offline runs, demos, tests and backtests.

    `start()` generates history and ticks in the background; tests and backtests call
    `load_history()` and then `tick(now_ms)` themselves instead.
    """

    def __init__(self, symbols: Sequence[str], config: MarketConfig, clock: Clock) -> None:
        start_prices = config.simulated.start_prices
        missing = [symbol for symbol in symbols if symbol not in start_prices]
        if missing:
            raise ValueError(f"market.simulated.start_prices has no price for {', '.join(missing)}")
        intervals = (config.short_interval, config.long_interval)
        super().__init__(symbols, intervals, config.cache_size, clock)
        self._config = config
        self._clock = clock
        self._tick_ms = max(round(config.simulated.tick_seconds * 1000), 1)
        self._feeds: dict[str, _SymbolFeed] = {}
        self._time_ms: int | None = None
        self._task: asyncio.Task[None] | None = None

    @property
    def is_simulated(self) -> bool:
        return True

    async def start(self) -> None:
        """Generate history unless loaded, then tick every `tick_seconds` until `stop()`."""
        if self._task is not None:
            return
        self.load_history()
        self._task = asyncio.create_task(self._run(), name="simulated-market")

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is None:
            return
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task

    def load_history(self) -> None:
        """Generate `history_candles` long-interval candles of history ending at the clock's now.

        History is a backfill: it fills the cache without calling listeners. Loading twice is
        a no-op, so a restarted feed continues its own path.
        """
        if self._time_ms is not None:
            return
        now_ms = self._clock.now_ms()
        long_interval = self._config.long_interval
        start_ms = long_interval.open_time(now_ms) - self._config.history_candles * long_interval.ms
        simulated = self._config.simulated
        self._feeds = {
            symbol: _SymbolFeed(
                symbol,
                self._intervals,
                _symbol_rng(simulated.seed, symbol),
                float(simulated.start_prices[symbol]),
                simulated.annual_volatility,
                start_ms,
            )
            for symbol in self._symbols
        }
        self._time_ms = start_ms
        self._advance(now_ms, _HISTORY_STEP_MS, notify=False)

    def tick(self, now_ms: int) -> None:
        """Move the market to `now_ms` in steps of at most `tick_seconds`, notifying listeners.

        A time at or before the market's own time is ignored, so a clock that stands still
        changes nothing.
        """
        if self._time_ms is None:
            raise RuntimeError("the simulated market has no history yet: call load_history()")
        self._advance(now_ms, self._tick_ms, notify=True)

    def latest_price(self, symbol: str) -> float:
        return self._feed(symbol).price

    def funding(self, symbol: str) -> FundingInfo | None:
        feed = self._feeds.get(self._known(symbol))
        return None if feed is None else feed.funding

    def open_interest(self, symbol: str) -> OpenInterest | None:
        feed = self._feeds.get(self._known(symbol))
        return None if feed is None else feed.open_interest

    async def _run(self) -> None:
        tick_seconds = self._config.simulated.tick_seconds
        while True:
            await asyncio.sleep(tick_seconds)
            try:
                self.tick(self._clock.now_ms())
            except Exception:
                # Log now: the task's exception would otherwise surface only at `stop()`.
                logger.exception("simulated market tick failed; the feed stops")
                raise

    def _advance(self, end_ms: int, max_step_ms: int, *, notify: bool) -> None:
        start_ms = self._time_ms
        if start_ms is None or end_ms <= start_ms:
            return
        times = _step_times(start_ms, end_ms, max_step_ms)
        self._time_ms = end_ms
        for symbol in self._symbols:
            for kline in self._feeds[symbol].advance(times, self._config.cache_size):
                self._publish(kline, notify=notify)

    def _publish(self, kline: Kline, *, notify: bool) -> None:
        result = self._cache.insert(kline)
        if result is not InsertResult.ACCEPTED:
            logger.error("simulated candle rejected by the cache (%s): %s", result, kline)
            return
        if notify:
            self._notify(kline)

    def _feed(self, symbol: str) -> _SymbolFeed:
        feed = self._feeds.get(self._known(symbol))
        if feed is None:
            raise RuntimeError("the simulated market has no prices yet: start it first")
        return feed


def _symbol_rng(seed: int, symbol: str) -> np.random.Generator:
    """A generator per (seed, symbol); a digest, because Python's str hash changes per process."""
    digest = hashlib.blake2b(f"{seed}:{symbol}".encode(), digest_size=16).digest()
    return np.random.default_rng(int.from_bytes(digest, "big"))


def _step_times(start_ms: int, end_ms: int, max_step_ms: int) -> IntArray:
    """Equal steps from `start_ms` (excluded) to `end_ms` (included), none longer than asked."""
    steps = -(-(end_ms - start_ms) // max_step_ms)
    return start_ms + ((end_ms - start_ms) * np.arange(1, steps + 1, dtype=np.int64)) // steps


class _SymbolFeed:
    """One symbol: its price path, a candle builder per interval, funding and open interest."""

    def __init__(
        self,
        symbol: str,
        intervals: Sequence[Interval],
        rng: np.random.Generator,
        start_price: float,
        annual_volatility: float,
        time_ms: int,
    ) -> None:
        self._path = _PricePath(rng, start_price, annual_volatility, time_ms)
        self._builders = [
            _CandleBuilder(symbol, interval, time_ms, self._path.price) for interval in intervals
        ]
        self._derivatives = _Derivatives(symbol, rng, self._path.price, time_ms)
        self.funding: FundingInfo | None = None
        self.open_interest: OpenInterest | None = None

    @property
    def price(self) -> float:
        return self._path.price

    def advance(self, times: IntArray, keep: int) -> list[Kline]:
        """Step to `times[-1]`; the updates are, per interval, the newest `keep` closed candles,
        oldest first, then the forming one."""
        prices, volumes = self._path.advance(times)
        updates: list[Kline] = []
        for builder in self._builders:
            updates += builder.add(times, prices, volumes, keep)
            updates.append(builder.forming_kline())
        now_ms = int(times[-1])
        self.funding = self._derivatives.funding(now_ms, self.price, self._path.trend)
        self.open_interest = self._derivatives.open_interest(now_ms, self.price)
        return updates


class _PricePath:
    """Log-price driven by regime drift plus Student-t shocks scaled by a clustered volatility."""

    def __init__(
        self, rng: np.random.Generator, price: float, annual_volatility: float, time_ms: int
    ) -> None:
        self._rng = rng
        self._annual_volatility = annual_volatility
        hourly_sigma = annual_volatility * math.sqrt(_HOUR_S / _YEAR_S)
        self._trend_drift_per_s = _TREND_DRIFT_IN_HOURLY_SIGMAS * hourly_sigma / _HOUR_S
        self._decimals = _SIGNIFICANT_DIGITS - 1 - math.floor(math.log10(price))
        self._log_price = math.log(price)
        self._log_vol = float(rng.normal(0.0, _LOG_VOL_SPREAD))
        self._regimes = _RegimeChain(rng, time_ms)
        self._time_ms = time_ms
        self.price = float(self._round(np.array([price]))[0])

    @property
    def trend(self) -> int:
        return self._regimes.trend

    def advance(self, times: IntArray) -> tuple[FloatArray, FloatArray]:
        """Prices (rounded like an exchange's) and base-asset volumes at each of `times`."""
        dt_s = np.diff(times, prepend=self._time_ms) / 1000.0
        drift = self._regimes.trends(times) * self._trend_drift_per_s * dt_s
        # exp(h - s²) has mean square 1, so the long-run volatility is the configured one.
        vol_level = np.exp(self._log_vols(dt_s) - _LOG_VOL_SPREAD**2)
        shocks = self._rng.standard_t(_TAIL_DEGREES_OF_FREEDOM, len(times))
        sigma = self._annual_volatility * vol_level * np.sqrt(dt_s / _YEAR_S)
        log_prices = self._log_price + np.cumsum(drift + sigma * shocks * _TAIL_TO_UNIT_VARIANCE)
        self._log_price = float(log_prices[-1])
        self._time_ms = int(times[-1])
        prices = self._round(np.exp(log_prices))
        self.price = float(prices[-1])
        return prices, self._volumes(dt_s, vol_level, shocks, prices)

    def _log_vols(self, dt_s: FloatArray) -> FloatArray:
        """Ornstein-Uhlenbeck log-volatility, exact for any step length; it is a recursion, so
        a plain loop over Python floats (fast enough for a month of one-minute steps)."""
        keep = np.exp(-dt_s / _LOG_VOL_MEMORY_S)
        innovations = self._rng.standard_normal(len(dt_s)) * _LOG_VOL_SPREAD * np.sqrt(1 - keep**2)
        level = self._log_vol
        levels: list[float] = []
        for decay, innovation in zip(keep.tolist(), innovations.tolist(), strict=True):
            level = level * decay + innovation
            levels.append(level)
        self._log_vol = level
        return np.array(levels)

    def _volumes(
        self, dt_s: FloatArray, vol_level: FloatArray, shocks: FloatArray, prices: FloatArray
    ) -> FloatArray:
        """Volume grows with the volatility level and with the size of each move, like real
        trading does around big candles."""
        noise = self._rng.lognormal(-0.5 * _VOLUME_NOISE**2, _VOLUME_NOISE, len(dt_s))
        activity = vol_level * (0.5 + 0.5 * np.abs(shocks)) * noise
        return _QUOTE_VOLUME_PER_S * dt_s * activity / prices

    def _round(self, prices: FloatArray) -> FloatArray:
        smallest = 10.0**-self._decimals
        return np.maximum(np.round(prices, self._decimals), smallest)


class _RegimeChain:
    """Markov switching between range (0), up-trend (+1) and down-trend (-1), in continuous time:
    each regime lasts an exponentially distributed time of a few hours."""

    def __init__(self, rng: np.random.Generator, time_ms: int) -> None:
        self._rng = rng
        self.trend = int(rng.choice((-1, 0, 0, 1)))
        self._ends_ms = time_ms + self._duration_ms()

    def trends(self, times: IntArray) -> FloatArray:
        """The trend in force at each of `times`, switching regimes as their time runs out."""
        trends = np.empty(len(times))
        start = 0
        while True:
            stop = int(np.searchsorted(times, self._ends_ms))
            trends[start:stop] = self.trend
            if stop == len(times):
                return trends
            self._switch()
            start = stop

    def _switch(self) -> None:
        if self.trend == 0:
            self.trend = 1 if self._rng.random() < 0.5 else -1
        elif self._rng.random() < _TREND_TO_RANGE:
            self.trend = 0
        else:
            self.trend = -self.trend
        self._ends_ms += self._duration_ms()

    def _duration_ms(self) -> int:
        mean_s = _RANGE_MEAN_S if self.trend == 0 else _TREND_MEAN_S
        return max(int(self._rng.exponential(mean_s * 1000)), 1)


class _CandleBuilder:
    """Aggregates price steps into the candles of one interval.

    A candle opens at the last price before its bucket (the previous close), so the open of a
    long candle equals the open of the first short candle in it.
    """

    def __init__(self, symbol: str, interval: Interval, time_ms: int, price: float) -> None:
        self._symbol = symbol
        self._interval = interval
        single = np.array([price])
        self._forming = KlineArrays(
            open_time=np.array([interval.open_time(time_ms)], dtype=np.int64),
            open=single,
            high=single.copy(),
            low=single.copy(),
            close=single.copy(),
            volume=np.zeros(1),
        )

    def add(
        self, times: IntArray, prices: FloatArray, volumes: FloatArray, keep: int
    ) -> list[Kline]:
        """Fold the steps into the forming candle; return the newest `keep` candles that closed."""
        steps = _bucket(times, prices, volumes, self._interval.ms, self._forming.close[0])
        candles = _merge(self._forming, steps)
        count = len(candles)
        self._forming = _rows(candles, slice(count - 1, count))
        closed = _rows(candles, slice(max(count - 1 - keep, 0), count - 1))
        return self._klines(closed, closed=True)

    def forming_kline(self) -> Kline:
        return self._klines(self._forming, closed=False)[0]

    def _klines(self, candles: KlineArrays, *, closed: bool) -> list[Kline]:
        interval_ms = self._interval.ms
        return [
            Kline(
                symbol=self._symbol,
                interval=self._interval,
                open_time=open_time,
                open=open_,
                high=high,
                low=low,
                close=close,
                volume=volume,
                close_time=open_time + interval_ms - 1,
                closed=closed,
            )
            for open_time, open_, high, low, close, volume in zip(
                candles.open_time.tolist(),
                candles.open.tolist(),
                candles.high.tolist(),
                candles.low.tolist(),
                candles.close.tolist(),
                candles.volume.tolist(),
                strict=True,
            )
        ]


def _bucket(
    times: IntArray,
    prices: FloatArray,
    volumes: FloatArray,
    interval_ms: int,
    previous_close: float,
) -> KlineArrays:
    """One candle per interval bucket the steps fall in, each opening at the price before it."""
    buckets = times - times % interval_ms
    starts = np.flatnonzero(buckets[1:] != buckets[:-1]) + 1
    firsts = np.concatenate(([0], starts))
    opens = np.concatenate(([previous_close], prices[starts - 1]))
    return KlineArrays(
        open_time=buckets[firsts],
        open=opens,
        high=np.maximum(np.maximum.reduceat(prices, firsts), opens),
        low=np.minimum(np.minimum.reduceat(prices, firsts), opens),
        close=prices[np.concatenate((starts, [len(prices)])) - 1],
        volume=np.add.reduceat(volumes, firsts),
    )


def _merge(forming: KlineArrays, new: KlineArrays) -> KlineArrays:
    """The forming candle followed by the new ones; when the first new one is the same bucket,
    it extends the forming candle instead (its open is the forming close, already in range)."""
    if new.open_time[0] != forming.open_time[0]:
        return KlineArrays(
            open_time=np.concatenate((forming.open_time, new.open_time)),
            open=np.concatenate((forming.open, new.open)),
            high=np.concatenate((forming.high, new.high)),
            low=np.concatenate((forming.low, new.low)),
            close=np.concatenate((forming.close, new.close)),
            volume=np.concatenate((forming.volume, new.volume)),
        )
    new.open[0] = forming.open[0]
    new.high[0] = max(new.high[0], forming.high[0])
    new.low[0] = min(new.low[0], forming.low[0])
    new.volume[0] += forming.volume[0]
    return new


def _rows(candles: KlineArrays, rows: slice) -> KlineArrays:
    return KlineArrays(
        open_time=candles.open_time[rows],
        open=candles.open[rows],
        high=candles.high[rows],
        low=candles.low[rows],
        close=candles.close[rows],
        volume=candles.volume[rows],
    )


class _Derivatives:
    """Perpetual-swap extras: the premium and funding lean with the trend (longs pay in an
    up-trend), and open interest wanders."""

    def __init__(self, symbol: str, rng: np.random.Generator, price: float, time_ms: int) -> None:
        self._symbol = symbol
        self._rng = rng
        self._open_interest = _OPEN_INTEREST_NOTIONAL / price
        self._time_ms = time_ms

    def funding(self, now_ms: int, price: float, trend: int) -> FundingInfo:
        premium = _PREMIUM_TILT * trend + _PREMIUM_NOISE * float(self._rng.standard_normal())
        rate = _BASE_FUNDING_TILT * trend + _FUNDING_NOISE * float(self._rng.standard_normal())
        return FundingInfo(
            symbol=self._symbol,
            mark_price=price,
            index_price=price / (1.0 + premium),
            funding_rate=rate,
            next_funding_time=(now_ms // _FUNDING_PERIOD_MS + 1) * _FUNDING_PERIOD_MS,
            time=now_ms,
        )

    def open_interest(self, now_ms: int, price: float) -> OpenInterest:
        elapsed_h = (now_ms - self._time_ms) / _HOUR_MS
        self._time_ms = now_ms
        step = _OPEN_INTEREST_HOURLY_SIGMA * math.sqrt(elapsed_h) * self._rng.standard_normal()
        self._open_interest *= math.exp(float(step))
        return OpenInterest(
            symbol=self._symbol, open_interest=round(self._open_interest, 3), time=now_ms
        )
