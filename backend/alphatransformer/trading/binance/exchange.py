"""`BinanceExchange`: the `Exchange` interface on a Binance USDⓈ-M account (one-way mode).

- MARKET and LIMIT orders go to `/fapi/v1/order`; STOP_MARKET and TAKE_PROFIT_MARKET to the
  Algo Service (`/fapi/v1/algoOrder`, our client id as `clientAlgoId`), since Binance refuses
  conditional types on the order endpoint (-4120). Queries and cancels follow our client id to
  the right endpoint; an id this process has not placed is looked for in both.
- A filled order's fee and realized PnL are those of its trades (`/fapi/v1/userTrades`, or the
  user data stream), summed per order (`orders.OrderTracker`).
- Errors arrive as `trading.errors` types (`errors.trading_error`): nothing Binance-specific
  leaks past this class.
- Symbol filters come from exchangeInfo, read once at `start`.
- After the user data stream reconnects, the stale listeners hear of it (events sent while it
  was down are lost for good), and the orders not yet final are queried again.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Iterator
from decimal import Decimal

from alphatransformer.config.errors import ConfigError
from alphatransformer.config.schema import BinanceConfig, BinanceEndpoints
from alphatransformer.market.binance.errors import (
    BinanceError,
    BinanceUnknownOrder,
    MalformedMessage,
)
from alphatransformer.market.binance.http import BinanceHttp, RequestSigner, RetryPolicy, Sleep
from alphatransformer.market.binance.rest import BinanceMarketRest
from alphatransformer.trading.binance.errors import trading_error
from alphatransformer.trading.binance.orders import OrderKind, OrderTracker, triggered
from alphatransformer.trading.binance.rest import BinanceTradingRest
from alphatransformer.trading.binance.schemas import (
    AccountChange,
    AlgoOrder,
    PositionRisk,
    SymbolConfig,
    event_type,
    parse_account_update,
    parse_algo_update,
    parse_order_trade_update,
)
from alphatransformer.trading.binance.streams import StreamSettings, UserDataStream
from alphatransformer.trading.errors import (
    AmbiguousOutcome,
    DefinitiveRejection,
    ExchangeError,
    OrderNotFound,
)
from alphatransformer.trading.exchange import OrderListener, StaleListener
from alphatransformer.trading.filters import SymbolFilters
from alphatransformer.trading.models import (
    Account,
    MarginType,
    OrderRequest,
    OrderUpdate,
    Position,
)
from alphatransformer.utils.clock import Clock, WallClock

logger = logging.getLogger(__name__)

AccountListener = Callable[[AccountChange], None]
DUPLICATE_CLIENT_ORDER_ID = -4116
DEFAULT_RETRY = RetryPolicy()
DEFAULT_STREAM = StreamSettings()
STREAM_RECONNECTED = "the user data stream reconnected"
DEFAULT_SLIPPAGE = Decimal("0.0005")
"""How far past the last price a market order is assumed to fill at worst (5 bps: more than a
small order moves a liquid perpetual's book); the risk gate keeps limits at that price."""


@contextlib.contextmanager
def _venue_errors() -> Iterator[None]:
    """Binance's errors as the interface's: the one place they are translated."""
    try:
        yield
    except BinanceError as error:
        raise trading_error(error) from error


class BinanceExchange:
    """A Binance USDⓈ-M account (testnet or production, by `endpoints`) as an `Exchange`."""

    def __init__(
        self,
        config: BinanceConfig,
        endpoints: BinanceEndpoints,
        *,
        name: str = "binance",
        clock: Clock | None = None,
        timeout: float = 10.0,
        retry: RetryPolicy = DEFAULT_RETRY,
        stream: StreamSettings = DEFAULT_STREAM,
        sleep: Sleep = asyncio.sleep,
        slippage: Decimal = DEFAULT_SLIPPAGE,
    ) -> None:
        clock = clock or WallClock()
        self._name = name
        self._slippage = slippage
        # Signatures carry Binance's time: the market client on this same transport keeps the
        # offset to it (measured at start, again after a -1021).
        self._http = BinanceHttp(
            endpoints.rest_url,
            timeout=timeout,
            retry=retry,
            clock=clock,
            sleep=sleep,
            signer=_signer(config, lambda: self._market.server_now_ms()),
        )
        self._market = BinanceMarketRest(self._http, clock)
        self._rest = BinanceTradingRest(self._http, self._market.time_offset_ms)
        self._stream = UserDataStream(
            self._rest,
            endpoints.ws_url,
            self._on_event,
            self._after_reconnect,
            settings=stream,
            sleep=sleep,
        )
        self._filters: dict[str, SymbolFilters] = {}
        self._orders = OrderTracker()
        self._listeners: list[OrderListener] = []
        self._account_listeners: list[AccountListener] = []
        self._stale_listeners: list[StaleListener] = []

    @property
    def name(self) -> str:
        return self._name

    @property
    def slippage(self) -> Decimal:
        return self._slippage

    @property
    def stream(self) -> UserDataStream:
        """The user data stream (how many times it connected, for monitoring)."""
        return self._stream

    async def start(self) -> None:
        """Measure Binance's clock, read every symbol's filters, open the user data stream."""
        with _venue_errors():
            await self._market.time_offset_ms()
            self._filters = await self._market.exchange_info()
            await self._stream.start()

    async def stop(self) -> None:
        await self._stream.stop()
        await self._http.aclose()

    async def symbol_filters(self, symbol: str) -> SymbolFilters:
        try:
            return self._filters[symbol]
        except KeyError:
            raise DefinitiveRejection(f"Invalid symbol {symbol}.", code=-1121) from None

    def add_order_listener(self, listener: OrderListener) -> None:
        self._listeners.append(listener)

    def add_stale_listener(self, listener: StaleListener) -> None:
        self._stale_listeners.append(listener)

    def add_account_listener(self, listener: AccountListener) -> None:
        """Call `listener` with every `ACCOUNT_UPDATE`: wallet and positions after a fill, a
        funding payment, a transfer."""
        self._account_listeners.append(listener)

    # --- account ------------------------------------------------------------------------------

    async def account(self) -> Account:
        """Wallet and margin from `/fapi/v3/account`, positions from `/fapi/v3/positionRisk`,
        their leverage and margin type from `/fapi/v1/symbolConfig` (v3 positions omit both)."""
        with _venue_errors():
            balances = await self._rest.balances()
            risks = await self._rest.positions()
            configs = await self._rest.symbol_configs() if risks else {}
            positions = tuple(_position(risk, configs) for risk in risks)
        return Account(
            asset=balances.asset,
            wallet_balance=balances.wallet_balance,
            unrealized_pnl=balances.unrealized_pnl,
            available_balance=balances.available_balance,
            margin_used=balances.initial_margin,
            positions=positions,
        )

    async def set_leverage(self, symbol: str, leverage: int) -> None:
        with _venue_errors():
            await self._rest.set_leverage(symbol, leverage)

    async def set_margin_type(self, symbol: str, margin_type: MarginType) -> None:
        """Setting the type already set succeeds (Binance's -4046 "No need to change")."""
        with _venue_errors():
            await self._rest.set_margin_type(symbol, margin_type)

    # --- orders -------------------------------------------------------------------------------

    async def place_order(self, request: OrderRequest) -> OrderUpdate:
        """Send one order: conditional types to the Algo Service, the others to the order
        endpoint. A filled market order comes back with its fee and realized PnL; should the
        trades lag behind the answer, the stream brings the rest to the listeners."""
        client_id = request.client_order_id
        if self._orders.exists(client_id):
            # Binance checks ids per endpoint; one id must never name two orders here.
            raise DefinitiveRejection(
                "ClientOrderId is duplicated.", code=DUPLICATE_CLIENT_ORDER_ID
            )
        kind = OrderKind.ALGO if request.type.is_conditional else OrderKind.NORMAL
        self._orders.expect(client_id, request.symbol, kind)
        try:
            with _venue_errors():
                if kind is OrderKind.ALGO:
                    return self._observe_algo(await self._rest.new_algo_order(request))
                placed = await self._rest.new_order(request)
        except DefinitiveRejection:
            self._orders.forget_unplaced(client_id)
            raise
        return await self._with_fills(placed)

    async def cancel_order(self, symbol: str, client_order_id: str) -> OrderUpdate:
        """Cancel a resting order; OrderNotFound when none with that id is open."""
        for kind in self._kinds(client_order_id):
            with contextlib.suppress(OrderNotFound), _venue_errors():
                return await self._cancel(kind, symbol, client_order_id)
        raise _gone(client_order_id)

    async def query_order(self, symbol: str, client_order_id: str) -> OrderUpdate | None:
        """The order's state with its fee and PnL totals, or None when Binance has never seen
        the id (in either endpoint)."""
        for kind in self._kinds(client_order_id):
            with _venue_errors():
                found = await self._query(kind, symbol, client_order_id)
            if found is not None:
                return found
        return None

    async def open_orders(self, symbol: str | None = None) -> list[OrderUpdate]:
        """Resting orders of both endpoints; a triggered conditional order's matching-engine
        order is reported as the conditional order it came from."""
        with _venue_errors():
            normal = await self._rest.open_orders(symbol)
            algo = await self._rest.open_algo_orders(symbol)
        updates = {a.update.client_order_id: self._observe_algo(a) for a in algo}
        for update in normal:
            updates.setdefault(update.client_order_id, self._observe(update, OrderKind.NORMAL))
        return list(updates.values())

    def _kinds(self, client_order_id: str) -> list[OrderKind]:
        """Where to look for an order: where it was sent, or both endpoints (conditional first:
        a triggered one's matching-engine order carries the same client id)."""
        kind = self._orders.kind(client_order_id)
        return [kind] if kind is not None else [OrderKind.ALGO, OrderKind.NORMAL]

    async def _query(
        self, kind: OrderKind, symbol: str, client_order_id: str
    ) -> OrderUpdate | None:
        if kind is OrderKind.ALGO:
            return await self._query_algo(symbol, client_order_id)
        try:
            found = await self._rest.order(symbol, client_order_id=client_order_id)
        except BinanceUnknownOrder:
            return None
        return await self._with_fills(found)

    async def _query_algo(self, symbol: str, client_order_id: str) -> OrderUpdate | None:
        """A conditional order and, once triggered, the fills of the order it became."""
        try:
            algo = await self._rest.algo_order(client_order_id)
        except BinanceUnknownOrder:
            return None
        if algo.update.symbol != symbol:
            return None
        actual_id = algo.actual_order_id
        if actual_id is None:
            return self._observe_algo(algo)
        self._orders.expect(client_order_id, symbol, OrderKind.ALGO)
        self._orders.link_actual(client_order_id, actual_id)
        actual = await self._rest.order(symbol, order_id=actual_id)
        self._orders.add_fills(client_order_id, await self._rest.user_trades(symbol, actual_id))
        return self._observe(triggered(algo.update, actual), OrderKind.ALGO)

    async def _cancel(self, kind: OrderKind, symbol: str, client_order_id: str) -> OrderUpdate:
        if kind is OrderKind.NORMAL:
            cancelled = await self._rest.cancel_order(symbol, client_order_id)
            return await self._with_fills(cancelled)
        # The algo answer says only "success": the order's state is queried after.
        await self._rest.cancel_algo_order(client_order_id)
        found = await self._query_algo(symbol, client_order_id)
        if found is None:
            raise _gone(client_order_id)
        return found

    async def _with_fills(self, update: OrderUpdate) -> OrderUpdate:
        """`update` with the fee and PnL of its trades. The order exists by now, so failing to
        read its trades leaves its outcome unsettled, never refused."""
        if update.filled_quantity > 0:
            try:
                fills = await self._rest.user_trades(update.symbol, update.exchange_order_id)
            except BinanceError as error:
                raise AmbiguousOutcome(
                    f"order {update.client_order_id} is {update.status}, but its trades could "
                    f"not be read: {error}",
                    code=error.code,
                ) from error
            self._orders.add_fills(update.client_order_id, fills)
        return self._observe(update, OrderKind.NORMAL)

    def _observe_algo(self, algo: AlgoOrder) -> OrderUpdate:
        if algo.actual_order_id is not None:
            self._orders.link_actual(algo.update.client_order_id, algo.actual_order_id)
        return self._observe(algo.update, OrderKind.ALGO)

    def _observe(self, update: OrderUpdate, kind: OrderKind) -> OrderUpdate:
        """Merge what was heard into what is known; tell the listeners when it is news."""
        merged, changed = self._orders.merge(update, kind)
        if changed:
            for listener in list(self._listeners):
                listener(merged)
        return merged

    # --- user data stream ---------------------------------------------------------------------

    def _on_event(self, message: object) -> None:
        kind = event_type(message)
        if kind == "ORDER_TRADE_UPDATE":
            self._on_order_event(message)
        elif kind == "ALGO_UPDATE":
            self._observe_algo(parse_algo_update(message))
        elif kind == "ACCOUNT_UPDATE":
            change = parse_account_update(message)
            for listener in list(self._account_listeners):
                listener(change)

    def _on_order_event(self, message: object) -> None:
        """A matching-engine order moved: one of ours, or the order a conditional one of ours
        became, whose fills are the conditional order's."""
        event = parse_order_trade_update(message)
        update = event.update
        owner = self._orders.algo_owner(update)
        client_id = owner or update.client_order_id
        kind = OrderKind.ALGO if owner else OrderKind.NORMAL
        self._orders.expect(client_id, update.symbol, kind)
        if event.fill is not None:
            self._orders.add_fills(client_id, [event.fill])
        if owner is not None:
            update = self._orders.as_algo(owner, update)
        self._observe(update, kind)

    async def _after_reconnect(self) -> None:
        """Tell the stale listeners first, so that their owner holds off trading on records
        that may have missed fills, then query every order that was not final: the order
        listeners hear of those fills even where nobody reconciles."""
        for listener in list(self._stale_listeners):
            listener(STREAM_RECONNECTED)
        for symbol, client_order_id in self._orders.unsettled():
            try:
                await self.query_order(symbol, client_order_id)
            except ExchangeError as error:
                logger.warning("could not catch up on order %s: %s", client_order_id, error)


def _signer(config: BinanceConfig, server_now_ms: Callable[[], int]) -> RequestSigner:
    if not config.has_keys:
        raise ConfigError(
            "trading on Binance needs an API key and secret", key="binance.api_key/api_secret"
        )
    return RequestSigner(
        config.api_key.get_secret_value(),
        config.api_secret.get_secret_value(),
        server_now_ms,
        recv_window_ms=config.recv_window_ms,
    )


def _gone(client_order_id: str) -> OrderNotFound:
    return OrderNotFound(f"Unknown order sent: {client_order_id}.", code=-2011)


def _position(risk: PositionRisk, configs: dict[str, SymbolConfig]) -> Position:
    config = configs.get(risk.symbol)
    if config is None:
        raise MalformedMessage("symbolConfig", f"no row for {risk.symbol}, which has a position")
    isolated = config.margin_type is MarginType.ISOLATED
    return Position(
        symbol=risk.symbol,
        quantity=risk.quantity,
        entry_price=risk.entry_price,
        mark_price=risk.mark_price,
        unrealized_pnl=risk.unrealized_pnl,
        leverage=config.leverage,
        margin_type=config.margin_type,
        margin=risk.isolated_wallet if isolated else risk.initial_margin,
        liquidation_price=risk.liquidation_price,
    )
