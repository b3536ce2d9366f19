"""Binance USDⓈ-M trading wire format (REST answers and user data events) as our types.

Strict like the market-data schemas: a field that is missing or off-shape raises one
`MalformedMessage` naming it. Amounts are exact `Decimal`s. An order comes back as an
`OrderUpdate` whose fee and realized PnL are still zero: Binance reports those per trade
(`Fill`), and `orders.OrderTracker` adds them up per order.

Conditional orders live in Binance's Algo Service (`/fapi/v1/algoOrder`, `ALGO_UPDATE`) with
their own statuses; once triggered, a matching-engine order (`actualOrderId`) does the trading.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, TypeVar

from alphatransformer.market.binance.errors import MalformedMessage

# The readers of the market-data schemas: one strictness for the whole venue.
from alphatransformer.market.binance.schemas import (
    _bool,
    _decimal,
    _field,
    _int,
    _list,
    _mapping,
    _read,
    _str,
)
from alphatransformer.trading.models import (
    MarginType,
    OrderSide,
    OrderStatus,
    OrderType,
    OrderUpdate,
)

_T = TypeVar("_T")
_ZERO = Decimal(0)
ASSET = "USDT"


@dataclass(frozen=True, slots=True)
class Fill:
    """One trade of an order: how much it filled and what it added to fee and realized PnL."""

    trade_id: int
    order_id: str
    quantity: Decimal
    price: Decimal
    fee: Decimal
    fee_asset: str
    realized_pnl: Decimal


@dataclass(frozen=True, slots=True)
class OrderEvent:
    """An `ORDER_TRADE_UPDATE`: the order's state, and the trade that caused it, if one did."""

    update: OrderUpdate
    fill: Fill | None


@dataclass(frozen=True, slots=True)
class AlgoOrder:
    """A conditional order of the Algo Service; `actual_order_id` names the matching-engine
    order it became once triggered."""

    update: OrderUpdate
    actual_order_id: str | None


@dataclass(frozen=True, slots=True)
class Balances:
    """One asset's line of `/fapi/v3/account`."""

    asset: str
    wallet_balance: Decimal
    unrealized_pnl: Decimal
    available_balance: Decimal
    initial_margin: Decimal


@dataclass(frozen=True, slots=True)
class PositionRisk:
    """One row of `/fapi/v3/positionRisk` (which no longer says leverage or margin type)."""

    symbol: str
    quantity: Decimal
    entry_price: Decimal
    mark_price: Decimal
    unrealized_pnl: Decimal
    initial_margin: Decimal
    isolated_wallet: Decimal
    liquidation_price: Decimal | None


@dataclass(frozen=True, slots=True)
class SymbolConfig:
    """One row of `/fapi/v1/symbolConfig`: the leverage and margin type set on a symbol."""

    symbol: str
    leverage: int
    margin_type: MarginType


@dataclass(frozen=True, slots=True)
class PositionChange:
    """A position as an `ACCOUNT_UPDATE` reports it after the change."""

    symbol: str
    quantity: Decimal
    entry_price: Decimal
    unrealized_pnl: Decimal
    margin_type: MarginType


@dataclass(frozen=True, slots=True)
class AccountChange:
    """An `ACCOUNT_UPDATE`: wallet balances and positions that changed, and why (`reason`:
    ORDER, FUNDING_FEE, DEPOSIT...)."""

    reason: str
    time_ms: int
    wallet_balances: Mapping[str, Decimal]
    positions: tuple[PositionChange, ...]


# --- readers --------------------------------------------------------------------------------


def _amount(value: Any) -> Decimal:
    """A decimal string; Binance writes "" where nothing applies (no fill price yet)."""
    return _ZERO if value == "" else _decimal(value)


def _positive_or_none(value: Any) -> Decimal | None:
    """Prices Binance writes as "0" when they do not apply (a market order's price)."""
    amount = _amount(value)
    return amount if amount > 0 else None


def _order_id(value: Any) -> str:
    """Order ids come as integers in answers and as strings in some algo fields."""
    if type(value) is int:
        return str(value)
    return _str(value)


def _optional(container: Any, key: str, read: Callable[[Any], _T], where: str) -> _T | None:
    """`read(container[key])` when the key is there (Binance omits some fields when empty)."""
    if not isinstance(container, Mapping) or key not in container:
        return None
    return _field(container, key, read, where)


def _enum(kind: Callable[[str], _T]) -> Callable[[Any], _T]:
    def read(value: Any) -> _T:
        return kind(_str(value))

    return read


_side = _enum(OrderSide)
_margin_type = _enum(MarginType)

_ORDER_TYPES = {order_type.value: order_type for order_type in OrderType}
_ORDER_STATUSES = {status.value: status for status in OrderStatus}
# Self-trade prevention expiry is an expiry for whoever placed the order.
_ORDER_STATUSES["EXPIRED_IN_MATCH"] = OrderStatus.EXPIRED
_ALGO_STATUSES = {
    "CANCELED": OrderStatus.CANCELED,
    "EXPIRED": OrderStatus.EXPIRED,
    "REJECTED": OrderStatus.REJECTED,
}
_ALGO_WORKING = frozenset({"NEW", "TRIGGERING", "TRIGGERED"})


def _order_type(value: Any) -> OrderType:
    try:
        return _ORDER_TYPES[_str(value)]
    except KeyError:
        raise ValueError(f"order type {value!r} is not one this system trades") from None


def _order_status(value: Any) -> OrderStatus:
    try:
        return _ORDER_STATUSES[_str(value)]
    except KeyError:
        raise ValueError(f"unknown order status {value!r}") from None


def _algo_status(raw: str, filled: Decimal) -> OrderStatus:
    """An algo status as an order status: working until triggered and filled; FINISHED means
    the triggered order is done, filled (then the order is) or not (then it expired)."""
    if raw == "FINISHED":
        return OrderStatus.FILLED if filled > 0 else OrderStatus.EXPIRED
    if raw in _ALGO_WORKING:
        return OrderStatus.PARTIALLY_FILLED if filled > 0 else OrderStatus.NEW
    try:
        return _ALGO_STATUSES[raw]
    except KeyError:
        raise ValueError(f"unknown algo status {raw!r}") from None


# --- orders ---------------------------------------------------------------------------------


def parse_order(payload: Any) -> OrderUpdate:
    """An order of `/fapi/v1/order` (placed with `newOrderRespType=RESULT`, queried or
    cancelled) or one row of `/fapi/v1/openOrders`."""
    where = "order"
    return OrderUpdate(
        symbol=_field(payload, "symbol", _str, where),
        client_order_id=_field(payload, "clientOrderId", _str, where),
        exchange_order_id=_field(payload, "orderId", _order_id, where),
        side=_field(payload, "side", _side, where),
        type=_field(payload, "type", _order_type, where),
        status=_field(payload, "status", _order_status, where),
        quantity=_field(payload, "origQty", _amount, where),
        filled_quantity=_field(payload, "executedQty", _amount, where),
        avg_price=_field(payload, "avgPrice", _positive_or_none, where),
        price=_field(payload, "price", _positive_or_none, where),
        stop_price=_field(payload, "stopPrice", _positive_or_none, where),
        reduce_only=_field(payload, "reduceOnly", _bool, where),
        close_position=_field(payload, "closePosition", _bool, where),
        fee=_ZERO,
        fee_asset=ASSET,
        realized_pnl=_ZERO,
        update_time_ms=_field(payload, "updateTime", _int, where),
    )


def parse_orders(payload: Any) -> list[OrderUpdate]:
    """`/fapi/v1/openOrders`."""
    return [parse_order(row) for row in _read(payload, _list, "openOrders")]


def parse_algo_order(payload: Any) -> AlgoOrder:
    """A conditional order of `/fapi/v1/algoOrder` (placed or queried) or of
    `/fapi/v1/openAlgoOrders`. The answer carries no fill: a triggered order's fills are those
    of its `actualOrderId`."""
    where = "algoOrder"
    actual = _optional(payload, "actualOrderId", _order_id, where)
    update = OrderUpdate(
        symbol=_field(payload, "symbol", _str, where),
        client_order_id=_field(payload, "clientAlgoId", _str, where),
        exchange_order_id=_field(payload, "algoId", _order_id, where),
        side=_field(payload, "side", _side, where),
        type=_field(payload, "orderType", _order_type, where),
        status=_algo_status(_field(payload, "algoStatus", _str, where), _ZERO),
        quantity=_field(payload, "quantity", _amount, where),
        filled_quantity=_ZERO,
        avg_price=None,
        price=None,
        stop_price=_field(payload, "triggerPrice", _positive_or_none, where),
        reduce_only=_field(payload, "reduceOnly", _bool, where),
        close_position=_field(payload, "closePosition", _bool, where),
        fee=_ZERO,
        fee_asset=ASSET,
        realized_pnl=_ZERO,
        update_time_ms=_field(payload, "updateTime", _int, where),
    )
    return AlgoOrder(update, actual or None)


def parse_algo_orders(payload: Any) -> list[AlgoOrder]:
    """`/fapi/v1/openAlgoOrders`."""
    return [parse_algo_order(row) for row in _read(payload, _list, "openAlgoOrders")]


def parse_user_trades(payload: Any) -> list[Fill]:
    """`/fapi/v1/userTrades`, oldest first."""
    return [_parse_user_trade(row) for row in _read(payload, _list, "userTrades")]


def _parse_user_trade(row: Any) -> Fill:
    where = "userTrades[]"
    return Fill(
        trade_id=_field(row, "id", _int, where),
        order_id=_field(row, "orderId", _order_id, where),
        quantity=_field(row, "qty", _decimal, where),
        price=_field(row, "price", _decimal, where),
        # Binance's own example prints the commission negative, its answers positive: a fee
        # is a cost either way.
        fee=abs(_field(row, "commission", _decimal, where)),
        fee_asset=_field(row, "commissionAsset", _str, where),
        realized_pnl=_field(row, "realizedPnl", _decimal, where),
    )


# --- account ----------------------------------------------------------------------------------


def parse_account_balances(payload: Any, asset: str = ASSET) -> Balances:
    """`asset`'s line of `/fapi/v3/account`."""
    for row in _field(payload, "assets", _list, "account"):
        if _field(row, "asset", _str, "account.assets[]") == asset:
            return _parse_balances(row, asset)
    raise MalformedMessage("account.assets", f"no {asset} line")


def _parse_balances(row: Any, asset: str) -> Balances:
    where = f"account.assets[{asset}]"
    return Balances(
        asset=asset,
        wallet_balance=_field(row, "walletBalance", _decimal, where),
        unrealized_pnl=_field(row, "unrealizedProfit", _decimal, where),
        available_balance=_field(row, "availableBalance", _decimal, where),
        initial_margin=_field(row, "initialMargin", _decimal, where),
    )


def parse_position_risk(payload: Any) -> list[PositionRisk]:
    """`/fapi/v3/positionRisk`: open positions only (one-way mode: one row per symbol)."""
    rows = [_parse_position(row) for row in _read(payload, _list, "positionRisk")]
    return [row for row in rows if row.quantity != 0]


def _parse_position(row: Any) -> PositionRisk:
    where = "positionRisk[]"
    return PositionRisk(
        symbol=_field(row, "symbol", _str, where),
        quantity=_field(row, "positionAmt", _decimal, where),
        entry_price=_field(row, "entryPrice", _decimal, where),
        mark_price=_field(row, "markPrice", _decimal, where),
        unrealized_pnl=_field(row, "unRealizedProfit", _decimal, where),
        initial_margin=_field(row, "positionInitialMargin", _decimal, where),
        isolated_wallet=_field(row, "isolatedWallet", _decimal, where),
        liquidation_price=_field(row, "liquidationPrice", _positive_or_none, where),
    )


def parse_symbol_configs(payload: Any) -> dict[str, SymbolConfig]:
    """`/fapi/v1/symbolConfig`, by symbol."""
    configs = [_parse_symbol_config(row) for row in _read(payload, _list, "symbolConfig")]
    return {config.symbol: config for config in configs}


def _parse_symbol_config(row: Any) -> SymbolConfig:
    where = "symbolConfig[]"
    return SymbolConfig(
        symbol=_field(row, "symbol", _str, where),
        leverage=_field(row, "leverage", _int, where),
        margin_type=_field(row, "marginType", _margin_type, where),
    )


def parse_listen_key(payload: Any) -> str:
    """`POST /fapi/v1/listenKey`: `{"listenKey": ...}`."""
    return _field(payload, "listenKey", _str, "listenKey")


# --- user data stream -------------------------------------------------------------------------


def event_type(message: Any) -> str:
    """The `e` of a user data event."""
    return _field(message, "e", _str, "user data event")


def parse_order_trade_update(message: Any) -> OrderEvent:
    """`ORDER_TRADE_UPDATE`; a TRADE execution carries the trade as a `Fill` (`n` and `rp` are
    that trade's commission and realized PnL, not the order's totals)."""
    order = _field(message, "o", _mapping, "ORDER_TRADE_UPDATE")
    where = "ORDER_TRADE_UPDATE.o"
    update = OrderUpdate(
        symbol=_field(order, "s", _str, where),
        client_order_id=_field(order, "c", _str, where),
        exchange_order_id=_field(order, "i", _order_id, where),
        side=_field(order, "S", _side, where),
        type=_field(order, "o", _order_type, where),
        status=_field(order, "X", _order_status, where),
        quantity=_field(order, "q", _amount, where),
        filled_quantity=_field(order, "z", _amount, where),
        avg_price=_field(order, "ap", _positive_or_none, where),
        price=_field(order, "p", _positive_or_none, where),
        stop_price=_field(order, "sp", _positive_or_none, where),
        reduce_only=_field(order, "R", _bool, where),
        close_position=_field(order, "cp", _bool, where),
        fee=_ZERO,
        fee_asset=ASSET,
        realized_pnl=_ZERO,
        update_time_ms=_field(order, "T", _int, where),
    )
    is_trade = _field(order, "x", _str, where) == "TRADE"
    return OrderEvent(update, _trade_fill(order, update) if is_trade else None)


def _trade_fill(order: Mapping[str, Any], update: OrderUpdate) -> Fill:
    where = "ORDER_TRADE_UPDATE.o"
    return Fill(
        trade_id=_field(order, "t", _int, where),
        order_id=update.exchange_order_id,
        quantity=_field(order, "l", _decimal, where),
        price=_field(order, "L", _decimal, where),
        fee=_optional(order, "n", _decimal, where) or _ZERO,
        fee_asset=_optional(order, "N", _str, where) or ASSET,
        realized_pnl=_field(order, "rp", _decimal, where),
    )


def parse_algo_update(message: Any) -> AlgoOrder:
    """`ALGO_UPDATE`: the conditional order's state; `aq`/`ap` say what its triggered order has
    filled so far, `ai` names that order."""
    order = _field(message, "o", _mapping, "ALGO_UPDATE")
    where = "ALGO_UPDATE.o"
    filled = _optional(order, "aq", _amount, where) or _ZERO
    update = OrderUpdate(
        symbol=_field(order, "s", _str, where),
        client_order_id=_field(order, "caid", _str, where),
        exchange_order_id=_field(order, "aid", _order_id, where),
        side=_field(order, "S", _side, where),
        type=_field(order, "o", _order_type, where),
        status=_algo_status(_field(order, "X", _str, where), filled),
        quantity=_field(order, "q", _amount, where),
        filled_quantity=filled,
        avg_price=_optional(order, "ap", _positive_or_none, where),
        price=None,
        stop_price=_field(order, "tp", _positive_or_none, where),
        reduce_only=_field(order, "R", _bool, where),
        close_position=_field(order, "cp", _bool, where),
        fee=_ZERO,
        fee_asset=ASSET,
        realized_pnl=_ZERO,
        update_time_ms=_field(message, "T", _int, "ALGO_UPDATE"),
    )
    return AlgoOrder(update, _optional(order, "ai", _order_id, where) or None)


def parse_account_update(message: Any) -> AccountChange:
    """`ACCOUNT_UPDATE`: wallet balances and positions after a fill, a funding payment..."""
    account = _field(message, "a", _mapping, "ACCOUNT_UPDATE")
    where = "ACCOUNT_UPDATE.a"
    balances = {
        _field(row, "a", _str, f"{where}.B[]"): _field(row, "wb", _decimal, f"{where}.B[]")
        for row in _field(account, "B", _list, where)
    }
    return AccountChange(
        reason=_field(account, "m", _str, where),
        time_ms=_field(message, "E", _int, "ACCOUNT_UPDATE"),
        wallet_balances=balances,
        positions=tuple(_position_change(row) for row in _field(account, "P", _list, where)),
    )


def _position_change(row: Any) -> PositionChange:
    where = "ACCOUNT_UPDATE.a.P[]"
    return PositionChange(
        symbol=_field(row, "s", _str, where),
        quantity=_field(row, "pa", _decimal, where),
        entry_price=_field(row, "ep", _decimal, where),
        unrealized_pnl=_field(row, "up", _decimal, where),
        margin_type=_field(row, "mt", _event_margin_type, where),
    )


def _event_margin_type(value: Any) -> MarginType:
    """The stream writes `cross` / `isolated` where REST writes CROSSED / ISOLATED."""
    text = _str(value).upper()
    return MarginType.CROSSED if text == "CROSS" else MarginType(text)
