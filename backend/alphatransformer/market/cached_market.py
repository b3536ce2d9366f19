"""What every market data source shares: a validated K-line cache read the same way, and
listeners told about each accepted candle. Sources differ only in where candles come from."""

from __future__ import annotations

import logging
from collections.abc import Sequence

from alphatransformer.market.kline_cache import KlineCache
from alphatransformer.market.market_data import KlineArrays, KlineListener
from alphatransformer.market.types import Interval, Kline
from alphatransformer.utils.clock import Clock

logger = logging.getLogger(__name__)


class CachedMarket:
    """Base of the `MarketData` sources: symbols, intervals, cache reads and listeners."""

    def __init__(
        self, symbols: Sequence[str], intervals: tuple[Interval, ...], cache_size: int, clock: Clock
    ) -> None:
        self._symbols = tuple(symbols)
        self._intervals = intervals
        self._cache = KlineCache(self._symbols, intervals, cache_size, clock)
        self._listeners: list[KlineListener] = []

    @property
    def symbols(self) -> tuple[str, ...]:
        return self._symbols

    @property
    def intervals(self) -> tuple[Interval, ...]:
        return self._intervals

    @property
    def cache(self) -> KlineCache:
        """The cache the source writes into, for its rejection counters."""
        return self._cache

    def add_listener(self, listener: KlineListener) -> None:
        self._listeners.append(listener)

    def klines(self, symbol: str, interval: Interval, limit: int | None = None) -> list[Kline]:
        return self._cache.klines(symbol, interval, limit)

    def forming(self, symbol: str, interval: Interval) -> Kline | None:
        return self._cache.forming(symbol, interval)

    def arrays(self, symbol: str, interval: Interval) -> KlineArrays:
        return self._cache.arrays(symbol, interval)

    def last_update_ms(self, symbol: str) -> int | None:
        return self._cache.last_update_ms(symbol)

    def is_fresh(self, symbol: str, max_age_ms: int) -> bool:
        return self._cache.is_fresh(symbol, max_age_ms)

    def _notify(self, kline: Kline) -> None:
        for listener in self._listeners:
            try:
                listener(kline)
            except Exception:
                # One broken consumer must not stop the feed for every other one.
                logger.exception("market data listener %r failed on %s", listener, kline)

    def _known(self, symbol: str) -> str:
        if symbol not in self._symbols:
            raise KeyError(f"unknown symbol {symbol!r}; the market has {', '.join(self._symbols)}")
        return symbol
