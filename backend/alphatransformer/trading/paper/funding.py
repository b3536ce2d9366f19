"""Funding on Binance USDⓈ-M perpetuals: when it is exchanged and how much."""

from __future__ import annotations

from decimal import Decimal

# Funding is exchanged at 00:00, 08:00 and 16:00 UTC, multiples of 8 h since the epoch.
FUNDING_INTERVAL_MS = 8 * 3_600_000


def funding_times(after_ms: int, until_ms: int) -> list[int]:
    """Funding times in (after_ms, until_ms]."""
    first = after_ms - after_ms % FUNDING_INTERVAL_MS + FUNDING_INTERVAL_MS
    return list(range(first, until_ms + 1, FUNDING_INTERVAL_MS))


def funding_payment(quantity: Decimal, mark: Decimal, rate: Decimal) -> Decimal:
    """What a position of signed `quantity` receives (negative: pays).

    Binance: funding = position notional at the mark price x funding rate, paid by longs to
    shorts when the rate is positive and the other way round when it is negative.
    """
    return -quantity * mark * rate
