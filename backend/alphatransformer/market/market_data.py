"""The one interface the agent, the engine and the paper exchange read market data through.

Binance, the simulated market and historical replay all implement it, so nothing above this
layer knows which source runs.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

import numpy as np
import numpy.typing as npt

from alphatransformer.market.types import FundingInfo, Interval, Kline, OpenInterest

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
KlineListener = Callable[[Kline], None]


@dataclass(frozen=True, slots=True)
class KlineArrays:
    """Closed candles of one series as contiguous float64 views, oldest first, ready for TA-Lib.

    The arrays are read-only views into the cache: valid until the next insert into that series.
    """

    open_time: IntArray
    open: FloatArray
    high: FloatArray
    low: FloatArray
    close: FloatArray
    volume: FloatArray

    def __len__(self) -> int:
        return len(self.close)


class MarketData(Protocol):
    """Read access to candles, prices, funding and open interest for the configured symbols."""

    @property
    def symbols(self) -> tuple[str, ...]: ...

    @property
    def intervals(self) -> tuple[Interval, ...]: ...

    @property
    def is_simulated(self) -> bool:
        """True when prices are synthetic; every surface that shows prices must say so."""
        ...

    async def start(self) -> None:
        """Load history for every (symbol, interval) and start receiving updates."""
        ...

    async def stop(self) -> None: ...

    def latest_price(self, symbol: str) -> float:
        """Last traded price (the forming candle's close); `KeyError` for an unknown symbol."""
        ...

    def klines(self, symbol: str, interval: Interval, limit: int | None = None) -> list[Kline]:
        """Closed candles, oldest first; at most `limit` of the newest."""
        ...

    def forming(self, symbol: str, interval: Interval) -> Kline | None:
        """The candle still forming, kept apart from the closed ones."""
        ...

    def arrays(self, symbol: str, interval: Interval) -> KlineArrays: ...

    def funding(self, symbol: str) -> FundingInfo | None: ...

    def open_interest(self, symbol: str) -> OpenInterest | None: ...

    def last_update_ms(self, symbol: str) -> int | None:
        """When any series of the symbol last changed, by the market's clock."""
        ...

    def is_fresh(self, symbol: str, max_age_ms: int) -> bool:
        """Whether data is recent enough to open a position on."""
        ...

    def add_listener(self, listener: KlineListener) -> None:
        """Call `listener` on every candle update of every series, forming and closed."""
        ...
