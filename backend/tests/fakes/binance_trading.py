"""The trading side of the fake Binance USDⓈ-M: one account behind the real signed endpoints.

    async with FakeBinance(clock=clock) as fake:
        venue = FakeBinanceTrading(fake, api_key=KEY, api_secret=SECRET, prices={"BTCUSDT": ...})
        ...BinanceExchange(config with KEY/SECRET, endpoints at fake.rest_url / fake.ws_url)...
        await venue.set_price("BTCUSDT", Decimal("49500"))   # fires resting conditional orders
        assert venue.wallet_balance == ...                    # the venue's own books

What it does, as Binance does it:
- authentication: `X-MBX-APIKEY` (missing -2014, unknown -2015), HMAC-SHA256 `signature` over
  the query string as sent (-1022), `timestamp` within `recvWindow` of the server clock (-1021);
- `/fapi/v1/order`: MARKET fills at once at the current price as taker; LIMIT rests (GTC) and
  fills at its price as maker when the price reaches it; conditional types are refused (-4120);
- `/fapi/v1/algoOrder` (CONDITIONAL STOP_MARKET / TAKE_PROFIT_MARKET): rests until `set_price`
  crosses its trigger, then becomes a MARKET order carrying the `clientAlgoId` as its client id,
  filled at the new price; close-position ones close whatever is open, and stay open (Binance
  does not cancel them) after the position is gone, expiring if they fire with nothing to close;
- duplicate client ids (-4116, across both endpoints), filters (-1111, -4005, -4164 ...),
  reduce-only that would open exposure (-2022), margin (-2019), immediate triggers (-2021);
- account, positions (one-way, cross arithmetic; margin type and leverage are recorded and
  reported), symbol config, leverage, margin type (-4046 when unchanged), user trades;
- the user data stream: listen keys, `/private/ws?listenKey=...&events=...` (an allow list),
  `ORDER_TRADE_UPDATE`, `ALGO_UPDATE`, `ACCOUNT_UPDATE`, `listenKeyExpired`.
Its own books (`wallet_balance`, `fees_paid`, `realized_pnl`) are what tests compare with.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import itertools
import json
import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from enum import Enum
from typing import Any
from urllib.parse import parse_qs, urlsplit

from starlette.datastructures import QueryParams
from starlette.requests import Request
from websockets.asyncio.server import ServerConnection
from websockets.exceptions import ConnectionClosed

from alphatransformer.market.binance.schemas import parse_exchange_info
from alphatransformer.trading.errors import FilterRejection
from alphatransformer.trading.filters import SymbolFilters
from fakes.binance_ledger import ZERO, Holding, Ledger
from fakes.binance_server import BinanceApiError, FakeBinance
from fakes.binance_wire import (
    ASSET,
    AlgoOrder,
    BookOrder,
    algo_event,
    algo_json,
    choice_param,
    decimal_param,
    int_param,
    num,
    order_event,
    order_json,
    positive_quantity,
    refuse,
    superfluous,
    trade_json,
)

DEFAULT_LEVERAGE = 20
MAX_LEVERAGE = 125
MAX_RECV_WINDOW_MS = 60_000
_CLIENT_ID = re.compile(r"^[\.A-Z\:/a-z0-9_-]{1,36}$")
_CONDITIONAL_TYPES = {"STOP_MARKET", "TAKE_PROFIT_MARKET"}
_ALGO_ONLY_TYPES = _CONDITIONAL_TYPES | {"STOP", "TAKE_PROFIT", "TRAILING_STOP_MARKET"}
_OPEN = {"NEW", "PARTIALLY_FILLED"}
_WAIT_LIMIT_S = 5.0  # a guard against hanging tests, not a timing assertion


class Security(Enum):
    """Binance's endpoint security types that the fake checks."""

    USER_STREAM = "API key only"
    SIGNED = "API key and signature"


_SIGNED_ROUTES = [
    ("POST", "/fapi/v1/order"),
    ("GET", "/fapi/v1/order"),
    ("DELETE", "/fapi/v1/order"),
    ("GET", "/fapi/v1/openOrders"),
    ("POST", "/fapi/v1/algoOrder"),
    ("GET", "/fapi/v1/algoOrder"),
    ("DELETE", "/fapi/v1/algoOrder"),
    ("GET", "/fapi/v1/openAlgoOrders"),
    ("GET", "/fapi/v1/userTrades"),
    ("GET", "/fapi/v3/account"),
    ("GET", "/fapi/v3/positionRisk"),
    ("GET", "/fapi/v1/symbolConfig"),
    ("POST", "/fapi/v1/leverage"),
    ("POST", "/fapi/v1/marginType"),
]
SECURITY: dict[tuple[str, str], Security] = {
    **{route: Security.SIGNED for route in _SIGNED_ROUTES},
    **{
        (method, "/fapi/v1/listenKey"): Security.USER_STREAM for method in ("POST", "PUT", "DELETE")
    },
}


@dataclass(eq=False)
class _Listener:
    """One private WebSocket connection and the events it asked for (None: all)."""

    connection: ServerConnection
    listen_key: str
    events: set[str] | None
    queue: asyncio.Queue[str] = field(default_factory=asyncio.Queue)

    def offer(self, event: dict[str, Any]) -> None:
        if self.events is None or event["e"] in self.events:
            self.queue.put_nowait(json.dumps(event))

    async def send_forever(self) -> None:
        """Send queued events in order; a dead connection swallows them (they are lost)."""
        while True:
            text = await self.queue.get()
            try:
                await self.connection.send(text)
            except ConnectionClosed:
                pass
            finally:
                self.queue.task_done()

    def drain(self) -> None:
        while not self.queue.empty():
            self.queue.get_nowait()
            self.queue.task_done()


class FakeBinanceTrading:
    """One Binance USDⓈ-M account on a `FakeBinance`: installs its routes and checks there."""

    def __init__(
        self,
        fake: FakeBinance,
        *,
        api_key: str,
        api_secret: str,
        prices: dict[str, Decimal],
        balance: Decimal = Decimal(10_000),
        taker_fee: Decimal = Decimal("0.0005"),
        maker_fee: Decimal = Decimal("0.0002"),
    ) -> None:
        self._fake = fake
        self._api_key = api_key
        self._api_secret = api_secret
        self.taker_fee = taker_fee
        self.maker_fee = maker_fee
        self.prices = dict(prices)
        self.ledger = Ledger(balance)
        self.leverage: dict[str, int] = {}
        self.margin_type: dict[str, str] = {}
        self.orders: dict[int, BookOrder] = {}
        self.algos: dict[int, AlgoOrder] = {}
        self._client_ids: set[str] = set()
        self._ids = itertools.count(8_389_765_000)
        self._listen_key: str | None = None
        self.user_streams_opened = 0
        """Private connections accepted so far (reconnects included)."""
        self.user_events_lost = False
        """While set, user-data events are dropped, as a client that died would never get them."""
        self._listeners: set[_Listener] = set()
        self._listeners_changed = asyncio.Condition()
        self._filters = parse_exchange_info(fake.exchange_info)
        self._install()

    # --- what tests read --------------------------------------------------------------------------

    @property
    def wallet_balance(self) -> Decimal:
        return self.ledger.wallet

    @property
    def fees_paid(self) -> Decimal:
        return self.ledger.fees_paid

    @property
    def realized_pnl(self) -> Decimal:
        return self.ledger.realized_pnl

    @property
    def orders_created(self) -> int:
        """Orders the account has sent (matching-engine and conditional), fills of triggered
        conditional orders not counted."""
        return len(self._client_ids)

    def position(self, symbol: str) -> Holding | None:
        return self.ledger.holdings.get(symbol)

    @property
    def listen_key(self) -> str | None:
        """The account's active listen key, if any."""
        return self._listen_key

    # --- what tests do ----------------------------------------------------------------------------

    async def set_price(self, symbol: str, price: Decimal) -> None:
        """Move the last and mark price of `symbol`: resting LIMIT and conditional orders it
        reaches fill; returns once their events are written to the user data streams."""
        self.prices[symbol] = price
        if symbol in self._fake.premium_index:
            self._fake.premium_index[symbol]["markPrice"] = num(price)
        for algo in [a for a in self.algos.values() if a.symbol == symbol]:
            if algo.status == "NEW" and _reached(algo.side, algo.type, price, algo.trigger_price):
                self._trigger(algo)
        for order in [o for o in self.orders.values() if o.symbol == symbol]:
            limit = order.price
            if (
                order.status in _OPEN
                and limit is not None
                and _limit_reached(order.side, price, limit)
            ):
                self._fill(order, limit, maker=True)
        await self.flush()

    async def flush(self) -> None:
        """Wait until every event so far is written to the user data connections."""
        await asyncio.gather(*(listener.queue.join() for listener in list(self._listeners)))

    async def wait_for_user_streams(self, count: int = 1) -> None:
        """Return once `count` private connections have been accepted in all (a client's
        connect returns before the fake has registered the connection)."""
        async with asyncio.timeout(_WAIT_LIMIT_S), self._listeners_changed:
            await self._listeners_changed.wait_for(lambda: self.user_streams_opened >= count)

    def drop_user_streams(self) -> int:
        """Cut every private connection without a closing handshake; events sent before the
        fake notices are lost, as on a real dropped connection."""
        dropped = list(self._listeners)
        for listener in dropped:
            listener.connection.transport.abort()
        return len(dropped)

    def lapse_listen_key(self) -> None:
        """Forget the listen key without a word, as Binance does once it was not kept alive:
        the next keep-alive gets -1125."""
        self._listen_key = None

    async def send_raw_to_user_streams(self, text: str) -> None:
        """Send `text` as is (malformed JSON, an unknown event) on every private connection."""
        for listener in list(self._listeners):
            listener.queue.put_nowait(text)
        await self.flush()

    async def expire_listen_key(self) -> None:
        """Let the listen key lapse: push `listenKeyExpired`, then close its connections."""
        key, self._listen_key = self._listen_key, None
        event = {"e": "listenKeyExpired", "E": self._now(), "listenKey": key}
        for listener in list(self._listeners):
            listener.offer(event)
        await self.flush()
        for listener in list(self._listeners):
            await listener.connection.close()

    # --- plumbing ---------------------------------------------------------------------------------

    def _install(self) -> None:
        routes = {
            ("POST", "/fapi/v1/order"): self._new_order,
            ("GET", "/fapi/v1/order"): self._get_order,
            ("DELETE", "/fapi/v1/order"): self._cancel_order,
            ("GET", "/fapi/v1/openOrders"): self._open_orders,
            ("POST", "/fapi/v1/algoOrder"): self._new_algo,
            ("GET", "/fapi/v1/algoOrder"): self._get_algo,
            ("DELETE", "/fapi/v1/algoOrder"): self._cancel_algo,
            ("GET", "/fapi/v1/openAlgoOrders"): self._open_algos,
            ("GET", "/fapi/v1/userTrades"): self._user_trades,
            ("GET", "/fapi/v3/account"): self._account,
            ("GET", "/fapi/v3/positionRisk"): self._position_risk,
            ("GET", "/fapi/v1/symbolConfig"): self._symbol_config,
            ("POST", "/fapi/v1/leverage"): self._set_leverage,
            ("POST", "/fapi/v1/marginType"): self._set_margin_type,
            ("POST", "/fapi/v1/listenKey"): self._create_listen_key,
            ("PUT", "/fapi/v1/listenKey"): self._keep_alive_listen_key,
            ("DELETE", "/fapi/v1/listenKey"): self._close_listen_key,
        }
        self._fake.rest_routes.update(routes)
        self._fake.request_checks.append(self._authenticate)
        self._fake.ws_routes["/private/ws"] = self._serve_user_stream

    def _now(self) -> int:
        return self._fake.clock.now_ms()

    def _next_id(self) -> int:
        return next(self._ids)

    # --- authentication ---------------------------------------------------------------------------

    def _authenticate(self, request: Request) -> None:
        security = SECURITY.get((request.method, request.url.path))
        if security is None:
            return
        key = request.headers.get("X-MBX-APIKEY")
        if not key:
            raise refuse(-2014, "API-key format invalid.", 401)
        if not hmac.compare_digest(key, self._api_key):
            raise refuse(-2015, "Invalid API-key, IP, or permissions for action.", 401)
        if security is Security.SIGNED:
            self._check_timestamp(request.query_params)
            self._check_signature(request.url.query)

    def _check_timestamp(self, query: QueryParams) -> None:
        timestamp = int_param(query, "timestamp")
        recv_window = int_param(query, "recvWindow") if "recvWindow" in query else 5000
        if recv_window > MAX_RECV_WINDOW_MS:
            raise refuse(-1131, "recvWindow must be less than 60000")
        now = self._now()
        if not (timestamp < now + 1000 and now - timestamp <= recv_window):
            raise refuse(-1021, "Timestamp for this request is outside of the recvWindow.")

    def _check_signature(self, raw_query: str) -> None:
        """The signature covers the query string as sent, less the `signature` parameter."""
        parts = raw_query.split("&")
        given = [p.removeprefix("signature=") for p in parts if p.startswith("signature=")]
        if len(given) != 1 or not given[0]:
            raise refuse(
                -1102,
                "Mandatory parameter 'signature' was not sent, was empty/null, or malformed.",
            )
        payload = "&".join(p for p in parts if not p.startswith("signature="))
        expected = hmac.new(self._api_secret.encode(), payload.encode(), hashlib.sha256)
        if not hmac.compare_digest(expected.hexdigest(), given[0].lower()):
            raise refuse(-1022, "Signature for this request is not valid.")

    # --- checks shared by both order endpoints ----------------------------------------------------

    def _symbol(self, query: QueryParams) -> SymbolFilters:
        symbol = query.get("symbol")
        if not symbol:
            raise refuse(-1102, "Mandatory parameter 'symbol' was not sent.")
        if symbol not in self._filters or symbol not in self.prices:
            raise refuse(-1121, "Invalid symbol.")
        return self._filters[symbol]

    def _claim_client_id(self, client_id: str | None) -> str:
        if client_id is None:
            return f"x-{secrets.token_hex(8)}"
        if not _CLIENT_ID.match(client_id):
            raise refuse(-1100, "Illegal characters found in a parameter.")
        if client_id in self._client_ids:
            raise refuse(-4116, "ClientOrderId is duplicated.")
        return client_id

    def _check_filters(
        self,
        filters: SymbolFilters,
        quantity: Decimal,
        price: Decimal,
        *,
        market: bool,
        reduce_only: bool,
    ) -> None:
        """Binance's filters; a reduce-only order is exempt from MIN_NOTIONAL."""
        try:
            filters.check(quantity, price, market=market)
        except FilterRejection as rejection:
            if not (reduce_only and rejection.code == -4164):
                raise refuse(rejection.code or -1013, str(rejection)) from None

    def _check_reduces(self, symbol: str, side: str, quantity: Decimal | None) -> Decimal:
        """A reduce-only fill must work against the position and not exceed it (-2022);
        returns the position size."""
        holding = self.ledger.holdings.get(symbol)
        works_against = holding is not None and (holding.quantity > 0) == (side == "SELL")
        if holding is None or not works_against or (quantity or ZERO) > abs(holding.quantity):
            raise refuse(-2022, "ReduceOnly Order is rejected.")
        return abs(holding.quantity)

    def _check_margin(self, symbol: str, side: str, quantity: Decimal, price: Decimal) -> None:
        """What an order opens needs initial margin (and its fee) from the available balance."""
        opened = self.ledger.opened_by(symbol, side, quantity)
        if opened == 0:
            return
        needed = opened * price / self._leverage(symbol) + quantity * price * self.taker_fee
        if needed > self._available():
            raise refuse(-2019, "Margin is insufficient.")

    # --- /fapi/v1/order ---------------------------------------------------------------------------

    def _new_order(self, query: QueryParams) -> dict[str, Any]:
        filters = self._symbol(query)
        symbol, side, kind = (
            filters.symbol,
            choice_param(query, "side", {"BUY", "SELL"}),
            query.get("type"),
        )
        if kind in _ALGO_ONLY_TYPES:
            raise refuse(
                -4120,
                "Order type not supported for this endpoint. Please use the Algo Order API "
                "endpoints instead.",
            )
        if kind not in ("MARKET", "LIMIT"):
            raise refuse(-1116, "Invalid orderType.")
        superfluous(query, "closePosition", "stopPrice", *(["price"] if kind == "MARKET" else []))
        quantity = positive_quantity(query)
        reduce_only = query.get("reduceOnly") == "true"
        price = decimal_param(query, "price") if kind == "LIMIT" else None
        if kind == "LIMIT":
            choice_param(query, "timeInForce", {"GTC"})
        reference = price if price is not None else self.prices[symbol]
        self._check_filters(
            filters, quantity, reference, market=kind == "MARKET", reduce_only=reduce_only
        )
        if reduce_only:
            self._check_reduces(symbol, side, quantity)
        self._check_margin(symbol, side, quantity, reference)
        client_id = self._claim_client_id(query.get("newClientOrderId"))
        self._client_ids.add(client_id)
        order = self._open_order(client_id, symbol, side, kind, quantity, price, reduce_only)
        self._push(order_event(order, None, "NEW", order.time_ms))
        if price is None or _limit_reached(side, self.prices[symbol], price):
            self._fill(order, self.prices[symbol], maker=False)
        return order_json(order)

    def _open_order(
        self,
        client_id: str,
        symbol: str,
        side: str,
        kind: str,
        quantity: Decimal,
        price: Decimal | None,
        reduce_only: bool,
        *,
        algo: AlgoOrder | None = None,
    ) -> BookOrder:
        now = self._now()
        order = BookOrder(
            self._next_id(),
            client_id,
            symbol,
            side,
            kind,
            algo.type if algo else kind,
            quantity,
            price,
            algo.trigger_price if algo else None,
            reduce_only,
            algo.close_position if algo else False,
            now,
            update_ms=now,
        )
        self.orders[order.order_id] = order
        return order

    def _fill(self, order: BookOrder, price: Decimal, *, maker: bool) -> None:
        now = self._now()
        fee_rate = self.maker_fee if maker else self.taker_fee
        quantity = order.quantity - order.executed
        trade = self.ledger.book(
            order.order_id,
            order.symbol,
            order.side,
            quantity,
            price,
            fee_rate=fee_rate,
            maker=maker,
            time_ms=now,
        )
        order.avg_price = (order.avg_price * order.executed + price * quantity) / order.quantity
        order.executed, order.status, order.update_ms = order.quantity, "FILLED", now
        self._push(order_event(order, trade, "TRADE", now))
        self._push(self._account_event(order.symbol, now))

    def _find_order(self, query: QueryParams) -> BookOrder:
        symbol = self._symbol(query).symbol
        client_id, order_id = query.get("origClientOrderId"), query.get("orderId")
        for order in reversed(self.orders.values()):
            same = order.client_order_id == client_id or str(order.order_id) == order_id
            if same and order.symbol == symbol:
                return order
        raise refuse(-2013, "Order does not exist.")

    def _get_order(self, query: QueryParams) -> dict[str, Any]:
        order = self._find_order(query)
        return {**order_json(order), "time": order.time_ms}

    def _cancel_order(self, query: QueryParams) -> dict[str, Any]:
        try:
            order = self._find_order(query)
        except BinanceApiError:
            order = None
        if order is None or order.status not in _OPEN:
            raise refuse(-2011, "Unknown order sent.")
        order.status, order.update_ms = "CANCELED", self._now()
        self._push(order_event(order, None, "CANCELED", order.update_ms))
        return order_json(order)

    def _open_orders(self, query: QueryParams) -> list[dict[str, Any]]:
        symbol = self._symbol(query).symbol if "symbol" in query else None
        return [
            {**order_json(o), "time": o.time_ms}
            for o in self.orders.values()
            if o.status in _OPEN and symbol in (None, o.symbol)
        ]

    # --- /fapi/v1/algoOrder -----------------------------------------------------------------------

    def _new_algo(self, query: QueryParams) -> dict[str, Any]:
        choice_param(query, "algoType", {"CONDITIONAL"})
        filters = self._symbol(query)
        side = choice_param(query, "side", {"BUY", "SELL"})
        kind = query.get("type")
        if kind not in _CONDITIONAL_TYPES:
            raise refuse(-1116, "Invalid orderType.")
        trigger = decimal_param(query, "triggerPrice")
        if trigger % filters.tick_size != 0:
            raise refuse(-4014, "Price not increased by tick size.")
        close_position = query.get("closePosition") == "true"
        reduce_only = query.get("reduceOnly") == "true"
        quantity = self._algo_quantity(query, filters, trigger, close_position, reduce_only)
        if _reached(side, kind, self.prices[filters.symbol], trigger):
            raise refuse(-2021, "Order would immediately trigger.")
        client_id = self._claim_client_id(query.get("clientAlgoId"))
        self._client_ids.add(client_id)
        now = self._now()
        algo = AlgoOrder(
            self._next_id(),
            client_id,
            filters.symbol,
            side,
            kind,
            quantity,
            trigger,
            reduce_only,
            close_position,
            query.get("workingType", "CONTRACT_PRICE"),
            now,
            update_ms=now,
        )
        self.algos[algo.algo_id] = algo
        self._push(algo_event(algo, now))
        return algo_json(algo)

    def _algo_quantity(
        self,
        query: QueryParams,
        filters: SymbolFilters,
        trigger: Decimal,
        close_position: bool,
        reduce_only: bool,
    ) -> Decimal | None:
        if close_position:
            superfluous(query, "quantity", "reduceOnly")
            return None
        quantity = positive_quantity(query)
        self._check_filters(filters, quantity, trigger, market=True, reduce_only=reduce_only)
        return quantity

    def _trigger(self, algo: AlgoOrder) -> None:
        """The trigger is reached: a MARKET order with the algo's client id takes its place."""
        now = self._now()
        algo.trigger_ms = algo.update_ms = now
        try:
            quantity = self._triggered_quantity(algo)
        except BinanceApiError:
            algo.status = "EXPIRED"
            self._push(algo_event(algo, now))
            return
        order = self._open_order(
            algo.client_algo_id,
            algo.symbol,
            algo.side,
            "MARKET",
            quantity,
            None,
            algo.reduce_only,
            algo=algo,
        )
        algo.actual, algo.status = order, "TRIGGERED"
        self._push(algo_event(algo, now))
        self._push(order_event(order, None, "NEW", now))
        self._fill(order, self.prices[algo.symbol], maker=False)
        algo.status, algo.update_ms = "FINISHED", self._now()
        self._push(algo_event(algo, algo.update_ms))

    def _triggered_quantity(self, algo: AlgoOrder) -> Decimal:
        if algo.close_position:
            return self._check_reduces(algo.symbol, algo.side, None)
        assert algo.quantity is not None  # only close-position orders come without one
        if algo.reduce_only:
            return min(algo.quantity, self._check_reduces(algo.symbol, algo.side, None))
        return algo.quantity

    def _find_algo(self, query: QueryParams) -> AlgoOrder:
        client_id, algo_id = query.get("clientAlgoId"), query.get("algoId")
        for algo in self.algos.values():
            if algo.client_algo_id == client_id or str(algo.algo_id) == algo_id:
                return algo
        raise refuse(-2013, "Order does not exist.")

    def _get_algo(self, query: QueryParams) -> dict[str, Any]:
        algo = self._find_algo(query)
        actual = algo.actual
        return {
            **algo_json(algo),
            "actualOrderId": str(actual.order_id) if actual else "",
            "actualPrice": num(actual.avg_price if actual else ZERO),
        }

    def _cancel_algo(self, query: QueryParams) -> dict[str, Any]:
        try:
            algo = self._find_algo(query)
        except BinanceApiError:
            algo = None
        if algo is None or algo.status != "NEW":
            raise refuse(-2011, "Unknown order sent.")
        algo.status, algo.update_ms = "CANCELED", self._now()
        self._push(algo_event(algo, algo.update_ms))
        return {
            "algoId": algo.algo_id,
            "clientAlgoId": algo.client_algo_id,
            "code": "200",
            "msg": "success",
        }

    def _open_algos(self, query: QueryParams) -> list[dict[str, Any]]:
        symbol = self._symbol(query).symbol if "symbol" in query else None
        return [
            algo_json(a)
            for a in self.algos.values()
            if a.status == "NEW" and symbol in (None, a.symbol)
        ]

    # --- account ----------------------------------------------------------------------------------

    def _leverage(self, symbol: str) -> int:
        return self.leverage.get(symbol, DEFAULT_LEVERAGE)

    def _margins(self) -> tuple[Decimal, Decimal, Decimal]:
        """Unrealized PnL, initial and maintenance margin over every position."""
        holdings = self.ledger.holdings.items()
        unrealized = sum((h.unrealized(self.prices[s]) for s, h in holdings), ZERO)
        initial = sum(
            (h.initial_margin(self.prices[s], self._leverage(s)) for s, h in holdings), ZERO
        )
        maintenance = sum((h.maintenance_margin(self.prices[s]) for s, h in holdings), ZERO)
        return unrealized, initial, maintenance

    def _available(self) -> Decimal:
        unrealized, initial, _ = self._margins()
        return max(ZERO, self.ledger.wallet + unrealized - initial)

    def _account(self, _: QueryParams) -> dict[str, Any]:
        unrealized, initial, maintenance = self._margins()
        wallet, available = self.ledger.wallet, self._available()
        totals = {
            "walletBalance": num(wallet),
            "unrealizedProfit": num(unrealized),
            "marginBalance": num(wallet + unrealized),
            "maintMargin": num(maintenance),
            "initialMargin": num(initial),
            "positionInitialMargin": num(initial),
            "openOrderInitialMargin": "0",
            "crossWalletBalance": num(wallet),
            "crossUnPnl": num(unrealized),
            "availableBalance": num(available),
            "maxWithdrawAmount": num(available),
        }
        return {
            **{f"total{key[0].upper()}{key[1:]}": value for key, value in totals.items()},
            "assets": [{"asset": ASSET, **totals, "updateTime": self._now()}],
            "positions": [self._account_position(s, h) for s, h in self.ledger.holdings.items()],
        }

    def _account_position(self, symbol: str, holding: Holding) -> dict[str, Any]:
        mark = self.prices[symbol]
        return {
            "symbol": symbol,
            "positionSide": "BOTH",
            "positionAmt": num(holding.quantity),
            "unrealizedProfit": num(holding.unrealized(mark)),
            "isolatedMargin": num(self._isolated_wallet(symbol, holding)),
            "notional": num(holding.quantity * mark),
            "isolatedWallet": num(self._isolated_wallet(symbol, holding)),
            "initialMargin": num(holding.initial_margin(mark, self._leverage(symbol))),
            "maintMargin": num(holding.maintenance_margin(mark)),
            "updateTime": self._now(),
        }

    def _isolated_wallet(self, symbol: str, holding: Holding) -> Decimal:
        if self.margin_type.get(symbol) != "ISOLATED":
            return ZERO
        return holding.initial_margin(holding.entry_price, self._leverage(symbol))

    def _position_risk(self, _: QueryParams) -> list[dict[str, Any]]:
        return [self._risk_row(s, h) for s, h in self.ledger.holdings.items()]

    def _risk_row(self, symbol: str, holding: Holding) -> dict[str, Any]:
        mark = self.prices[symbol]
        initial = holding.initial_margin(mark, self._leverage(symbol))
        return {
            "symbol": symbol,
            "positionSide": "BOTH",
            "positionAmt": num(holding.quantity),
            "entryPrice": num(holding.entry_price),
            "breakEvenPrice": num(holding.entry_price),
            "markPrice": num(mark),
            "unRealizedProfit": num(holding.unrealized(mark)),
            "liquidationPrice": "0",
            "isolatedMargin": num(self._isolated_wallet(symbol, holding)),
            "notional": num(holding.quantity * mark),
            "marginAsset": ASSET,
            "isolatedWallet": num(self._isolated_wallet(symbol, holding)),
            "initialMargin": num(initial),
            "maintMargin": num(holding.maintenance_margin(mark)),
            "positionInitialMargin": num(initial),
            "openOrderInitialMargin": "0",
            "adl": 0,
            "bidNotional": "0",
            "askNotional": "0",
            "updateTime": self._now(),
        }

    def _symbol_config(self, query: QueryParams) -> list[dict[str, Any]]:
        symbols = [self._symbol(query).symbol] if "symbol" in query else list(self._filters)
        return [
            {
                "symbol": symbol,
                "marginType": self.margin_type.get(symbol, "CROSSED"),
                "isAutoAddMargin": "false",
                "leverage": self._leverage(symbol),
                "maxNotionalValue": "1000000",
            }
            for symbol in symbols
        ]

    def _set_leverage(self, query: QueryParams) -> dict[str, Any]:
        symbol = self._symbol(query).symbol
        leverage = int_param(query, "leverage")
        if not 1 <= leverage <= MAX_LEVERAGE:
            raise refuse(-4028, f"Leverage {leverage} is not valid")
        self.leverage[symbol] = leverage
        return {"leverage": leverage, "maxNotionalValue": "1000000", "symbol": symbol}

    def _set_margin_type(self, query: QueryParams) -> dict[str, Any]:
        symbol = self._symbol(query).symbol
        margin_type = choice_param(query, "marginType", {"ISOLATED", "CROSSED"})
        if self.margin_type.get(symbol, "CROSSED") == margin_type:
            raise refuse(-4046, "No need to change margin type.")
        if symbol in self.ledger.holdings:
            raise refuse(-4048, "Margin type cannot be changed if there exists position.")
        self.margin_type[symbol] = margin_type
        return {"code": 200, "msg": "success"}

    def _user_trades(self, query: QueryParams) -> list[dict[str, Any]]:
        symbol = self._symbol(query).symbol
        order_id = query.get("orderId")
        return [
            trade_json(t)
            for t in self.ledger.trades
            if t.symbol == symbol and order_id in (None, str(t.order_id))
        ]

    # --- user data stream -------------------------------------------------------------------------

    def _create_listen_key(self, _: QueryParams) -> dict[str, str]:
        """The active key if there is one (Binance hands it back, extended), else a new one."""
        if self._listen_key is None:
            self._listen_key = secrets.token_urlsafe(48)
        return {"listenKey": self._listen_key}

    def _keep_alive_listen_key(self, _: QueryParams) -> dict[str, str]:
        if self._listen_key is None:
            raise refuse(-1125, "This listenKey does not exist.")
        return {"listenKey": self._listen_key}

    def _close_listen_key(self, _: QueryParams) -> dict[str, Any]:
        self._listen_key = None
        return {}

    async def _serve_user_stream(self, connection: ServerConnection) -> None:
        query = parse_qs(urlsplit(connection.request.path if connection.request else "").query)
        key = query.get("listenKey", [""])[0]
        if self._listen_key is None or key != self._listen_key:
            await connection.close(1008, "Invalid listenKey")
            return
        events = set(query["events"][0].split("/")) if "events" in query else None
        listener = _Listener(connection, key, events)
        sender = asyncio.create_task(listener.send_forever())
        await self._change_listeners(lambda: self._register(listener))
        try:
            async for _ in connection:
                pass  # clients have nothing to say on this stream
        except ConnectionClosed:
            pass
        finally:
            await self._change_listeners(lambda: self._listeners.discard(listener))
            sender.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await sender
            listener.drain()

    def _register(self, listener: _Listener) -> None:
        self._listeners.add(listener)
        self.user_streams_opened += 1

    async def _change_listeners(self, change: Callable[[], None]) -> None:
        async with self._listeners_changed:
            change()
            self._listeners_changed.notify_all()

    def _push(self, event: dict[str, Any]) -> None:
        if self.user_events_lost:
            return
        for listener in list(self._listeners):
            listener.offer(event)

    def _account_event(self, symbol: str, now: int) -> dict[str, Any]:
        holding = self.ledger.holdings.get(symbol)
        quantity = holding.quantity if holding else ZERO
        entry = holding.entry_price if holding else ZERO
        unrealized = holding.unrealized(self.prices[symbol]) if holding else ZERO
        margin_type = self.margin_type.get(symbol, "CROSSED")
        wallet = num(self.ledger.wallet)
        return {
            "e": "ACCOUNT_UPDATE",
            "E": now,
            "T": now,
            "a": {
                "m": "ORDER",
                "B": [{"a": ASSET, "wb": wallet, "cw": wallet, "bc": "0"}],
                "P": [
                    {
                        "s": symbol,
                        "pa": num(quantity),
                        "ep": num(entry),
                        "bep": num(entry),
                        "cr": "0",
                        "up": num(unrealized),
                        "mt": "isolated" if margin_type == "ISOLATED" else "cross",
                        "iw": "0",
                        "ps": "BOTH",
                    }
                ],
            },
        }


# --- conditions -------------------------------------------------------------------------------


def _reached(side: str, kind: str, price: Decimal, trigger: Decimal) -> bool:
    """STOP_MARKET: a BUY fires at or above its trigger, a SELL at or below;
    TAKE_PROFIT_MARKET the other way round."""
    rises = (kind == "STOP_MARKET") == (side == "BUY")
    return price >= trigger if rises else price <= trigger


def _limit_reached(side: str, price: Decimal, limit: Decimal) -> bool:
    return price <= limit if side == "BUY" else price >= limit
