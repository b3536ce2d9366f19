"""The execute step: risk gate first, then the order manager; every outcome is a status."""

from __future__ import annotations

import logging
from datetime import date, datetime, time
from decimal import Decimal

from alphatransformer.agent.decision import TradeDecision
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


def _midnight(moment: datetime) -> datetime:
    return datetime.combine(moment.date(), time(0), tzinfo=moment.tzinfo)


def _describe(rejection: RiskRejection) -> str:
    numbers = ", ".join(f"{key}={value}" for key, value in rejection.details.items())
    return f"{rejection.message} ({numbers})" if numbers else rejection.message
