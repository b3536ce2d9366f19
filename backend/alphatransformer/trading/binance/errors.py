"""Which trading error a Binance error is: what the order manager may conclude from it.

A request that may have taken effect (5xx, timeout, garbled answer) is an `AmbiguousOutcome`;
everything else is a definitive refusal, typed by what a caller can do about it.
"""

from __future__ import annotations

from alphatransformer.market.binance.errors import (
    BinanceError,
    BinanceFilterError,
    BinanceMarginError,
    BinanceUnknownOrder,
)
from alphatransformer.trading.errors import (
    AmbiguousOutcome,
    DefinitiveRejection,
    ExchangeError,
    FilterRejection,
    InsufficientMargin,
    OrderNotFound,
)

NO_NEED_TO_CHANGE_MARGIN_TYPE = -4046
"""`POST /fapi/v1/marginType` to the type already set: nothing to do, so not an error."""

ORDER_DOES_NOT_EXIST = -2013
"""A query for an id Binance has never seen."""

# Range checks of LOT_SIZE (-4004, -4005), PRICE_FILTER (-4013) and PERCENT_PRICE (-4016,
# -4024), beside the precision and notional codes `BinanceFilterError` covers: the same
# filters, so the same refusal for the caller.
_RANGE_FILTER_CODES = frozenset({-4004, -4005, -4013, -4016, -4024})


def trading_error(error: BinanceError) -> ExchangeError:
    """The `ExchangeError` a caller of the `Exchange` interface sees for `error`; its message
    is Binance's code and text, never a request (so never a key or a signature)."""
    message = str(error)
    if error.ambiguous:
        return AmbiguousOutcome(message, code=error.code)
    if isinstance(error, BinanceFilterError) or error.code in _RANGE_FILTER_CODES:
        return FilterRejection(message, code=error.code)
    if isinstance(error, BinanceMarginError):
        return InsufficientMargin(message, code=error.code)
    if isinstance(error, BinanceUnknownOrder):
        return OrderNotFound(message, code=error.code)
    return DefinitiveRejection(message, code=error.code)
