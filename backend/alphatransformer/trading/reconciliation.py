"""Reconciliation: before the agent may trade, the database and the exchange agree. It runs at
start and again whenever the exchange may have lost updates (a stream that reconnected), never
during a decision cycle (the engine sees to that, so a `pending` decision here is a dead one).

A crash, a kill, a lost answer or a lost event can leave four kinds of loose ends, each settled
here from the exchange's own account, never by re-sending anything:
1. order rows whose fate the process never heard (`SUBMITTING`, `UNKNOWN`, resting orders): each
   is queried by its client order id and mirrored; an order the exchange never saw is closed;
2. decisions still `pending`: settled from the orders they placed (`executed` when the entry
   filled), or `failed` as interrupted when they placed none (old decisions are never replayed);
3. open positions without a stop-loss: the stop of the decision that opened them is placed again,
   or, when the price is already past it, the position is closed at market;
4. protective orders left resting for a position that is gone: cancelled, so they can not open
   a new position later (Binance keeps a close-position stop after the position closed).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from decimal import Decimal

from alphatransformer.database.models import Decision, DecisionStatus, ExecutionPurpose
from alphatransformer.database.repositories import DecisionRepository, ExecutionRepository
from alphatransformer.trading.exchange import Exchange
from alphatransformer.trading.models import OrderSide, OrderStatus, OrderType, Position
from alphatransformer.trading.order_manager import OrderManager
from alphatransformer.utils.clock import Clock, to_datetime

logger = logging.getLogger(__name__)

NEVER_PLACED = "NOT_PLACED"
"""Row status for an order the exchange has no trace of: it was never placed."""

FINAL_ROW_STATUSES = (*(s.value for s in OrderStatus if s.is_final), NEVER_PLACED)


@dataclass(slots=True)
class ReconciliationReport:
    settled_orders: list[str] = field(default_factory=list)
    never_placed: list[str] = field(default_factory=list)
    settled_decisions: list[int] = field(default_factory=list)
    interrupted_decisions: list[int] = field(default_factory=list)
    restored_stops: list[str] = field(default_factory=list)
    cancelled_orphans: list[str] = field(default_factory=list)
    closed_positions: list[str] = field(default_factory=list)
    unexplained_positions: list[str] = field(default_factory=list)

    @property
    def summary(self) -> str:
        parts = [
            f"{len(self.settled_orders)} orders settled",
            f"{len(self.never_placed)} never placed",
            f"{len(self.settled_decisions)} pending decisions settled",
            f"{len(self.interrupted_decisions)} interrupted",
            f"{len(self.restored_stops)} stops restored",
            f"{len(self.cancelled_orphans)} orphan protective orders cancelled",
            f"{len(self.closed_positions)} unprotectable positions closed",
        ]
        if self.unexplained_positions:
            parts.append(f"positions with no decision: {', '.join(self.unexplained_positions)}")
        return "; ".join(parts)


class Reconciler:
    def __init__(
        self,
        exchange: Exchange,
        orders: OrderManager,
        executions: ExecutionRepository,
        decisions: DecisionRepository,
        clock: Clock,
    ) -> None:
        self._exchange = exchange
        self._orders = orders
        self._executions = executions
        self._decisions = decisions
        self._clock = clock

    async def run(self) -> ReconciliationReport:
        report = ReconciliationReport()
        await self._settle_orders(report)
        await self._settle_decisions(report)
        await self._protect_positions(report)
        return report

    async def _settle_orders(self, report: ReconciliationReport) -> None:
        for row in await self._executions.unsettled(FINAL_ROW_STATUSES):
            update = await self._exchange.query_order(row.symbol, row.client_order_id)
            if update is not None:
                await self._orders.record(update)
                report.settled_orders.append(row.client_order_id)
            else:
                reason = "the exchange has no such order: it was never placed"
                await self._orders.mark(row.client_order_id, NEVER_PLACED, reason)
                report.never_placed.append(row.client_order_id)

    async def _settle_decisions(self, report: ReconciliationReport) -> None:
        for decision in await self._decisions.pending():
            rows = await self._executions.for_decision(decision.id)
            filled = [r for r in rows if r.status == OrderStatus.FILLED.value]
            now = to_datetime(self._clock.now_ms())
            if filled:
                await self._decisions.set_status(decision.id, DecisionStatus.EXECUTED, at=now)
                report.settled_decisions.append(decision.id)
            else:
                reason = "interrupted before it executed (the process stopped); not replayed"
                await self._decisions.set_status(
                    decision.id, DecisionStatus.FAILED, at=now, reason=reason
                )
                report.interrupted_decisions.append(decision.id)

    async def _protect_positions(self, report: ReconciliationReport) -> None:
        account = await self._exchange.account()
        held = {position.symbol for position in account.positions}
        for order in await self._exchange.open_orders():
            protective = order.type.is_conditional and (order.close_position or order.reduce_only)
            if protective and order.symbol not in held:
                await self._orders.record(
                    await self._exchange.cancel_order(order.symbol, order.client_order_id)
                )
                report.cancelled_orphans.append(order.client_order_id)
        for position in account.positions:
            if await self._has_stop(position.symbol):
                continue
            decision = await self._decisions.latest_executed_open(position.symbol)
            if decision is None or decision.stop_loss is None:
                logger.warning("%s: open position with no decision to protect it", position.symbol)
                report.unexplained_positions.append(position.symbol)
                continue
            await self._protect(position, decision, decision.stop_loss, report)

    async def _has_stop(self, symbol: str) -> bool:
        return any(
            order.type is OrderType.STOP_MARKET and (order.close_position or order.reduce_only)
            for order in await self._exchange.open_orders(symbol)
        )

    async def _protect(
        self, position: Position, decision: Decision, stop: Decimal, report: ReconciliationReport
    ) -> None:
        exit_side = _exit_side(position)
        beyond = position.mark_price <= stop if position.is_long else position.mark_price >= stop
        if beyond:
            logger.warning("%s: price is past the stop %s; closing", position.symbol, stop)
            await self._orders.close(
                position.symbol, exit_side, abs(position.quantity), decision.id
            )
            report.closed_positions.append(position.symbol)
            return
        attempt = await self._stop_attempts(decision.id)
        update = await self._orders.restore_stop(
            position.symbol, exit_side, stop, decision.id, attempt
        )
        report.restored_stops.append(update.client_order_id)

    async def _stop_attempts(self, decision_id: int) -> int:
        rows = await self._executions.for_decision(decision_id)
        return sum(row.purpose == ExecutionPurpose.STOP_LOSS.value for row in rows)


def _exit_side(position: Position) -> OrderSide:
    return OrderSide.SELL if position.is_long else OrderSide.BUY
