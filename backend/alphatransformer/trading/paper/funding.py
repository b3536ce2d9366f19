"""Funding on Binance USDⓈ-M perpetuals: when it is exchanged and how much."""

from __future__ import annotations

from decimal import Decimal

HOUR_MS = 3_600_000


def funding_times(after_ms: int, until_ms: int, *, interval_hours: int = 8) -> list[int]:
    """Funding times in (after_ms, until_ms]: multiples of the symbol's interval since the
    epoch, so 00:00, 08:00 and 16:00 UTC at Binance's usual 8 h."""
    interval_ms = interval_hours * HOUR_MS
    first = after_ms - after_ms % interval_ms + interval_ms
    return list(range(first, until_ms + 1, interval_ms))


def funding_payment(quantity: Decimal, mark: Decimal, rate: Decimal) -> Decimal:
    """What a position of signed `quantity` receives (negative: pays).

    Binance: funding = position notional at the mark price x funding rate, paid by longs to
    shorts when the rate is positive and the other way round when it is negative.
    """
    return -quantity * mark * rate
