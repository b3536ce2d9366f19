"""A scripted market and clock for exchange tests: prices, funding and candles are set by the
test, and a pushed candle reaches listeners exactly as a real source's update would."""

from __future__ import annotations

import numpy as np

from alphatransformer.market.market_data import KlineArrays, KlineListener
from alphatransformer.market.types import FundingInfo, Interval, Kline, OpenInterest
from alphatransformer.utils.clock import ManualClock

MINUTE_MS = 60_000
HOUR_MS = 60 * MINUTE_MS
# 2025-01-15 00:00:00 UTC, a funding time.
DAY_START_MS = 1_736_899_200_000


class FakeMarket:
    """`MarketData` whose prices, funding and candles the test sets."""

    def __init__(
        self, clock: ManualClock, intervals: tuple[Interval, ...] = (Interval.M1,)
    ) -> None:
        self._clock = clock
        self._intervals = intervals
        self._prices: dict[str, float] = {}
        self._funding: dict[str, FundingInfo] = {}
        self._forming: dict[tuple[str, Interval], Kline] = {}
        self._listeners: list[KlineListener] = []

    @property
    def symbols(self) -> tuple[str, ...]:
        return tuple(self._prices)

    @property
    def intervals(self) -> tuple[Interval, ...]:
        return self._intervals

    @property
    def is_simulated(self) -> bool:
        return True

    async def start(self) -> None:
        return None

    async def stop(self) -> None:
        return None

    def latest_price(self, symbol: str) -> float:
        return self._prices[symbol]

    def klines(self, symbol: str, interval: Interval, limit: int | None = None) -> list[Kline]:
        return []

    def forming(self, symbol: str, interval: Interval) -> Kline | None:
        return self._forming.get((symbol, interval))

    def arrays(self, symbol: str, interval: Interval) -> KlineArrays:
        empty = np.empty(0, dtype=np.float64)
        return KlineArrays(np.empty(0, dtype=np.int64), empty, empty, empty, empty, empty)

    def funding(self, symbol: str) -> FundingInfo | None:
        return self._funding.get(symbol)

    def open_interest(self, symbol: str) -> OpenInterest | None:
        return None

    def last_update_ms(self, symbol: str) -> int | None:
        return self._clock.now_ms() if symbol in self._prices else None

    def is_fresh(self, symbol: str, max_age_ms: int) -> bool:
        return symbol in self._prices

    def add_listener(self, listener: KlineListener) -> None:
        self._listeners.append(listener)

    # --- scripting ----------------------------------------------------------------------------

    def set_price(self, symbol: str, price: float) -> None:
        self._prices[symbol] = price

    def set_funding(
        self, symbol: str, rate: float, mark_price: float, *, interval_hours: int = 8
    ) -> None:
        now = self._clock.now_ms()
        self._funding[symbol] = FundingInfo(
            symbol, mark_price, mark_price, rate, now, now, interval_hours=interval_hours
        )

    def push(
        self,
        symbol: str,
        open_: float,
        high: float,
        low: float,
        close: float,
        *,
        interval: Interval = Interval.M1,
        closed: bool = True,
    ) -> Kline:
        """Deliver a candle of the minute the clock is in; its close becomes the last price."""
        open_time = interval.open_time(self._clock.now_ms())
        kline = Kline(
            symbol, interval, open_time, open_, high, low, close, 1.0,
            open_time + interval.ms - 1, closed=closed,
        )  # fmt: skip
        self._prices[symbol] = close
        self._forming[(symbol, interval)] = kline
        for listener in list(self._listeners):
            listener(kline)
        return kline
