"""What crosses the exchange interface: orders, their updates, balances and positions.

Every amount is a `Decimal`. Names and values follow Binance USDⓈ-M, so the Binance adapter maps
its wire format onto these one to one and the paper exchange speaks the same language.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from enum import StrEnum


class OrderSide(StrEnum):
    BUY = "BUY"
    SELL = "SELL"

    @property
    def opposite(self) -> OrderSide:
        return OrderSide.SELL if self is OrderSide.BUY else OrderSide.BUY


class OrderType(StrEnum):
    MARKET = "MARKET"
    LIMIT = "LIMIT"
    STOP_MARKET = "STOP_MARKET"
    TAKE_PROFIT_MARKET = "TAKE_PROFIT_MARKET"

    @property
    def is_conditional(self) -> bool:
        return self in (OrderType.STOP_MARKET, OrderType.TAKE_PROFIT_MARKET)


class OrderStatus(StrEnum):
    NEW = "NEW"
    PARTIALLY_FILLED = "PARTIALLY_FILLED"
    FILLED = "FILLED"
    CANCELED = "CANCELED"
    REJECTED = "REJECTED"
    EXPIRED = "EXPIRED"

    @property
    def is_final(self) -> bool:
        return self in (
            OrderStatus.FILLED,
            OrderStatus.CANCELED,
            OrderStatus.REJECTED,
            OrderStatus.EXPIRED,
        )


class MarginType(StrEnum):
    ISOLATED = "ISOLATED"
    CROSSED = "CROSSED"


@dataclass(frozen=True, slots=True)
class OrderRequest:
    """An order as the order manager asks for it; quantities already quantized to the filters.

    A conditional order with `close_position` carries no quantity: it closes whatever is open.
    """

    symbol: str
    side: OrderSide
    type: OrderType
    client_order_id: str
    quantity: Decimal | None = None
    price: Decimal | None = None
    stop_price: Decimal | None = None
    reduce_only: bool = False
    close_position: bool = False


@dataclass(frozen=True, slots=True)
class OrderUpdate:
    """The exchange's view of one order at one moment (a query answer or a stream event).

    `filled_quantity`, `fee` and `realized_pnl` are totals for the order so far, not for the
    last fill, so the latest update alone tells the order's whole story.
    """

    symbol: str
    client_order_id: str
    exchange_order_id: str
    side: OrderSide
    type: OrderType
    status: OrderStatus
    quantity: Decimal
    filled_quantity: Decimal
    avg_price: Decimal | None
    price: Decimal | None
    stop_price: Decimal | None
    reduce_only: bool
    close_position: bool
    fee: Decimal
    fee_asset: str
    realized_pnl: Decimal
    update_time_ms: int


@dataclass(frozen=True, slots=True)
class Position:
    """An open position; `quantity` is signed (positive long, negative short), never zero."""

    symbol: str
    quantity: Decimal
    entry_price: Decimal
    mark_price: Decimal
    unrealized_pnl: Decimal
    leverage: int
    margin_type: MarginType
    margin: Decimal
    liquidation_price: Decimal | None

    @property
    def is_long(self) -> bool:
        return self.quantity > 0

    @property
    def notional(self) -> Decimal:
        return abs(self.quantity) * self.mark_price


@dataclass(frozen=True, slots=True)
class Account:
    """USDT balance and open positions, as Binance's `/fapi/v3/account` summarises them."""

    asset: str
    wallet_balance: Decimal
    unrealized_pnl: Decimal
    available_balance: Decimal
    margin_used: Decimal
    positions: tuple[Position, ...] = field(default_factory=tuple)

    @property
    def equity(self) -> Decimal:
        """Margin balance: wallet plus unrealized PnL."""
        return self.wallet_balance + self.unrealized_pnl

    def position(self, symbol: str) -> Position | None:
        return next((p for p in self.positions if p.symbol == symbol), None)
