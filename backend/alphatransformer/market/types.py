"""Market data types shared by every source (Binance, simulated, replay) and by the agent."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

_MINUTE_MS = 60_000
_FIRST_MONDAY_MS = 4 * 1440 * _MINUTE_MS  # 1970-01-05 00:00 UTC

_INTERVAL_MS: dict[str, int] = {
    "1m": _MINUTE_MS,
    "3m": 3 * _MINUTE_MS,
    "5m": 5 * _MINUTE_MS,
    "15m": 15 * _MINUTE_MS,
    "30m": 30 * _MINUTE_MS,
    "1h": 60 * _MINUTE_MS,
    "2h": 120 * _MINUTE_MS,
    "4h": 240 * _MINUTE_MS,
    "6h": 360 * _MINUTE_MS,
    "8h": 480 * _MINUTE_MS,
    "12h": 720 * _MINUTE_MS,
    "1d": 1440 * _MINUTE_MS,
    "3d": 3 * 1440 * _MINUTE_MS,
    "1w": 7 * 1440 * _MINUTE_MS,
}


class Interval(StrEnum):
    """A Binance kline interval with a fixed length (the calendar month `1M` is left out)."""

    M1 = "1m"
    M3 = "3m"
    M5 = "5m"
    M15 = "15m"
    M30 = "30m"
    H1 = "1h"
    H2 = "2h"
    H4 = "4h"
    H6 = "6h"
    H8 = "8h"
    H12 = "12h"
    D1 = "1d"
    D3 = "3d"
    W1 = "1w"

    @property
    def ms(self) -> int:
        """Length of one candle in milliseconds."""
        return _INTERVAL_MS[self.value]

    def open_time(self, timestamp_ms: int) -> int:
        """Open time of the candle that contains `timestamp_ms`, aligned as Binance aligns it:
        to the epoch, except weeks, which open on Mondays (the epoch was a Thursday)."""
        anchor = _FIRST_MONDAY_MS if self is Interval.W1 else 0
        return timestamp_ms - (timestamp_ms - anchor) % self.ms


@dataclass(frozen=True, slots=True)
class Kline:
    """One candle, with the fields of Binance's kline arrays.

    Prices are floats: they feed TA-Lib and never go to the exchange; anything sent to the
    exchange is converted to `Decimal` and quantized to the symbol's filters first.
    """

    symbol: str
    interval: Interval
    open_time: int
    open: float
    high: float
    low: float
    close: float
    volume: float
    close_time: int
    quote_volume: float = 0.0
    trades: int = 0
    taker_buy_volume: float = 0.0
    taker_buy_quote_volume: float = 0.0
    closed: bool = True


@dataclass(frozen=True, slots=True)
class FundingInfo:
    """Mark price and funding, as Binance's `premiumIndex` reports them, with the symbol's
    funding interval from `fundingInfo`."""

    symbol: str
    mark_price: float
    index_price: float
    funding_rate: float
    next_funding_time: int
    time: int
    interval_hours: int = 8
    """Hours between settlements, on a grid from midnight UTC: 8 (00:00, 08:00, 16:00) unless
    Binance moved the symbol to 4 or 1."""


@dataclass(frozen=True, slots=True)
class OpenInterest:
    """Open interest in contracts (base asset) at a point in time."""

    symbol: str
    open_interest: float
    time: int
