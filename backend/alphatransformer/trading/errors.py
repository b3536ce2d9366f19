"""Exchange errors as types, split by what the caller may conclude from them.

A `DefinitiveRejection` means the order does not exist and never will; an
`AmbiguousOutcome` means it may or may not exist: query it by client order id before anything
else, and never send it again blindly.
"""

from __future__ import annotations


class ExchangeError(Exception):
    """Base of every error an `Exchange` raises."""

    def __init__(self, message: str, *, code: int | None = None) -> None:
        super().__init__(message)
        self.code = code


class DefinitiveRejection(ExchangeError):
    """The exchange refused the request; nothing was done."""


class FilterRejection(DefinitiveRejection):
    """Price, quantity or notional break the symbol's filters (Binance -1013, -1111, -4164...)."""


class InsufficientMargin(DefinitiveRejection):
    """Not enough available balance for the order's margin (Binance -2019)."""


class OrderNotFound(DefinitiveRejection):
    """No order with that id on the exchange (Binance -2011, -2013)."""


class AmbiguousOutcome(ExchangeError):
    """Timeout, disconnect or 5xx: the order's fate is unknown until queried."""
