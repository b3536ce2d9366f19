"""The fake Binance's trading wire format: orders and conditional orders as the venue keeps
them, their JSON answers and user data events, shaped like Binance's documented examples, and
the query-parameter readers with Binance's refusals."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from starlette.datastructures import QueryParams

from fakes.binance_ledger import ZERO, Trade
from fakes.binance_server import BinanceApiError

ASSET = "USDT"


def num(value: Decimal | None) -> str:
    """A decimal as Binance writes it: plain digits, "0" for what does not apply."""
    return "0" if value is None else format(value, "f")


def refuse(code: int, msg: str, status: int = 400) -> BinanceApiError:
    """Binance's `{code, msg}` refusal, to raise from a handler."""
    return BinanceApiError(status, code, msg)


@dataclass(eq=False, slots=True)
class BookOrder:
    """A matching-engine order."""

    order_id: int
    client_order_id: str
    symbol: str
    side: str
    type: str
    orig_type: str
    quantity: Decimal
    price: Decimal | None
    stop_price: Decimal | None
    reduce_only: bool
    close_position: bool
    time_ms: int
    status: str = "NEW"
    executed: Decimal = ZERO
    avg_price: Decimal = ZERO
    update_ms: int = 0


@dataclass(eq=False, slots=True)
class AlgoOrder:
    """A conditional order of the Algo Service."""

    algo_id: int
    client_algo_id: str
    symbol: str
    side: str
    type: str
    quantity: Decimal | None
    trigger_price: Decimal
    reduce_only: bool
    close_position: bool
    working_type: str
    time_ms: int
    status: str = "NEW"
    actual: BookOrder | None = None
    trigger_ms: int = 0
    update_ms: int = 0


# --- parameters -------------------------------------------------------------------------------


def missing(name: str) -> BinanceApiError:
    return refuse(
        -1102, f"Mandatory parameter '{name}' was not sent, was empty/null, or malformed."
    )


def decimal_param(query: QueryParams, name: str) -> Decimal:
    text = query.get(name)
    if not text:
        raise missing(name)
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise refuse(-1100, f"Illegal characters found in parameter '{name}'.") from None
    if not value.is_finite():
        raise refuse(-1100, f"Illegal characters found in parameter '{name}'.")
    return value


def int_param(query: QueryParams, name: str) -> int:
    text = query.get(name)
    if not text:
        raise missing(name)
    if not text.isdigit():
        raise refuse(-1100, f"Illegal characters found in parameter '{name}'.")
    return int(text)


def choice_param(query: QueryParams, name: str, allowed: set[str]) -> str:
    value = query.get(name)
    if not value:
        raise missing(name)
    if value not in allowed:
        raise refuse(-1116 if name == "type" else -1100, f"Invalid {name}.")
    return value


def positive_quantity(query: QueryParams) -> Decimal:
    quantity = decimal_param(query, "quantity")
    if quantity <= 0:
        raise refuse(-4003, "Quantity less than or equal to zero.")
    return quantity


def superfluous(query: QueryParams, *names: str) -> None:
    for name in names:
        if name in query:
            raise refuse(-1106, f"Parameter '{name}' sent when not required.")


# --- wire format ------------------------------------------------------------------------------


def order_json(order: BookOrder) -> dict[str, Any]:
    """An order as `/fapi/v1/order` answers it (RESULT)."""
    return {
        "orderId": order.order_id,
        "symbol": order.symbol,
        "status": order.status,
        "clientOrderId": order.client_order_id,
        "price": num(order.price),
        "avgPrice": num(order.avg_price),
        "origQty": num(order.quantity),
        "executedQty": num(order.executed),
        "cumQty": num(order.executed),
        "cumQuote": num(order.executed * order.avg_price),
        "timeInForce": "GTC",
        "type": order.type,
        "reduceOnly": order.reduce_only,
        "closePosition": order.close_position,
        "side": order.side,
        "positionSide": "BOTH",
        "stopPrice": num(order.stop_price),
        "workingType": "CONTRACT_PRICE",
        "priceProtect": False,
        "origType": order.orig_type,
        "priceMatch": "NONE",
        "selfTradePreventionMode": "EXPIRE_MAKER",
        "goodTillDate": 0,
        "updateTime": order.update_ms,
    }


def algo_json(algo: AlgoOrder) -> dict[str, Any]:
    """A conditional order as `/fapi/v1/algoOrder` answers it."""
    return {
        "algoId": algo.algo_id,
        "clientAlgoId": algo.client_algo_id,
        "algoType": "CONDITIONAL",
        "orderType": algo.type,
        "symbol": algo.symbol,
        "side": algo.side,
        "positionSide": "BOTH",
        "timeInForce": "GTC",
        "quantity": num(algo.quantity),
        "algoStatus": algo.status,
        "triggerPrice": num(algo.trigger_price),
        "price": "0",
        "icebergQuantity": None,
        "selfTradePreventionMode": "EXPIRE_MAKER",
        "workingType": algo.working_type,
        "priceMatch": "NONE",
        "closePosition": algo.close_position,
        "priceProtect": False,
        "reduceOnly": algo.reduce_only,
        "activatePrice": "",
        "callbackRate": "",
        "createTime": algo.time_ms,
        "updateTime": algo.update_ms,
        "triggerTime": algo.trigger_ms,
        "goodTillDate": 0,
    }


def trade_json(trade: Trade) -> dict[str, Any]:
    """A row of `/fapi/v1/userTrades`."""
    return {
        "buyer": trade.side == "BUY",
        "commission": num(trade.fee),
        "commissionAsset": ASSET,
        "id": trade.trade_id,
        "maker": trade.maker,
        "orderId": trade.order_id,
        "price": num(trade.price),
        "qty": num(trade.quantity),
        "quoteQty": num(trade.price * trade.quantity),
        "realizedPnl": num(trade.realized_pnl),
        "side": trade.side,
        "positionSide": "BOTH",
        "symbol": trade.symbol,
        "time": trade.time_ms,
    }


def order_event(order: BookOrder, trade: Trade | None, execution: str, now: int) -> dict[str, Any]:
    """`ORDER_TRADE_UPDATE`: `n` and `rp` are the trade's own, not the order's totals."""
    body: dict[str, Any] = {
        "s": order.symbol,
        "c": order.client_order_id,
        "S": order.side,
        "o": order.type,
        "f": "GTC",
        "q": num(order.quantity),
        "p": num(order.price),
        "ap": num(order.avg_price),
        "sp": num(order.stop_price),
        "x": execution,
        "X": order.status,
        "i": order.order_id,
        "l": num(trade.quantity if trade else ZERO),
        "z": num(order.executed),
        "L": num(trade.price if trade else ZERO),
        "N": ASSET,
        "n": num(trade.fee if trade else ZERO),
        "T": now,
        "t": trade.trade_id if trade else 0,
        "b": "0",
        "a": "0",
        "m": trade.maker if trade else False,
        "R": order.reduce_only,
        "wt": "CONTRACT_PRICE",
        "ot": order.orig_type,
        "ps": "BOTH",
        "cp": order.close_position,
        "rp": num(trade.realized_pnl if trade else ZERO),
        "pP": False,
        "si": 0,
        "ss": 0,
        "V": "EXPIRE_MAKER",
        "pm": "NONE",
        "gtd": 0,
    }
    return {"e": "ORDER_TRADE_UPDATE", "E": now, "T": now, "o": body}


def algo_event(algo: AlgoOrder, now: int) -> dict[str, Any]:
    """`ALGO_UPDATE`; `ai`, `ap`, `aq` tell the triggered order once there is one."""
    actual = algo.actual
    body: dict[str, Any] = {
        "caid": algo.client_algo_id,
        "aid": algo.algo_id,
        "at": "CONDITIONAL",
        "o": algo.type,
        "s": algo.symbol,
        "S": algo.side,
        "ps": "BOTH",
        "f": "GTC",
        "q": num(algo.quantity),
        "X": algo.status,
        "ai": str(actual.order_id) if actual else "",
        "tp": num(algo.trigger_price),
        "p": "0",
        "V": "EXPIRE_MAKER",
        "wt": algo.working_type,
        "pm": "NONE",
        "cp": algo.close_position,
        "pP": False,
        "R": algo.reduce_only,
        "tt": algo.trigger_ms,
        "gtd": 0,
        "rm": "",
    }
    if actual is not None:
        body |= {"ap": num(actual.avg_price), "aq": num(actual.executed), "act": actual.type}
    return {"e": "ALGO_UPDATE", "T": now, "E": now, "o": body}
