"""The execute step: risk gate first, then the order manager; every outcome is a status.

Before the decisions are saved, `enforce` applies what the risk rules impose whatever the model
said: with `daily_loss_action: flatten`, once the day's loss reaches the limit every symbol with
a position gets a close, so the day's drawdown stops at the limit instead of running on in the
positions already open (close-only would only refuse new entries).
"""

from __future__ import annotations

import logging
from datetime import date, datetime, time
from decimal import Decimal

from alphatransformer.agent.decision import Action, TradeDecision, close
from alphatransformer.database.models import DecisionStatus
from alphatransformer.database.repositories import SnapshotRepository
from alphatransformer.market.market_data import MarketData
from alphatransformer.trading.errors import ExchangeError
from alphatransformer.trading.exchange import Exchange
from alphatransformer.trading.execution import DecisionOutcome
from alphatransformer.trading.order_manager import OrderManager
from alphatransformer.trading.risk_gate import RiskContext, RiskGate, RiskRejection, Rule
from alphatransformer.utils.clock import Clock, to_datetime

logger = logging.getLogger(__name__)


class TradeExecutor:
    """Builds the risk context from live state, asks the gate, and hands approved plans on."""

    def __init__(
        self,
        *,
        symbols: tuple[str, ...],
        gate: RiskGate,
        orders: OrderManager,
        exchange: Exchange,
        market: MarketData,
        snapshots: SnapshotRepository,
        clock: Clock,
        max_staleness_seconds: float,
        taker_fee: Decimal,
    ) -> None:
        self._symbols = symbols
        self._gate = gate
        self._orders = orders
        self._exchange = exchange
        self._market = market
        self._snapshots = snapshots
        self._clock = clock
        self._max_age_ms = int(max_staleness_seconds * 1000)
        self._taker_fee = taker_fee
        self._day_open: tuple[date, Decimal] | None = None

    async def enforce(self, decisions: list[TradeDecision]) -> list[TradeDecision]:
        """The decisions, or under `flatten` with the day's loss at the limit, a close for every
        held symbol in place of what the model said (see the module docstring)."""
        if not self._gate.flattens_at_daily_loss:
            return decisions
        now = to_datetime(self._clock.now_ms())
        account = await self._exchange.account()
        day_open = await self._day_open_equity(now)
        start = account.equity if day_open is None else day_open
        if not self._gate.daily_loss_reached(account, start, now.date()):
            return decisions
        reason = (
            f"daily loss limit reached (equity {account.equity}, day start {start}): "
            "flattening every position"
        )
        return _flattened(decisions, {p.symbol for p in account.positions}, reason)

    async def execute(self, decision: TradeDecision, decision_id: int) -> DecisionOutcome:
        try:
            context = await self._context(decision)
            plan = self._gate.evaluate(decision, context)
        except RiskRejection as rejection:
            return DecisionOutcome(
                DecisionStatus.REJECTED, reason=_describe(rejection), rule=rejection.rule.value
            )
        try:
            if plan.action.opens:
                await self._orders.open_position(plan, decision_id)
            else:
                await self._orders.close_position(plan, decision_id)
        except ExchangeError as error:
            logger.warning("decision %s: %s", decision_id, error)
            return DecisionOutcome(DecisionStatus.FAILED, reason=f"{type(error).__name__}: {error}")
        return DecisionOutcome(DecisionStatus.EXECUTED)

    async def _context(self, decision: TradeDecision) -> RiskContext:
        if decision.symbol not in self._symbols:
            raise RiskRejection(
                Rule.SYMBOL_NOT_ALLOWED,
                f"{decision.symbol} is not among the traded symbols",
                symbol=decision.symbol,
            )
        now = to_datetime(self._clock.now_ms())
        account = await self._exchange.account()
        day_open = await self._day_open_equity(now)
        return RiskContext(
            account=account,
            filters=await self._exchange.symbol_filters(decision.symbol),
            price=Decimal(repr(self._market.latest_price(decision.symbol))),
            data_fresh=self._market.is_fresh(decision.symbol, self._max_age_ms),
            day_start_equity=account.equity if day_open is None else day_open,
            day=now.date(),
            allowed_symbols=self._symbols,
            taker_fee=self._taker_fee,
            slippage=self._exchange.slippage,
        )

    async def _day_open_equity(self, now: datetime) -> Decimal | None:
        """The day's first recorded equity; read once a day, since later snapshots can not
        change which one came first."""
        if self._day_open is not None and self._day_open[0] == now.date():
            return self._day_open[1]
        equity = await self._snapshots.first_equity_since(_midnight(now))
        if equity is not None:
            self._day_open = (now.date(), equity)
        return equity


def _flattened(decisions: list[TradeDecision], held: set[str], reason: str) -> list[TradeDecision]:
    """A close for every held symbol, in place of its decision (the model's action is kept in
    the reason), then for held symbols no decision named; other decisions stay as they are."""
    flattened = [
        close(d.symbol, f"{reason}; the model said {d.action.value}")
        if d.symbol in held and d.action is not Action.CLOSE
        else d
        for d in decisions
    ]
    named = {d.symbol for d in decisions}
    return flattened + [close(symbol, reason) for symbol in sorted(held - named)]


def _midnight(moment: datetime) -> datetime:
    return datetime.combine(moment.date(), time(0), tzinfo=moment.tzinfo)


def _describe(rejection: RiskRejection) -> str:
    numbers = ", ".join(f"{key}={value}" for key, value in rejection.details.items())
    return f"{rejection.message} ({numbers})" if numbers else rejection.message
