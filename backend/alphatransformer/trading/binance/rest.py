"""Binance USDⓈ-M account and order endpoints over the signed transport.

Paths and request weights are declared here, as data, next to the calls that use them;
`BinanceHttp` signs, throttles and retries what is safe to retry. A -1021 (timestamp outside
`recvWindow`) means our idea of Binance's clock drifted: the offset is measured again and the
request sent once more, which is safe because Binance refused the first one.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from decimal import Decimal
from typing import Any

from alphatransformer.market.binance.errors import BinanceError, BinanceTimestampError
from alphatransformer.market.binance.http import BinanceHttp, Params
from alphatransformer.trading.binance.errors import NO_NEED_TO_CHANGE_MARGIN_TYPE
from alphatransformer.trading.binance.schemas import (
    AlgoOrder,
    Balances,
    Fill,
    PositionRisk,
    SymbolConfig,
    parse_account_balances,
    parse_algo_order,
    parse_algo_orders,
    parse_listen_key,
    parse_order,
    parse_orders,
    parse_position_risk,
    parse_symbol_configs,
    parse_user_trades,
)
from alphatransformer.trading.models import MarginType, OrderRequest, OrderType, OrderUpdate

ORDER = "/fapi/v1/order"
ALGO_ORDER = "/fapi/v1/algoOrder"
OPEN_ORDERS = "/fapi/v1/openOrders"
OPEN_ALGO_ORDERS = "/fapi/v1/openAlgoOrders"
USER_TRADES = "/fapi/v1/userTrades"
ACCOUNT = "/fapi/v3/account"
POSITION_RISK = "/fapi/v3/positionRisk"
SYMBOL_CONFIG = "/fapi/v1/symbolConfig"
LEVERAGE = "/fapi/v1/leverage"
MARGIN_TYPE = "/fapi/v1/marginType"
LISTEN_KEY = "/fapi/v1/listenKey"

WEIGHTS: dict[tuple[str, str], int] = {
    # New orders cost no IP weight; they count against the order-rate limits instead.
    ("POST", ORDER): 0,
    ("GET", ORDER): 1,
    ("DELETE", ORDER): 1,
    ("POST", ALGO_ORDER): 0,
    ("GET", ALGO_ORDER): 1,
    ("DELETE", ALGO_ORDER): 1,
    ("GET", USER_TRADES): 5,
    ("GET", ACCOUNT): 5,
    ("GET", POSITION_RISK): 5,
    ("GET", SYMBOL_CONFIG): 5,
    ("POST", LEVERAGE): 1,
    ("POST", MARGIN_TYPE): 1,
    ("POST", LISTEN_KEY): 1,
    ("PUT", LISTEN_KEY): 1,
    ("DELETE", LISTEN_KEY): 1,
}
"""IP request weight per (method, path); open-order lists depend on scope (`open_orders_weight`)."""

OPEN_ORDERS_WEIGHT_ONE_SYMBOL = 1
OPEN_ORDERS_WEIGHT_ALL_SYMBOLS = 40


def open_orders_weight(symbol: str | None) -> int:
    """Weight of `openOrders` / `openAlgoOrders`: cheap for one symbol, 40 for all."""
    return OPEN_ORDERS_WEIGHT_ONE_SYMBOL if symbol else OPEN_ORDERS_WEIGHT_ALL_SYMBOLS


def wire_decimal(value: Decimal) -> str:
    """A decimal as Binance reads it: plain digits, never an exponent."""
    return format(value, "f")


def _flag(value: bool) -> str:
    return "true" if value else "false"


def order_params(request: OrderRequest) -> dict[str, str | int]:
    """`POST /fapi/v1/order` parameters of a MARKET or LIMIT order; fields the type does not
    take are sent anyway when set, so Binance refuses them rather than us dropping them."""
    params: dict[str, str | int] = {
        "symbol": request.symbol,
        "side": request.side.value,
        "type": request.type.value,
        "newClientOrderId": request.client_order_id,
        # RESULT: the answer tells the fill of a market order, not just that it was accepted.
        "newOrderRespType": "RESULT",
    }
    if request.quantity is not None:
        params["quantity"] = wire_decimal(request.quantity)
    if request.price is not None:
        params["price"] = wire_decimal(request.price)
    if request.type is OrderType.LIMIT:
        params["timeInForce"] = "GTC"
    if request.stop_price is not None:
        params["stopPrice"] = wire_decimal(request.stop_price)
    if request.reduce_only:
        params["reduceOnly"] = _flag(True)
    if request.close_position:
        params["closePosition"] = _flag(True)
    return params


def algo_order_params(request: OrderRequest) -> dict[str, str | int]:
    """`POST /fapi/v1/algoOrder` parameters of a STOP_MARKET / TAKE_PROFIT_MARKET order: our
    client id as `clientAlgoId`, triggered by the mark price (a wick of the last price on a thin
    book does not fire it)."""
    params: dict[str, str | int] = {
        "algoType": "CONDITIONAL",
        "symbol": request.symbol,
        "side": request.side.value,
        "type": request.type.value,
        "clientAlgoId": request.client_order_id,
        "workingType": "MARK_PRICE",
    }
    if request.stop_price is not None:
        params["triggerPrice"] = wire_decimal(request.stop_price)
    if request.quantity is not None:
        params["quantity"] = wire_decimal(request.quantity)
    if request.reduce_only:
        params["reduceOnly"] = _flag(True)
    if request.close_position:
        params["closePosition"] = _flag(True)
    return params


class BinanceTradingRest:
    """The signed endpoints of one Binance USDⓈ-M account, parsed into our types.

    `resync_clock` measures the server-time offset again (`BinanceMarketRest.time_offset_ms`);
    it runs after a -1021, before the one retry.
    """

    def __init__(self, http: BinanceHttp, resync_clock: Callable[[], Awaitable[object]]) -> None:
        self._http = http
        self._resync_clock = resync_clock

    # --- orders -------------------------------------------------------------------------------

    async def new_order(self, request: OrderRequest) -> OrderUpdate:
        return parse_order(await self._signed("POST", ORDER, order_params(request)))

    async def order(
        self, symbol: str, *, client_order_id: str | None = None, order_id: str | None = None
    ) -> OrderUpdate:
        """One order by our id or by Binance's; -2013 when it does not exist."""
        params: dict[str, str | int] = {"symbol": symbol}
        if client_order_id is not None:
            params["origClientOrderId"] = client_order_id
        if order_id is not None:
            params["orderId"] = order_id
        return parse_order(await self._signed("GET", ORDER, params))

    async def cancel_order(self, symbol: str, client_order_id: str) -> OrderUpdate:
        params = {"symbol": symbol, "origClientOrderId": client_order_id}
        return parse_order(await self._signed("DELETE", ORDER, params))

    async def open_orders(self, symbol: str | None) -> list[OrderUpdate]:
        payload = await self._signed(
            "GET", OPEN_ORDERS, _symbol_scope(symbol), weight=open_orders_weight(symbol)
        )
        return parse_orders(payload)

    async def user_trades(self, symbol: str, order_id: str) -> list[Fill]:
        """Every trade of one order, with its commission and realized PnL."""
        params = {"symbol": symbol, "orderId": order_id}
        return parse_user_trades(await self._signed("GET", USER_TRADES, params))

    # --- conditional orders (Algo Service) -----------------------------------------------------

    async def new_algo_order(self, request: OrderRequest) -> AlgoOrder:
        return parse_algo_order(await self._signed("POST", ALGO_ORDER, algo_order_params(request)))

    async def algo_order(self, client_algo_id: str) -> AlgoOrder:
        params = {"clientAlgoId": client_algo_id}
        return parse_algo_order(await self._signed("GET", ALGO_ORDER, params))

    async def cancel_algo_order(self, client_algo_id: str) -> None:
        """Cancel; the answer says only that it worked, so callers query the order after."""
        await self._signed("DELETE", ALGO_ORDER, {"clientAlgoId": client_algo_id})

    async def open_algo_orders(self, symbol: str | None) -> list[AlgoOrder]:
        payload = await self._signed(
            "GET", OPEN_ALGO_ORDERS, _symbol_scope(symbol), weight=open_orders_weight(symbol)
        )
        return parse_algo_orders(payload)

    # --- account ------------------------------------------------------------------------------

    async def balances(self) -> Balances:
        return parse_account_balances(await self._signed("GET", ACCOUNT))

    async def positions(self) -> list[PositionRisk]:
        return parse_position_risk(await self._signed("GET", POSITION_RISK))

    async def symbol_configs(self) -> dict[str, SymbolConfig]:
        return parse_symbol_configs(await self._signed("GET", SYMBOL_CONFIG))

    async def set_leverage(self, symbol: str, leverage: int) -> None:
        await self._signed("POST", LEVERAGE, {"symbol": symbol, "leverage": leverage})

    async def set_margin_type(self, symbol: str, margin_type: MarginType) -> None:
        """Set the margin type; already being it (-4046) counts as done."""
        params = {"symbol": symbol, "marginType": margin_type.value}
        try:
            await self._signed("POST", MARGIN_TYPE, params)
        except BinanceError as error:
            if error.code != NO_NEED_TO_CHANGE_MARGIN_TYPE:
                raise

    # --- user data stream ---------------------------------------------------------------------

    async def create_listen_key(self) -> str:
        """A listen key for the user data stream (Binance hands back the active one if any),
        valid 60 minutes unless kept alive."""
        return parse_listen_key(await self._keyed("POST"))

    async def keep_alive_listen_key(self) -> None:
        await self._keyed("PUT")

    async def close_listen_key(self) -> None:
        await self._keyed("DELETE")

    # --- transport ----------------------------------------------------------------------------

    async def _signed(
        self, method: str, path: str, params: Params | None = None, *, weight: int | None = None
    ) -> Any:
        cost = WEIGHTS[(method, path)] if weight is None else weight
        try:
            return await self._http.request(method, path, params, weight=cost, signed=True)
        except BinanceTimestampError:
            await self._resync_clock()
            return await self._http.request(method, path, params, weight=cost, signed=True)

    async def _keyed(self, method: str) -> Any:
        """Listen-key calls are USER_STREAM: the API key header, no signature."""
        return await self._http.request(method, LISTEN_KEY, weight=WEIGHTS[(method, LISTEN_KEY)])


def _symbol_scope(symbol: str | None) -> dict[str, str | int]:
    return {"symbol": symbol} if symbol else {}
