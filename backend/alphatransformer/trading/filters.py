"""A symbol's exchange filters and the exact rounding Binance applies to prices and quantities."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_DOWN, ROUND_HALF_UP, ROUND_UP, Decimal, localcontext

from alphatransformer.trading.errors import FilterRejection


@dataclass(frozen=True, slots=True)
class SymbolFilters:
    """PRICE_FILTER, LOT_SIZE, MARKET_LOT_SIZE and MIN_NOTIONAL of one USDⓈ-M symbol."""

    symbol: str
    tick_size: Decimal
    min_price: Decimal
    max_price: Decimal
    step_size: Decimal
    min_qty: Decimal
    max_qty: Decimal
    market_step_size: Decimal
    market_min_qty: Decimal
    market_max_qty: Decimal
    min_notional: Decimal

    def round_price(self, price: Decimal, rounding: str = ROUND_HALF_UP) -> Decimal:
        """Snap a price onto the tick grid (nearest by default; ROUND_DOWN/ROUND_UP on request)."""
        return _to_grid(price, self.tick_size, rounding)

    def round_quantity(self, quantity: Decimal, *, market: bool = True) -> Decimal:
        """Round a quantity down to the step size, so an order never exceeds what was approved."""
        step = self.market_step_size if market else self.step_size
        return _to_grid(quantity, step, ROUND_DOWN)

    def check(self, quantity: Decimal, price: Decimal, *, market: bool = True) -> None:
        """Raise `FilterRejection` exactly where Binance would reject the order."""
        step = self.market_step_size if market else self.step_size
        low = self.market_min_qty if market else self.min_qty
        high = self.market_max_qty if market else self.max_qty
        if quantity % step != 0:
            raise FilterRejection(f"quantity {quantity} is not a multiple of {step}", code=-1111)
        if not low <= quantity <= high:
            raise FilterRejection(f"quantity {quantity} outside [{low}, {high}]", code=-4005)
        if not market:
            if price % self.tick_size != 0:
                raise FilterRejection(
                    f"price {price} is not a multiple of {self.tick_size}", code=-1111
                )
            if not self.min_price <= price <= self.max_price:
                raise FilterRejection(
                    f"price {price} outside [{self.min_price}, {self.max_price}]", code=-4016
                )
        if quantity * price < self.min_notional:
            raise FilterRejection(
                f"notional {quantity * price} below the minimum {self.min_notional}", code=-4164
            )


def _to_grid(value: Decimal, step: Decimal, rounding: str) -> Decimal:
    """`value` as a whole number of steps, exactly, however large: with the default 28 digits
    a quantity of 1e308 would raise `InvalidOperation` here instead of reaching the filter
    check that names its rule."""
    if step <= 0:
        raise ValueError(f"step must be positive, got {step}")
    with localcontext() as context:
        needed = value.adjusted() - step.adjusted() + len(step.as_tuple().digits) + 2
        context.prec = max(context.prec, needed)
        steps = (value / step).quantize(Decimal(1), rounding=rounding)
        return (steps * step).quantize(step)


__all__ = ["ROUND_DOWN", "ROUND_HALF_UP", "ROUND_UP", "SymbolFilters"]
