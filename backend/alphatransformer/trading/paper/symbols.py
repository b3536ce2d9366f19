"""Contract specifications the paper exchange trades with, as data: filters, first-tier
maintenance margin rate and maximum leverage per symbol.

Known symbols carry Binance USDⓈ-M values (`GET /fapi/v1/exchangeInfo` filters and the first
bracket of `GET /fapi/v1/leverageBracket`, 2024-2025). Binance revises them from time to time;
live trading reads them from the API, the paper exchange only needs them to be realistic. A
symbol missing from the table gets a specification derived from its current price.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_DOWN, Decimal

from alphatransformer.trading.filters import SymbolFilters

# Binance's standard MIN_NOTIONAL for altcoin perpetuals.
DERIVED_MIN_NOTIONAL = Decimal(5)
# Small-cap perpetuals typically start at 1 % maintenance margin and 50x maximum leverage;
# assuming that for an unknown symbol errs on the side of an earlier liquidation.
DERIVED_MAINTENANCE_MARGIN_RATE = Decimal("0.01")
DERIVED_MAX_LEVERAGE = 50
# Largest order of a derived symbol, in USDT at the current price: never binding in paper trading.
DERIVED_MAX_ORDER_NOTIONAL = Decimal(10_000_000)


@dataclass(frozen=True, slots=True)
class SymbolSpec:
    """What the paper exchange needs to know about one perpetual contract."""

    filters: SymbolFilters
    maintenance_margin_rate: Decimal
    max_leverage: int


def _spec(
    symbol: str,
    *,
    tick: str,
    price_range: tuple[str, str],
    step: str,
    max_qty: str,
    market_max_qty: str,
    min_notional: str,
    maintenance_margin_rate: str,
    max_leverage: int,
) -> SymbolSpec:
    """One table row; on every symbol listed, min quantity equals the step, as on Binance."""
    filters = SymbolFilters(
        symbol=symbol,
        tick_size=Decimal(tick),
        min_price=Decimal(price_range[0]),
        max_price=Decimal(price_range[1]),
        step_size=Decimal(step),
        min_qty=Decimal(step),
        max_qty=Decimal(max_qty),
        market_step_size=Decimal(step),
        market_min_qty=Decimal(step),
        market_max_qty=Decimal(market_max_qty),
        min_notional=Decimal(min_notional),
    )
    return SymbolSpec(filters, Decimal(maintenance_margin_rate), max_leverage)


KNOWN_SPECS: dict[str, SymbolSpec] = {
    spec.filters.symbol: spec
    for spec in (
        _spec(
            "BTCUSDT",
            tick="0.10",
            price_range=("556.80", "4529764"),
            step="0.001",
            max_qty="1000",
            market_max_qty="120",
            min_notional="100",
            maintenance_margin_rate="0.004",
            max_leverage=125,
        ),
        _spec(
            "ETHUSDT",
            tick="0.01",
            price_range=("39.86", "306177"),
            step="0.001",
            max_qty="10000",
            market_max_qty="2000",
            min_notional="20",
            maintenance_margin_rate="0.005",
            max_leverage=125,
        ),
        _spec(
            "SOLUSDT",
            tick="0.0100",
            price_range=("0.4200", "6857"),
            step="1",
            max_qty="1000000",
            market_max_qty="5000",
            min_notional="5",
            maintenance_margin_rate="0.005",
            max_leverage=100,
        ),
        _spec(
            "BNBUSDT",
            tick="0.010",
            price_range=("6.600", "100000"),
            step="0.01",
            max_qty="100000",
            market_max_qty="2000",
            min_notional="5",
            maintenance_margin_rate="0.005",
            max_leverage=75,
        ),
        _spec(
            "XRPUSDT",
            tick="0.0001",
            price_range=("0.0143", "100000"),
            step="0.1",
            max_qty="10000000",
            market_max_qty="2000000",
            min_notional="5",
            maintenance_margin_rate="0.005",
            max_leverage=75,
        ),
        _spec(
            "DOGEUSDT",
            tick="0.000010",
            price_range=("0.002440", "30"),
            step="1",
            max_qty="50000000",
            market_max_qty="30000000",
            min_notional="5",
            maintenance_margin_rate="0.005",
            max_leverage=75,
        ),
    )
}


def derive_spec(symbol: str, price: Decimal) -> SymbolSpec:
    """A plausible specification for a symbol missing from the table, from its current price.

    Binance quotes perpetuals to about five significant digits, so the tick is the power of ten
    four places below the price's leading digit (0.15 -> 0.00001, 2.5 -> 0.0001, 150 -> 0.01).
    The step is the largest power of ten worth at most 1 USDT, kept within [0.001, 1]
    (0.15 -> 1, 2.5 -> 0.1, 600 -> 0.001), which matches most listed altcoins.
    """
    if price <= 0:
        raise ValueError(f"cannot derive filters for {symbol} from price {price}")
    tick = Decimal(1).scaleb(price.adjusted() - 4)
    step = Decimal(1).scaleb(min(0, max(-3, (1 / price).adjusted())))
    max_qty = max(step, (DERIVED_MAX_ORDER_NOTIONAL / price).quantize(step, rounding=ROUND_DOWN))
    filters = SymbolFilters(
        symbol=symbol,
        tick_size=tick,
        min_price=tick,
        max_price=tick.scaleb(8),
        step_size=step,
        min_qty=step,
        max_qty=max_qty,
        market_step_size=step,
        market_min_qty=step,
        market_max_qty=max_qty,
        min_notional=DERIVED_MIN_NOTIONAL,
    )
    return SymbolSpec(filters, DERIVED_MAINTENANCE_MARGIN_RATE, DERIVED_MAX_LEVERAGE)
