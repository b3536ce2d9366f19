"""The checks Binance runs before it accepts an order, with its error codes, so that the order
manager meets the same refusals in paper trading as in production."""

from __future__ import annotations

from decimal import Decimal

from alphatransformer.trading.errors import DefinitiveRejection, FilterRejection
from alphatransformer.trading.filters import SymbolFilters
from alphatransformer.trading.models import OrderRequest, OrderType
from alphatransformer.trading.paper.candles import falls_to_trigger, trigger_base
from alphatransformer.trading.paper.positions import OpenPosition

MIN_NOTIONAL_CODE = -4164


def validate_order(
    request: OrderRequest,
    filters: SymbolFilters,
    last_price: Decimal,
    position: OpenPosition | None,
) -> None:
    """Raise the `DefinitiveRejection` Binance would answer `request` with, if any."""
    check_shape(request)
    if request.stop_price is not None:
        _check_stop_price(request.stop_price, filters)
        _check_not_triggered(request, request.stop_price, last_price)
    if request.quantity is not None:
        _check_filters(request, request.quantity, filters, request.stop_price or last_price)
    _check_reduces(request, position)


def check_shape(request: OrderRequest) -> None:
    """Parameters that are missing, superfluous or unsupported (LIMIT, for now)."""
    if request.type is OrderType.LIMIT:
        raise DefinitiveRejection(
            "LIMIT orders are not supported by the paper exchange yet", code=-1116
        )
    conditional = request.type.is_conditional
    superfluous = {
        "price": request.price is not None,
        "stopPrice": request.stop_price is not None and not conditional,
        "closePosition": request.close_position and not conditional,
        "quantity": request.close_position and request.quantity is not None,
        "reduceOnly": request.close_position and request.reduce_only,
    }
    for name, sent in superfluous.items():
        if sent:
            raise DefinitiveRejection(f"Parameter '{name}' sent when not required.", code=-1106)
    if conditional and request.stop_price is None:
        raise _missing("stopPrice")
    if not request.close_position:
        if request.quantity is None:
            raise _missing("quantity")
        if request.quantity <= 0:
            raise DefinitiveRejection("Quantity less than or equal to zero.", code=-4003)


def _missing(name: str) -> DefinitiveRejection:
    return DefinitiveRejection(f"Mandatory parameter '{name}' was not sent.", code=-1102)


def _check_stop_price(stop_price: Decimal, filters: SymbolFilters) -> None:
    """PRICE_FILTER applies to the stop price of a conditional order."""
    if stop_price % filters.tick_size != 0:
        raise FilterRejection(
            f"stop price {stop_price} is not a multiple of {filters.tick_size}", code=-1111
        )
    if not filters.min_price <= stop_price <= filters.max_price:
        raise FilterRejection(
            f"stop price {stop_price} outside [{filters.min_price}, {filters.max_price}]",
            code=-4016,
        )


def _check_not_triggered(request: OrderRequest, stop_price: Decimal, last_price: Decimal) -> None:
    """A conditional order whose stop the price has already passed is refused (-2021)."""
    falls = falls_to_trigger(request.side, request.type)
    if trigger_base(falls, stop_price, last_price, last_price) is not None:
        raise DefinitiveRejection(
            f"Order would immediately trigger: stop {stop_price}, last price {last_price}",
            code=-2021,
        )


def _check_filters(
    request: OrderRequest, quantity: Decimal, filters: SymbolFilters, reference_price: Decimal
) -> None:
    """LOT_SIZE and MIN_NOTIONAL at the last price (MARKET) or the stop price (conditional);
    reduce-only orders are exempt from MIN_NOTIONAL, as Binance's -4164 message says."""
    try:
        filters.check(quantity, reference_price, market=True)
    except FilterRejection as rejection:
        if not (request.reduce_only and rejection.code == MIN_NOTIONAL_CODE):
            raise


def _check_reduces(request: OrderRequest, position: OpenPosition | None) -> None:
    """Reduce-only and close-position orders must work against the open position, and a
    reduce-only quantity may not exceed it: otherwise it would open exposure (-2022)."""
    if not (request.reduce_only or request.close_position):
        return
    if (
        position is None
        or not position.is_reduced_by(request.side)
        or (request.quantity is not None and request.quantity > position.size)
    ):
        raise DefinitiveRejection("ReduceOnly Order is rejected.", code=-2022)
