"""The deterministic risk gate: every action the model proposes passes here, or no order is sent.

The model proposes, the code disposes. `RiskGate.evaluate` turns an untrusted `TradeDecision`
into an exact, quantized `OrderPlan` for the order manager, or raises `RiskRejection` naming the
rule that failed and the numbers that failed it, so the rejection can be recorded and shown.

Order of checks for an opening action (the first failure is the one reported):
  1. kill switch (config or runtime halt)       2. symbol allowed
  3. daily loss limit (latched for the day)     4. stale market data
  5. min confidence                             6. max leverage
  7. position already open in the symbol        8. max open positions
  9. stop loss: required, right side, distance  10. take profit: right side
  11. both protective prices inside the symbol's price filter
  12. size: step, min/max quantity, min notional
  13. max position share, max total exposure    14. available margin
Halts come first because they answer "may we enter at all?" whatever the proposal; a breach of a
configured limit is reported before a lack of balance, because it says the model sized too big,
while the balance is a transient fact of the account.

A `close` is always planned when the symbol is allowed and a position exists: kill switch, daily
loss limit, stale data and confidence never block reducing risk. With `daily_loss_action:
flatten`, reaching the daily loss limit also closes every position: `daily_loss_reached` tells
the executor, which turns each held symbol's decision into a close (see `TradeExecutor.enforce`).

Limits hold for the fill, not just the quote: an entry is sized and checked at the worst price
it may fill at, the reference price moved against the order by `RiskContext.slippage` and
rounded outward to the tick (as the paper exchange fills). Notional, margin, fee, exposure and
stop distance are all at that price, so slippage cannot carry a fill past a configured limit.
The exchange's own minimum notional is checked at the reference price, as the exchange does.

Numbers of any size are handled exactly: a quantity of 1e308 or a stop of 1e308 is rejected by
the lot or price filter rule, quoting it, never by an arithmetic error.

Rounding, chosen so that no rounding can undo a check the gate made:
- quantity is rounded DOWN to the market step size, so the order never exceeds the approved size;
  a close uses the position's exact quantity (already on the exchange's grid), so no dust remains;
- stop loss and take profit are rounded to the tick AWAY from the reference price, so a price on
  the right side stays on the right side (the side is checked on the unrounded price, the distance
  on the rounded one, so rounding cannot rescue a wrong proposal nor hide a too-distant stop).

The gate reads no clock and does no I/O: time arrives as `RiskContext.day`. Its only state is the
runtime halt and the daily-loss latch, both driven by what callers pass in.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_DOWN, ROUND_UP, Decimal
from enum import StrEnum

from alphatransformer.agent.decision import Action, TradeDecision
from alphatransformer.config.schema import RiskConfig
from alphatransformer.trading.filters import SymbolFilters
from alphatransformer.trading.models import Account, OrderSide

DEFAULT_LEVERAGE = 1
"""Leverage when the model names none: an unspecified leverage must never amplify risk."""

DEFAULT_TAKER_FEE = Decimal("0.0005")
"""Binance USDⓈ-M regular-tier taker rate, used to reserve the entry fee with the margin."""


class Rule(StrEnum):
    """Stable identifiers of the gate's rules, stored with each rejection."""

    KILL_SWITCH = "kill_switch"
    SYMBOL_NOT_ALLOWED = "symbol_not_allowed"
    DAILY_LOSS_LIMIT = "daily_loss_limit"
    STALE_MARKET_DATA = "stale_market_data"
    MIN_CONFIDENCE = "min_confidence"
    MAX_LEVERAGE = "max_leverage"
    POSITION_ALREADY_OPEN = "position_already_open"
    MAX_OPEN_POSITIONS = "max_open_positions"
    STOP_LOSS_REQUIRED = "stop_loss_required"
    STOP_LOSS_WRONG_SIDE = "stop_loss_wrong_side"
    STOP_LOSS_TOO_FAR = "stop_loss_too_far"
    TAKE_PROFIT_WRONG_SIDE = "take_profit_wrong_side"
    PRICE_FILTER = "price_filter"
    QUANTITY_BELOW_STEP = "quantity_below_step"
    MIN_QUANTITY = "min_quantity"
    MAX_QUANTITY = "max_quantity"
    MIN_NOTIONAL = "min_notional"
    MAX_POSITION_SHARE = "max_position_share"
    MAX_TOTAL_EXPOSURE = "max_total_exposure"
    INSUFFICIENT_MARGIN = "insufficient_margin"
    NO_POSITION_TO_CLOSE = "no_position_to_close"


class RiskRejection(Exception):
    """A proposed action the gate refused: which rule, why in words, and the numbers as text."""

    def __init__(self, rule: Rule, message: str, **details: object) -> None:
        super().__init__(message)
        self.rule = rule
        self.message = message
        self.details: dict[str, str] = {key: _text(value) for key, value in details.items()}


@dataclass(frozen=True, slots=True)
class RiskContext:
    """What the gate needs to know about the market and the account for one decision.

    `day_start_equity` is the equity at 00:00 UTC of `day`; the caller owns the clock and supplies
    both, so the gate stays deterministic and replays give the same answers.
    """

    account: Account
    filters: SymbolFilters
    price: Decimal
    data_fresh: bool
    day_start_equity: Decimal
    day: date
    allowed_symbols: Collection[str]
    taker_fee: Decimal = DEFAULT_TAKER_FEE
    slippage: Decimal = Decimal(0)
    """How far past `price` a market entry may fill, as a fraction (0.0002 is 2 bps)."""


@dataclass(frozen=True, slots=True)
class OrderPlan:
    """An approved market order, exact and quantized, ready for the order manager.

    An entry's `notional`, `margin` (notional / leverage) and `estimated_fee` (taker fee) are at
    the worst price it may fill at (see the module docstring); a close's at the reference price.
    A close needs no margin and carries no stop loss or take profit.
    """

    symbol: str
    action: Action
    side: OrderSide
    quantity: Decimal
    leverage: int
    reference_price: Decimal
    notional: Decimal
    margin: Decimal
    estimated_fee: Decimal
    stop_loss: Decimal | None
    take_profit: Decimal | None
    reduce_only: bool


@dataclass(frozen=True, slots=True)
class _Size:
    quantity: Decimal
    notional: Decimal
    margin: Decimal
    fee: Decimal


class RiskGate:
    """Checks every proposed action against `RiskConfig` and the symbol's exchange filters."""

    def __init__(self, config: RiskConfig) -> None:
        self._config = config
        self._halt_reason: str | None = None
        self._loss_limit_day: date | None = None

    @property
    def halted(self) -> bool:
        """True while new entries are refused: config kill switch on, or `halt()` called."""
        return self._config.kill_switch or self._halt_reason is not None

    @property
    def halt_reason(self) -> str | None:
        """Why entries are refused, for the API and the rejection message; None when not halted."""
        if self._halt_reason is not None:
            return self._halt_reason
        return "kill_switch set in config" if self._config.kill_switch else None

    def halt(self, reason: str) -> None:
        """Trip the kill switch at run time: from now on only closes pass."""
        self._halt_reason = reason

    def resume(self) -> None:
        """Lift a runtime halt; a kill switch set in config stays on until the config changes."""
        self._halt_reason = None

    @property
    def flattens_at_daily_loss(self) -> bool:
        """Whether reaching the daily loss limit closes every position (`flatten`), not only
        refuses new entries (`close_only`)."""
        return self._config.daily_loss_action == "flatten"

    def daily_loss_reached(self, account: Account, day_start_equity: Decimal, day: date) -> bool:
        """Whether `day`'s loss has reached the limit; latched for the rest of the UTC day.

        Without the latch a bounce back above the threshold would reopen trading the same day.
        """
        if account.equity <= _loss_threshold(day_start_equity, self._config.daily_loss_limit):
            self._loss_limit_day = day
        return self._loss_limit_day == day

    def evaluate(self, decision: TradeDecision, context: RiskContext) -> OrderPlan:
        """Plan the order for `decision`, or raise `RiskRejection` with the first rule it breaks.

        `hold` is not an order and raises `ValueError`: the caller records it without the gate.
        A context that contradicts the decision (filters or price for another symbol, a price
        that is not positive) is a caller bug and raises `ValueError` too.
        """
        if decision.action is Action.HOLD:
            raise ValueError("hold is not an order: record it without evaluating it")
        self.daily_loss_reached(context.account, context.day_start_equity, context.day)
        if decision.action is Action.CLOSE:
            return _plan_close(decision, context)
        return self._plan_open(decision, context)

    def _plan_open(self, decision: TradeDecision, context: RiskContext) -> OrderPlan:
        self._check_entry_allowed(decision, context)
        leverage = self._check_proposal(decision)
        self._check_free_slot(decision.symbol, context.account)
        side = OrderSide.BUY if decision.action is Action.OPEN_LONG else OrderSide.SELL
        fill = _worst_fill(side, context)
        stop_loss = self._stop_loss(decision, side, fill, context)
        take_profit = _take_profit(decision, side, context)
        size = _size(decision, leverage, fill, context)
        self._check_limits(size, context.account)
        _check_margin(size, context.account)
        return OrderPlan(
            symbol=decision.symbol,
            action=decision.action,
            side=side,
            quantity=size.quantity,
            leverage=leverage,
            reference_price=context.price,
            notional=size.notional,
            margin=size.margin,
            estimated_fee=size.fee,
            stop_loss=stop_loss,
            take_profit=take_profit,
            reduce_only=False,
        )

    def _check_entry_allowed(self, decision: TradeDecision, context: RiskContext) -> None:
        """Refuse any new entry while halted, off-list, past the daily loss, or on stale data."""
        if self.halted:
            raise RiskRejection(
                Rule.KILL_SWITCH,
                f"kill switch is on ({self.halt_reason}): only closes are allowed",
                reason=self.halt_reason,
            )
        _check_market(decision, context)
        self._check_daily_loss(context)
        if not context.data_fresh:
            raise RiskRejection(
                Rule.STALE_MARKET_DATA,
                f"market data for {decision.symbol} is stale: no new entries until it is fresh",
                symbol=decision.symbol,
            )

    def _check_daily_loss(self, context: RiskContext) -> None:
        if self._loss_limit_day != context.day:
            return
        limit = self._config.daily_loss_limit
        threshold = _loss_threshold(context.day_start_equity, limit)
        raise RiskRejection(
            Rule.DAILY_LOSS_LIMIT,
            f"daily loss limit {limit} reached on {context.day} (equity now "
            f"{_text(context.account.equity)}, day start {_text(context.day_start_equity)}, "
            f"threshold {_text(threshold)}): no new entries until the next UTC day",
            equity=context.account.equity,
            day_start_equity=context.day_start_equity,
            daily_loss_limit=limit,
            threshold=threshold,
            day=context.day,
        )

    def _check_proposal(self, decision: TradeDecision) -> int:
        """Check the model's own numbers (confidence, leverage); return the leverage to use."""
        minimum = self._config.min_confidence
        if decision.confidence < minimum:
            raise RiskRejection(
                Rule.MIN_CONFIDENCE,
                f"confidence {decision.confidence} is below the minimum {minimum}",
                confidence=decision.confidence,
                min_confidence=minimum,
            )
        leverage = decision.leverage if decision.leverage is not None else DEFAULT_LEVERAGE
        if leverage > self._config.max_leverage:
            raise RiskRejection(
                Rule.MAX_LEVERAGE,
                f"leverage {leverage}x exceeds the maximum {self._config.max_leverage}x",
                leverage=leverage,
                max_leverage=self._config.max_leverage,
            )
        return leverage

    def _check_free_slot(self, symbol: str, account: Account) -> None:
        """A position is held or closed, never added to or flipped; and positions are capped."""
        position = account.position(symbol)
        if position is not None:
            raise RiskRejection(
                Rule.POSITION_ALREADY_OPEN,
                f"{symbol} already has an open position of {_text(position.quantity)}: "
                "hold it or close it first",
                position_quantity=position.quantity,
            )
        maximum = self._config.max_open_positions
        if len(account.positions) >= maximum:
            raise RiskRejection(
                Rule.MAX_OPEN_POSITIONS,
                f"{len(account.positions)} positions are open, the maximum is {maximum}",
                open_positions=len(account.positions),
                max_open_positions=maximum,
            )

    def _stop_loss(
        self, decision: TradeDecision, side: OrderSide, fill: Decimal, context: RiskContext
    ) -> Decimal | None:
        """The stop rounded away from the price, checked for presence, side and distance (from
        the worst fill, where the position's loss starts)."""
        if decision.stop_loss is None:
            if self._config.require_stop_loss:
                raise RiskRejection(
                    Rule.STOP_LOSS_REQUIRED,
                    f"{decision.action.value} on {decision.symbol} has no stop loss",
                )
            return None
        below = side is OrderSide.BUY
        stop = _protective_price(
            "stop_loss", decision.stop_loss, below, Rule.STOP_LOSS_WRONG_SIDE, context
        )
        distance = abs(fill - stop) / fill
        maximum = _decimal(self._config.max_stop_distance)
        if distance > maximum:
            raise RiskRejection(
                Rule.STOP_LOSS_TOO_FAR,
                f"stop loss {_text(stop)} is {_text(distance)} of the worst fill price "
                f"{_text(fill)} away, the maximum is {_text(maximum)}",
                stop_loss=stop,
                price=context.price,
                fill_price=fill,
                distance=distance,
                max_stop_distance=maximum,
            )
        return stop

    def _check_limits(self, size: _Size, account: Account) -> None:
        """Keep the position's margin and the account's total notional within their shares."""
        equity = account.equity
        share = _decimal(self._config.max_position_share)
        if size.margin > share * equity:
            raise RiskRejection(
                Rule.MAX_POSITION_SHARE,
                f"margin {_text(size.margin)} exceeds {_text(share)} of equity "
                f"{_text(equity)} ({_text(share * equity)})",
                margin=size.margin,
                equity=equity,
                max_position_share=share,
                limit=share * equity,
            )
        exposure = sum((p.notional for p in account.positions), Decimal(0)) + size.notional
        ceiling = _decimal(self._config.max_total_exposure)
        if exposure > ceiling * equity:
            raise RiskRejection(
                Rule.MAX_TOTAL_EXPOSURE,
                f"total notional {_text(exposure)} would exceed {_text(ceiling)} x equity "
                f"{_text(equity)} ({_text(ceiling * equity)})",
                total_notional=exposure,
                equity=equity,
                max_total_exposure=ceiling,
                limit=ceiling * equity,
            )


def _plan_close(decision: TradeDecision, context: RiskContext) -> OrderPlan:
    """Close the whole position, reduce-only; never blocked by halts, losses or stale data."""
    _check_market(decision, context)
    position = context.account.position(decision.symbol)
    if position is None:
        raise RiskRejection(
            Rule.NO_POSITION_TO_CLOSE,
            f"close proposed for {decision.symbol}, which has no open position",
            symbol=decision.symbol,
        )
    quantity = abs(position.quantity)
    notional = quantity * context.price
    return OrderPlan(
        symbol=decision.symbol,
        action=Action.CLOSE,
        side=OrderSide.SELL if position.is_long else OrderSide.BUY,
        quantity=quantity,
        leverage=position.leverage,
        reference_price=context.price,
        notional=notional,
        margin=Decimal(0),
        estimated_fee=notional * context.taker_fee,
        stop_loss=None,
        take_profit=None,
        reduce_only=True,
    )


def _check_market(decision: TradeDecision, context: RiskContext) -> None:
    """Refuse a symbol outside the configuration; catch a caller that paired the decision with
    another symbol's filters or a price that is not positive (a bug, hence `ValueError`)."""
    if decision.symbol not in context.allowed_symbols:
        raise RiskRejection(
            Rule.SYMBOL_NOT_ALLOWED,
            f"{decision.symbol} is not among the configured symbols "
            f"{sorted(context.allowed_symbols)}",
            symbol=decision.symbol,
        )
    if context.filters.symbol != decision.symbol:
        raise ValueError(
            f"filters are for {context.filters.symbol}, the decision for {decision.symbol}"
        )
    if context.price <= 0:
        raise ValueError(f"reference price must be positive, got {context.price}")


def _take_profit(decision: TradeDecision, side: OrderSide, context: RiskContext) -> Decimal | None:
    """The optional take profit, rounded away from the price and checked for its side."""
    if decision.take_profit is None:
        return None
    below = side is OrderSide.SELL
    return _protective_price(
        "take_profit", decision.take_profit, below, Rule.TAKE_PROFIT_WRONG_SIDE, context
    )


def _protective_price(
    name: str, proposed: float, below: bool, wrong_side: Rule, context: RiskContext
) -> Decimal:
    """Check a stop/take-profit is strictly on its side of the price; round it away from it.

    Rounding away (down when below the price, up when above) keeps it on that side; the side is
    checked before rounding so that a price on or across the line cannot be rounded into place.
    """
    raw = _decimal(proposed)
    if (raw >= context.price) if below else (raw <= context.price):
        where = "below" if below else "above"
        raise RiskRejection(
            wrong_side,
            f"{name} {_text(raw)} must be {where} the price {_text(context.price)}",
            **{name: raw, "price": context.price},
        )
    rounded = context.filters.round_price(raw, ROUND_DOWN if below else ROUND_UP)
    filters = context.filters
    if not filters.min_price <= rounded <= filters.max_price:
        raise RiskRejection(
            Rule.PRICE_FILTER,
            f"{name} {_text(rounded)} is outside the price filter "
            f"[{_text(filters.min_price)}, {_text(filters.max_price)}]",
            field=name,
            **{name: rounded, "min_price": filters.min_price, "max_price": filters.max_price},
        )
    return rounded


def _worst_fill(side: OrderSide, context: RiskContext) -> Decimal:
    """The worst price a market entry on `side` may fill at: the reference price moved against
    it by the slippage allowance, rounded outward to the tick, as the paper exchange fills."""
    if side is OrderSide.BUY:
        return context.filters.round_price(context.price * (1 + context.slippage), ROUND_UP)
    return context.filters.round_price(context.price * (1 - context.slippage), ROUND_DOWN)


def _loss_threshold(day_start_equity: Decimal, limit: float) -> Decimal:
    """The equity at which the day's loss reaches `limit`."""
    return day_start_equity * (1 - _decimal(limit))


def _size(decision: TradeDecision, leverage: int, fill: Decimal, context: RiskContext) -> _Size:
    """Round the proposed size down to the market step and check it against the lot filters;
    notional, margin and fee at the worst `fill` price."""
    filters = context.filters
    requested = _requested_quantity(decision, fill)
    quantity = filters.round_quantity(requested)
    if quantity <= 0:
        raise RiskRejection(
            Rule.QUANTITY_BELOW_STEP,
            f"quantity {_text(requested)} rounds down to zero at step "
            f"{_text(filters.market_step_size)}",
            requested_quantity=requested,
            step_size=filters.market_step_size,
        )
    _check_lot(quantity, filters)
    quoted = quantity * context.price
    if quoted < filters.min_notional:
        raise RiskRejection(
            Rule.MIN_NOTIONAL,
            f"notional {_text(quoted)} is below the minimum {_text(filters.min_notional)}",
            quantity=quantity,
            price=context.price,
            notional=quoted,
            min_notional=filters.min_notional,
        )
    notional = quantity * fill
    return _Size(quantity, notional, notional / leverage, notional * context.taker_fee)


def _requested_quantity(decision: TradeDecision, price: Decimal) -> Decimal:
    """The model's quantity if it gave one, otherwise its USDT notional at `price`."""
    if decision.quantity is not None:
        return _decimal(decision.quantity)
    assert decision.notional_usd is not None  # the decision schema requires one of the two
    return _decimal(decision.notional_usd) / price


def _check_lot(quantity: Decimal, filters: SymbolFilters) -> None:
    if quantity < filters.market_min_qty:
        raise RiskRejection(
            Rule.MIN_QUANTITY,
            f"quantity {_text(quantity)} is below the minimum {_text(filters.market_min_qty)}",
            quantity=quantity,
            min_quantity=filters.market_min_qty,
        )
    if quantity > filters.market_max_qty:
        raise RiskRejection(
            Rule.MAX_QUANTITY,
            f"quantity {_text(quantity)} is above the maximum {_text(filters.market_max_qty)}",
            quantity=quantity,
            max_quantity=filters.market_max_qty,
        )


def _check_margin(size: _Size, account: Account) -> None:
    """The initial margin plus the entry fee must fit in the available balance."""
    needed = size.margin + size.fee
    if needed > account.available_balance:
        raise RiskRejection(
            Rule.INSUFFICIENT_MARGIN,
            f"margin {_text(size.margin)} plus fee {_text(size.fee)} = {_text(needed)} exceeds "
            f"the available balance {_text(account.available_balance)}",
            margin=size.margin,
            fee=size.fee,
            required=needed,
            available_balance=account.available_balance,
        )


def _decimal(value: float) -> Decimal:
    """The float's shortest decimal spelling (0.1 -> 0.1), not its binary expansion."""
    return Decimal(str(value))


_PLAIN_DIGITS = 20
"""Beyond 10^±20 a number is shown with an exponent (1E+308), not as 309 digits."""


def _text(value: object) -> str:
    """Numbers as exact text, without exponents unless astronomical, for messages and details."""
    if isinstance(value, Decimal):
        if abs(value.adjusted()) > _PLAIN_DIGITS:
            return str(value.normalize())
        return format(value, "f")
    return str(value)
