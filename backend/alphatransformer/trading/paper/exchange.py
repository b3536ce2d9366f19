"""`PaperExchange`: the `Exchange` interface served in process, faithful to Binance USDⓈ-M in
one-way mode, driven by the market data it is given and the injected clock (no wall clock, no
randomness: the same candles give the same fills, to the last decimal).

- MARKET orders fill at once at the last price worsened by `slippage_bps` (buys up, sells down,
  rounded outward to the tick) and pay the taker fee on the fill notional.
- STOP_MARKET / TAKE_PROFIT_MARKET rest as open orders and fire when a candle of the shortest
  interval reaches their stop (see `candles` for the path assumed inside a candle); they fill at
  the stop, or at the price they gapped to, worsened by slippage, as taker.
- Leverage defaults to 20x, Binance's initial leverage on a symbol never configured (capped by
  the symbol's maximum); margin type defaults to CROSSED, also Binance's default.
- Liquidation at Binance's liquidation price (`positions.liquidation_price`), rounded to the tick
  towards the entry so it never happens later than the formula says. Isolated: the position
  closes there and its whole isolated margin is lost, what is left after the realized loss being
  taken as INSURANCE_CLEAR (Binance's liquidation clearance fee). Cross: reached when margin
  balance falls to the total maintenance margin; every cross position closes (the others at the
  last price) and the remaining cross wallet is taken the same way.
- Funding at each funding time of the symbol's schedule (`FundingInfo.interval_hours`: 00:00,
  08:00 and 16:00 UTC at the usual 8 h), noticed on the first candle update at or after it:
  notional at `market.funding(symbol).mark_price` x funding rate, longs paying a positive rate;
  on an isolated position it moves the isolated margin, as on Binance. No funding info, no
  payment.
- The wallet is the income ledger (`income()`), shaped like Binance's `/fapi/v1/income`.
- Given a store (live paper runs; backtests give none and pay nothing), the account survives
  restarts: `resume()` reopens it as it was left, and every change is saved before a caller or
  listener hears of it (see `journal`). Funding times passed while the process was down are
  paid at the first candle after it, as Binance charges a position held through them.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from decimal import ROUND_DOWN, ROUND_UP, Decimal
from itertools import pairwise
from typing import Self

from alphatransformer.config.schema import PaperExchangeConfig
from alphatransformer.market.market_data import MarketData
from alphatransformer.market.types import FundingInfo, Interval, Kline
from alphatransformer.trading.errors import DefinitiveRejection, InsufficientMargin, OrderNotFound
from alphatransformer.trading.exchange import OrderListener, StaleListener
from alphatransformer.trading.filters import SymbolFilters
from alphatransformer.trading.models import (
    Account,
    MarginType,
    OrderRequest,
    OrderSide,
    OrderStatus,
    OrderType,
    OrderUpdate,
    Position,
)
from alphatransformer.trading.paper.candles import (
    candle_path,
    falls_to_trigger,
    to_decimal,
    trigger_base,
)
from alphatransformer.trading.paper.funding import funding_payment, funding_times
from alphatransformer.trading.paper.journal import StateJournal
from alphatransformer.trading.paper.ledger import IncomeRecord, IncomeType, Ledger, usdt
from alphatransformer.trading.paper.margin import (
    Marks,
    Positions,
    cross_wallet_balance,
    free_margin,
    margin_used,
    position_liquidation_price,
    unrealized_pnl,
)
from alphatransformer.trading.paper.positions import (
    FillOutcome,
    OpenPosition,
    PositionTerms,
    apply_fill,
)
from alphatransformer.trading.paper.state import AccountCore, PaperState, PaperStateStore
from alphatransformer.trading.paper.symbols import (
    DERIVED_MAINTENANCE_MARGIN_RATE,
    DERIVED_MAX_LEVERAGE,
    KNOWN_SPECS,
    SymbolSpec,
    derive_spec,
)
from alphatransformer.trading.paper.validation import validate_order
from alphatransformer.utils.clock import Clock

logger = logging.getLogger(__name__)

ASSET = "USDT"
DEFAULT_LEVERAGE = 20
DEFAULT_MARGIN_TYPE = MarginType.CROSSED
_BPS = Decimal(10_000)
_ZERO = Decimal(0)
# At the same point of a candle a stop fires before a liquidation, both before a take-profit.
_STOP_PRIORITY, _LIQUIDATION_PRIORITY, _TAKE_PROFIT_PRIORITY = 0, 1, 2


@dataclass(frozen=True, slots=True)
class _Event:
    """Something happening on a candle leg at price `at`: a conditional order firing, or (with
    no order) the symbol's position being liquidated, which fills at `price`."""

    distance: Decimal
    priority: int
    sequence: int
    at: Decimal
    price: Decimal
    order: OrderUpdate | None


class PaperExchange:
    """Binance USDⓈ-M one-way mode, simulated in process on the given market data."""

    def __init__(
        self,
        config: PaperExchangeConfig,
        market: MarketData,
        clock: Clock,
        filters: dict[str, SymbolFilters] | None = None,
        *,
        store: PaperStateStore | None = None,
        state: PaperState | None = None,
    ) -> None:
        """A new account, or the one in `state`; with a `store`, every change is saved there."""
        self._config = config
        self._market = market
        self._clock = clock
        self._filter_overrides = dict(filters or {})
        self._specs: dict[str, SymbolSpec] = {}
        self._terms: dict[str, PositionTerms] = {}
        self._positions: dict[str, OpenPosition] = {}
        self._orders: dict[str, OrderUpdate] = {}
        self._open: dict[str, OrderUpdate] = {}
        self._listeners: list[OrderListener] = []
        self._last_kline: dict[str, Kline] = {}
        self._next_order_id = 1
        self._trigger_interval: Interval | None = None
        self._funding_checked_ms: int | None = None
        self._subscribed = False
        self._running = False
        self._ledger = Ledger(ASSET)
        self._last_account: tuple[object, Account] | None = None
        if state is None:
            self._ledger.record(
                IncomeType.TRANSFER, config.starting_balance, time_ms=clock.now_ms(), info="deposit"
            )
        else:
            self._restore(state)
        self._journal: StateJournal | None = None
        if store is not None:
            saved = 0 if state is None else self._ledger.last_tran_id
            self._journal = StateJournal(
                store, self._core, self._ledger, self._notify, saved_tran_id=saved
            )

    @classmethod
    async def resume(
        cls, config: PaperExchangeConfig, market: MarketData, clock: Clock, store: PaperStateStore
    ) -> Self:
        """The account kept in `store` as it was left, or a new one when there is none or the
        config's `reset_on_start` discards it; either way saved to `store` from then on."""
        if config.reset_on_start:
            await store.clear()
        return cls(config, market, clock, store=store, state=await store.load())

    @property
    def name(self) -> str:
        return "paper"

    @property
    def slippage(self) -> Decimal:
        return self._config.slippage_bps / _BPS

    async def start(self) -> None:
        """Follow the market's candles of its shortest interval: they drive triggers,
        liquidations and funding. Orders can be placed before, but nothing fires until then."""
        self._trigger_interval = min(self._market.intervals, key=lambda i: i.ms)
        if self._funding_checked_ms is None:
            self._funding_checked_ms = self._clock.now_ms()
        if not self._subscribed:
            self._market.add_listener(self._on_kline)
            self._subscribed = True
        self._running = True

    async def stop(self) -> None:
        self._running = False
        if self._journal is not None:
            await self._journal.close()

    async def symbol_filters(self, symbol: str) -> SymbolFilters:
        return self._spec(symbol).filters

    async def account(self) -> Account:
        """The account at the last prices; asked again before anything changed (a cycle reads
        it for its prompt and again for its snapshot), the same answer is handed back."""
        await self._save()
        marks = self._marks(self._positions)
        # Everything the account is computed from: the wallet (its newest ledger entry), the
        # positions (frozen values) and their mark prices.
        state = (self._ledger.last_tran_id, tuple(self._positions.values()), tuple(marks.values()))
        if self._last_account is not None and self._last_account[0] == state:
            return self._last_account[1]
        wallet = self._ledger.balance
        account = Account(
            asset=ASSET,
            wallet_balance=wallet,
            unrealized_pnl=unrealized_pnl(self._positions.values(), marks),
            available_balance=max(_ZERO, free_margin(wallet, self._positions, marks)),
            margin_used=margin_used(self._positions, marks),
            positions=tuple(self._position_view(p, marks) for p in self._positions.values()),
        )
        self._last_account = (state, account)
        return account

    async def open_orders(self, symbol: str | None = None) -> list[OrderUpdate]:
        await self._save()
        return [o for o in self._open.values() if symbol is None or o.symbol == symbol]

    def income(
        self, symbol: str | None = None, income_type: IncomeType | None = None
    ) -> list[IncomeRecord]:
        """Every wallet movement, oldest first, the starting deposit (TRANSFER) included: their
        sum is the wallet balance."""
        return self._ledger.entries(symbol, income_type)

    async def set_leverage(self, symbol: str, leverage: int) -> None:
        """Applies to the open position too: cross margin is recomputed, an isolated margin
        stays as it is (lowering leverage under it is refused, Binance -4161)."""
        if not 1 <= leverage <= self._spec(symbol).max_leverage:
            raise DefinitiveRejection(f"Leverage {leverage} is not valid", code=-4028)
        terms = replace(self._terms_of(symbol), leverage=leverage)
        position = self._positions.get(symbol)
        if position is not None:
            self._check_leverage_change(replace(position, terms=terms), position)
            self._positions[symbol] = replace(position, terms=terms)
        self._terms[symbol] = terms
        await self._save(settings_changed=True)

    async def set_margin_type(self, symbol: str, margin_type: MarginType) -> None:
        """Setting the current type again succeeds: Binance answers -4046 "No need to change
        margin type", which callers would only have to swallow."""
        terms = self._terms_of(symbol)
        if terms.margin_type is margin_type:
            return
        if symbol in self._positions:
            raise DefinitiveRejection(
                "Margin type cannot be changed if there exists position.", code=-4048
            )
        if any(o.symbol == symbol for o in self._open.values()):
            raise DefinitiveRejection(
                "Margin type cannot be changed if there exists open orders.", code=-4047
            )
        self._terms[symbol] = replace(terms, margin_type=margin_type)
        await self._save(settings_changed=True)

    async def place_order(self, request: OrderRequest) -> OrderUpdate:
        """MARKET fills before this returns (FILLED); a conditional order rests (NEW)."""
        if request.client_order_id in self._orders:
            raise DefinitiveRejection("ClientOrderId is duplicated.", code=-4116)
        last = self._last_price(request.symbol)
        validate_order(
            request, self._spec(request.symbol).filters, last, self._positions.get(request.symbol)
        )
        order = self._new_order(request)
        if request.type.is_conditional:
            self._publish(order)
        else:
            price = self._slipped(order.symbol, order.side, last)
            order = self._fill(order, order.quantity, price, self._config.taker_fee)
        await self._save()
        return order

    async def cancel_order(self, symbol: str, client_order_id: str) -> OrderUpdate:
        order = self._open.get(client_order_id)
        if order is None or order.symbol != symbol:
            raise OrderNotFound("Unknown order sent.", code=-2011)
        canceled = self._finish(order, OrderStatus.CANCELED)
        await self._save()
        return canceled

    async def query_order(self, symbol: str, client_order_id: str) -> OrderUpdate | None:
        await self._save()
        order = self._orders.get(client_order_id)
        return order if order is not None and order.symbol == symbol else None

    def add_order_listener(self, listener: OrderListener) -> None:
        self._listeners.append(listener)

    def add_stale_listener(self, listener: StaleListener) -> None:
        """Never called: updates are delivered in process, so none can be lost."""

    # --- persistence --------------------------------------------------------------------------

    async def _save(self, *, settings_changed: bool = False) -> None:
        """Make every change so far durable before the caller hears of it (with a store)."""
        if self._journal is None:
            return
        if settings_changed:
            self._journal.touch()
        await self._journal.flush()

    def _core(self) -> AccountCore:
        return AccountCore(
            next_order_id=self._next_order_id,
            funding_checked_ms=self._funding_checked_ms,
            specs=dict(self._specs),
            terms=dict(self._terms),
            positions=dict(self._positions),
            last_klines=dict(self._last_kline),
        )

    def _restore(self, state: PaperState) -> None:
        core = state.core
        self._next_order_id = core.next_order_id
        self._funding_checked_ms = core.funding_checked_ms
        self._specs = dict(core.specs)
        self._terms = dict(core.terms)
        self._positions = dict(core.positions)
        self._last_kline = dict(core.last_klines)
        self._orders = {order.client_order_id: order for order in state.orders}
        self._open = {
            cid: order for cid, order in self._orders.items() if not order.status.is_final
        }
        self._ledger = Ledger.restored(ASSET, state.income)
        logger.info(
            "paper account resumed: wallet %s %s, %d positions, %d open orders",
            self._ledger.balance,
            ASSET,
            len(self._positions),
            len(self._open),
        )

    # --- symbols and settings -----------------------------------------------------------------

    def _spec(self, symbol: str) -> SymbolSpec:
        """Filters given to the constructor win, then the table, then a derivation from the
        price, fixed at first use so filters never move under resting orders."""
        spec = self._specs.get(symbol)
        if spec is None:
            spec = self._make_spec(symbol)
            self._specs[symbol] = spec
        return spec

    def _make_spec(self, symbol: str) -> SymbolSpec:
        known = KNOWN_SPECS.get(symbol)
        override = self._filter_overrides.get(symbol)
        if override is None:
            return known or derive_spec(symbol, self._last_price(symbol))
        if known is None:
            return SymbolSpec(override, DERIVED_MAINTENANCE_MARGIN_RATE, DERIVED_MAX_LEVERAGE)
        return replace(known, filters=override)

    def _terms_of(self, symbol: str) -> PositionTerms:
        terms = self._terms.get(symbol)
        if terms is None:
            spec = self._spec(symbol)
            leverage = min(DEFAULT_LEVERAGE, spec.max_leverage)
            terms = PositionTerms(leverage, DEFAULT_MARGIN_TYPE, spec.maintenance_margin_rate)
        return terms

    def _check_leverage_change(self, changed: OpenPosition, current: OpenPosition) -> None:
        if current.is_isolated:
            if changed.terms.leverage < current.terms.leverage:
                raise DefinitiveRejection(
                    "Leverage reduction is not supported in Isolated Margin Mode with open "
                    "positions.",
                    code=-4161,
                )
            return
        self._require_free_margin(self._positions_with(changed.symbol, changed), _ZERO)

    # --- prices -------------------------------------------------------------------------------

    def _last_price(self, symbol: str) -> Decimal:
        try:
            return to_decimal(self._market.latest_price(symbol))
        except KeyError:
            raise DefinitiveRejection(f"Invalid symbol {symbol}.", code=-1121) from None

    def _marks(self, positions: Positions) -> dict[str, Decimal]:
        return {symbol: self._last_price(symbol) for symbol in positions}

    def _slipped(self, symbol: str, side: OrderSide, price: Decimal) -> Decimal:
        """A taker's fill price: `price` worsened by the slippage, rounded outward to the tick."""
        filters = self._spec(symbol).filters
        slip = self.slippage
        if side is OrderSide.BUY:
            return filters.round_price(price * (1 + slip), ROUND_UP)
        return filters.round_price(price * (1 - slip), ROUND_DOWN)

    def _liquidation_price(self, symbol: str, marks: Marks) -> Decimal | None:
        """Binance's liquidation price rounded to the tick towards the entry."""
        price = position_liquidation_price(symbol, self._ledger.balance, self._positions, marks)
        if price is None:
            return None
        rounding = ROUND_UP if self._positions[symbol].quantity > 0 else ROUND_DOWN
        return self._spec(symbol).filters.round_price(price, rounding)

    # --- orders and fills ---------------------------------------------------------------------

    def _new_order(self, request: OrderRequest) -> OrderUpdate:
        exchange_order_id = str(self._next_order_id)
        self._next_order_id += 1
        return OrderUpdate(
            symbol=request.symbol,
            client_order_id=request.client_order_id,
            exchange_order_id=exchange_order_id,
            side=request.side,
            type=request.type,
            status=OrderStatus.NEW,
            quantity=request.quantity or _ZERO,
            filled_quantity=_ZERO,
            avg_price=None,
            price=None,
            stop_price=request.stop_price,
            reduce_only=request.reduce_only,
            close_position=request.close_position,
            fee=_ZERO,
            fee_asset=ASSET,
            realized_pnl=_ZERO,
            update_time_ms=self._clock.now_ms(),
        )

    def _fill(
        self, order: OrderUpdate, quantity: Decimal, price: Decimal, fee_rate: Decimal
    ) -> OrderUpdate:
        """Fill `order` entirely; raise `InsufficientMargin`, changing nothing, when it opens
        exposure that the free margin left after it would not cover."""
        symbol = order.symbol
        signed = quantity if order.side is OrderSide.BUY else -quantity
        position = self._positions.get(symbol)
        outcome = apply_fill(position, symbol, self._terms_of(symbol), signed, price)
        commission = usdt(price * quantity * fee_rate)
        self._check_fill_margin(symbol, outcome, commission)
        now = self._clock.now_ms()
        info = order.client_order_id
        pnl = self._ledger.record(
            IncomeType.REALIZED_PNL, outcome.realized_pnl, time_ms=now, symbol=symbol, info=info
        )
        self._ledger.record(
            IncomeType.COMMISSION, -commission, time_ms=now, symbol=symbol, info=info
        )
        self._positions = self._positions_with(symbol, outcome.position)
        filled = replace(
            order,
            status=OrderStatus.FILLED,
            quantity=quantity,
            filled_quantity=quantity,
            avg_price=price,
            fee=commission,
            realized_pnl=pnl,
            update_time_ms=now,
        )
        self._publish(filled)
        self._expire_orphaned_protection(symbol)
        return filled

    def _check_fill_margin(self, symbol: str, outcome: FillOutcome, commission: Decimal) -> None:
        """Binance checks margin only for orders that open exposure; reductions always pass."""
        if outcome.opened_quantity == 0:
            return
        positions = self._positions_with(symbol, outcome.position)
        self._require_free_margin(positions, usdt(outcome.realized_pnl) - commission)

    def _require_free_margin(self, positions: Positions, wallet_change: Decimal) -> None:
        wallet = self._ledger.balance + wallet_change
        free = free_margin(wallet, positions, self._marks(positions))
        if free < 0:
            raise InsufficientMargin(f"Margin is insufficient: short by {-free}.", code=-2019)

    def _positions_with(
        self, symbol: str, position: OpenPosition | None
    ) -> dict[str, OpenPosition]:
        positions = {s: p for s, p in self._positions.items() if s != symbol}
        if position is not None:
            positions[symbol] = position
        return positions

    def _expire_orphaned_protection(self, symbol: str) -> None:
        """Reduce-only and close-position orders that no longer work against the position
        (closed or flipped) expire, as Binance cancels them."""
        position = self._positions.get(symbol)
        for order in [o for o in self._open.values() if o.symbol == symbol]:
            if (order.reduce_only or order.close_position) and (
                position is None or not position.is_reduced_by(order.side)
            ):
                self._finish(order, OrderStatus.EXPIRED)

    def _finish(self, order: OrderUpdate, status: OrderStatus) -> OrderUpdate:
        finished = replace(order, status=status, update_time_ms=self._clock.now_ms())
        self._publish(finished)
        return finished

    def _publish(self, update: OrderUpdate) -> None:
        self._orders[update.client_order_id] = update
        if update.status.is_final:
            self._open.pop(update.client_order_id, None)
        else:
            self._open[update.client_order_id] = update
        if self._journal is None:
            self._notify(update)
        else:
            self._journal.order_changed(update)

    def _notify(self, update: OrderUpdate) -> None:
        for listener in list(self._listeners):
            listener(update)

    def _position_view(self, position: OpenPosition, marks: Marks) -> Position:
        mark = marks[position.symbol]
        return Position(
            symbol=position.symbol,
            quantity=position.quantity,
            entry_price=position.entry_price,
            mark_price=mark,
            unrealized_pnl=position.unrealized_pnl(mark),
            leverage=position.terms.leverage,
            margin_type=position.terms.margin_type,
            margin=position.initial_margin(mark),
            liquidation_price=self._liquidation_price(position.symbol, marks),
        )

    # --- candles: funding, triggers, liquidation ----------------------------------------------

    def _on_kline(self, kline: Kline) -> None:
        if not self._running or kline.interval is not self._trigger_interval:
            return
        self._settle_funding()
        position = self._positions.get(kline.symbol)
        down_first = position is None or position.quantity > 0
        path = candle_path(kline, self._last_kline.get(kline.symbol), down_first=down_first)
        self._last_kline[kline.symbol] = kline
        for start, end in pairwise(path):
            self._run_leg(kline.symbol, start, end)
        if self._journal is not None:
            self._journal.flush_soon()

    def _run_leg(self, symbol: str, start: Decimal, end: Decimal) -> None:
        """Let every event the leg `start` -> `end` reaches happen, nearest first."""
        while (event := self._next_event(symbol, start, end)) is not None:
            if event.order is None:
                self._liquidate(symbol, event.price)
            else:
                self._trigger(event.order, event.price)
            start = event.at

    def _next_event(self, symbol: str, start: Decimal, end: Decimal) -> _Event | None:
        events = [
            event
            for order in self._open.values()
            if order.symbol == symbol and (event := _order_event(order, start, end)) is not None
        ]
        liquidation = self._liquidation_event(symbol, start, end)
        if liquidation is not None:
            events.append(liquidation)
        return min(events, key=lambda e: (e.distance, e.priority, e.sequence), default=None)

    def _liquidation_event(self, symbol: str, start: Decimal, end: Decimal) -> _Event | None:
        position = self._positions.get(symbol)
        if position is None:
            return None
        price = self._liquidation_price(symbol, self._marks(self._positions))
        if price is None:
            return None
        at = trigger_base(position.quantity > 0, price, start, end)
        if at is None:
            return None
        return _Event(abs(at - start), _LIQUIDATION_PRIORITY, 0, at, price, None)

    def _trigger(self, order: OrderUpdate, at: Decimal) -> None:
        """Fill a fired conditional order as a market order; one that would open exposure
        without the margin for it expires instead."""
        price = self._slipped(order.symbol, order.side, at)
        try:
            self._fill(order, self._trigger_quantity(order), price, self._config.taker_fee)
        except InsufficientMargin:
            self._finish(order, OrderStatus.EXPIRED)

    def _trigger_quantity(self, order: OrderUpdate) -> Decimal:
        """Close-position orders close what is open; reduce-only ones at most that. Such orders
        only rest while a position they reduce exists (`_expire_orphaned_protection`)."""
        if not (order.close_position or order.reduce_only):
            return order.quantity
        size = self._positions[order.symbol].size
        return size if order.close_position else min(order.quantity, size)

    def _liquidate(self, symbol: str, price: Decimal) -> None:
        position = self._positions[symbol]
        pnl = self._close_by_liquidation(position, price)
        if position.is_isolated:
            remaining = position.isolated_margin + pnl
        else:
            for other in [p for p in self._positions.values() if not p.is_isolated]:
                self._close_by_liquidation(other, self._last_price(other.symbol))
            remaining = cross_wallet_balance(self._ledger.balance, self._positions)
        self._ledger.record(
            IncomeType.INSURANCE_CLEAR, -remaining, time_ms=self._clock.now_ms(), symbol=symbol
        )

    def _close_by_liquidation(self, position: OpenPosition, price: Decimal) -> Decimal:
        """Close `position` at `price` with no fee, as Binance's `autoclose-` order; return the
        realized PnL booked."""
        side = OrderSide.SELL if position.quantity > 0 else OrderSide.BUY
        client_order_id = f"autoclose-{self._clock.now_ms()}-{self._next_order_id}"
        request = OrderRequest(
            position.symbol,
            side,
            OrderType.MARKET,
            client_order_id,
            position.size,
            reduce_only=True,
        )
        order = self._new_order(request)
        return self._fill(order, position.size, price, _ZERO).realized_pnl

    def _settle_funding(self) -> None:
        """Pay what each open position owes for the funding times passed since the last check,
        oldest first, on its symbol's own schedule (8 h, or the 4 h or 1 h Binance gives some)."""
        now = self._clock.now_ms()
        checked = self._funding_checked_ms
        assert checked is not None  # set by start(), before any candle is followed
        self._funding_checked_ms = now
        if not funding_times(checked, now, interval_hours=1):
            return  # every schedule settles on the hour: nothing can be due
        due: list[tuple[int, int, FundingInfo]] = []
        for order, symbol in enumerate(self._positions):
            info = self._market.funding(symbol)
            if info is not None:
                times = funding_times(checked, now, interval_hours=info.interval_hours)
                due += [(funding_time, order, info) for funding_time in times]
        for funding_time, _, info in sorted(due, key=lambda item: item[:2]):
            position = self._positions.get(info.symbol)
            if position is not None:
                self._pay_funding(position, funding_time, info)

    def _pay_funding(self, position: OpenPosition, funding_time: int, info: FundingInfo) -> None:
        amount = funding_payment(
            position.quantity, to_decimal(info.mark_price), to_decimal(info.funding_rate)
        )
        booked = self._ledger.record(
            IncomeType.FUNDING_FEE, amount, time_ms=funding_time, symbol=position.symbol
        )
        if position.is_isolated:
            margin = position.isolated_margin + booked
            self._positions[position.symbol] = replace(position, isolated_margin=margin)


def _order_event(order: OrderUpdate, start: Decimal, end: Decimal) -> _Event | None:
    """Where a resting conditional order fires on the leg, if it does."""
    assert order.stop_price is not None  # only conditional orders rest
    at = trigger_base(falls_to_trigger(order.side, order.type), order.stop_price, start, end)
    if at is None:
        return None
    priority = _STOP_PRIORITY if order.type is OrderType.STOP_MARKET else _TAKE_PROFIT_PRIORITY
    return _Event(abs(at - start), priority, int(order.exchange_order_id), at, at, order)
