"""How the paper exchange reads a candle: the price path it assumes inside it, and where on that
path a stop, a take-profit or a liquidation fires.

A candle only says open, high, low and close. The path assumed is open -> adverse extreme ->
favourable extreme -> close, adverse for the position held (low first for a long or no
position, high first for a short), so when a stop and a take-profit are both inside one candle
the stop fills first, the pessimistic reading. A repeated update of the candle still forming
starts from the previous update's close and only visits an extreme that is new since then, so an
order placed mid-candle is never filled by a price printed before it existed.
"""

from __future__ import annotations

from decimal import Decimal

from alphatransformer.market.types import Kline
from alphatransformer.trading.models import OrderSide, OrderType


def to_decimal(price: float) -> Decimal:
    """A float price as the decimal it prints as (repr is the shortest exact round trip)."""
    return Decimal(repr(price))


def candle_path(kline: Kline, previous: Kline | None, *, down_first: bool) -> list[Decimal]:
    """Prices visited since `previous` (the last update seen of this series), in order."""
    if previous is not None and previous.open_time == kline.open_time:
        start = previous.close
        low = kline.low if kline.low < previous.low else min(previous.close, kline.close)
        high = kline.high if kline.high > previous.high else max(previous.close, kline.close)
    else:
        start, low, high = kline.open, kline.low, kline.high
    extremes = (low, high) if down_first else (high, low)
    return [to_decimal(p) for p in (start, *extremes, kline.close)]


def falls_to_trigger(side: OrderSide, order_type: OrderType) -> bool:
    """SELL STOP_MARKET and BUY TAKE_PROFIT_MARKET fire when the price falls to the stop; the
    other two when it rises to it."""
    return (order_type is OrderType.STOP_MARKET) == (side is OrderSide.SELL)


def trigger_base(falls: bool, stop: Decimal, start: Decimal, end: Decimal) -> Decimal | None:
    """Where a trigger at `stop` fires on the monotonic leg `start` -> `end`: at the stop, or at
    `start` when the price is already past it (a gap); None when the leg never reaches it."""
    if falls:
        return min(start, stop) if min(start, end) <= stop else None
    return max(start, stop) if max(start, end) >= stop else None
