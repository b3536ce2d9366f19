"""Turns approved plans into exchange orders, with a database row that mirrors each order.

Every order's row is written before the order is sent, under a client order id derived from the
decision, so a retry can never double an order and a restart can find out what happened. A
timeout or 5xx is an unknown outcome: the order is queried by its client id, never re-sent.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from decimal import Decimal

from alphatransformer.database.models import ExecutionPurpose, TradeExecution
from alphatransformer.database.repositories import ExecutionRepository
from alphatransformer.trading.errors import AmbiguousOutcome, DefinitiveRejection, ExchangeError
from alphatransformer.trading.exchange import Exchange
from alphatransformer.trading.models import OrderRequest, OrderSide, OrderType, OrderUpdate
from alphatransformer.trading.risk_gate import OrderPlan
from alphatransformer.utils.clock import Clock, to_datetime

logger = logging.getLogger(__name__)

SUBMITTING = "SUBMITTING"
"""Row status between writing the row and hearing from the exchange."""
UNKNOWN = "UNKNOWN"
"""Row status when neither the answer nor a query told the order's fate; reconciliation decides."""

_SUFFIX = {
    ExecutionPurpose.ENTRY: "en",
    ExecutionPurpose.STOP_LOSS: "sl",
    ExecutionPurpose.TAKE_PROFIT: "tp",
    ExecutionPurpose.CLOSE: "cl",
}


def client_order_id(decision_id: int, purpose: ExecutionPurpose, attempt: int = 0) -> str:
    """Deterministic id for the order a decision places for `purpose`; Binance allows 36 chars.

    `attempt` numbers later orders for the same purpose (a stop-loss restored after a restart),
    so every order keeps an id of its own.
    """
    suffix = _SUFFIX[purpose] if attempt == 0 else f"{_SUFFIX[purpose]}{attempt}"
    return f"at-{decision_id}-{suffix}"


class OrderOutcomeUnknown(ExchangeError):
    """The order may or may not exist; its row is `UNKNOWN` until reconciliation settles it."""


@dataclass(frozen=True, slots=True)
class _Submission:
    request: OrderRequest
    purpose: ExecutionPurpose
    decision_id: int


class OrderManager:
    def __init__(self, exchange: Exchange, executions: ExecutionRepository, clock: Clock) -> None:
        self._exchange = exchange
        self._executions = executions
        self._clock = clock
        self._updates: asyncio.Queue[OrderUpdate] = asyncio.Queue()
        self._consumer: asyncio.Task[None] | None = None
        self._fill_listeners: list[Callable[[], Awaitable[None]]] = []

    def add_fill_listener(self, listener: Callable[[], Awaitable[None]]) -> None:
        """Await `listener` after every fill the exchange reports (a stop hit, a take-profit),
        so the account snapshot and the streams follow fills, not just cycles."""
        self._fill_listeners.append(listener)

    async def start(self) -> None:
        """Follow order updates (fills of resting stop-loss and take-profit orders included)."""
        self._exchange.add_order_listener(self._updates.put_nowait)
        self._consumer = asyncio.create_task(self._consume(), name="order-updates")

    async def stop(self) -> None:
        if self._consumer is None:
            return
        await self._updates.join()
        self._consumer.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._consumer
        self._consumer = None

    async def open_position(self, plan: OrderPlan, decision_id: int) -> OrderUpdate:
        """Market entry, then close-position stop-loss and take-profit orders.

        An entry whose stop-loss the exchange refuses is closed at once: a position is never left
        without the protection the risk gate approved it with.
        """
        await self._exchange.set_leverage(plan.symbol, plan.leverage)
        entry = await self._submit(
            _Submission(
                OrderRequest(
                    symbol=plan.symbol,
                    side=plan.side,
                    type=OrderType.MARKET,
                    client_order_id=client_order_id(decision_id, ExecutionPurpose.ENTRY),
                    quantity=plan.quantity,
                ),
                ExecutionPurpose.ENTRY,
                decision_id,
            )
        )
        try:
            await self._protect(plan, decision_id)
        except DefinitiveRejection as rejection:
            await self.close(plan.symbol, plan.side.opposite, entry.filled_quantity, decision_id)
            raise DefinitiveRejection(
                f"stop-loss refused ({rejection}); the entry was closed again", code=rejection.code
            ) from rejection
        return entry

    async def close_position(self, plan: OrderPlan, decision_id: int) -> OrderUpdate:
        """Cancel the position's resting protective orders, then a reduce-only market order."""
        return await self.close(plan.symbol, plan.side, plan.quantity, decision_id)

    async def restore_stop(
        self, symbol: str, exit_side: OrderSide, stop_price: Decimal, decision_id: int, attempt: int
    ) -> OrderUpdate:
        """Place a close-position stop again for a position that lost its stop-loss."""
        request = OrderRequest(
            symbol=symbol,
            side=exit_side,
            type=OrderType.STOP_MARKET,
            client_order_id=client_order_id(decision_id, ExecutionPurpose.STOP_LOSS, attempt),
            stop_price=stop_price,
            close_position=True,
        )
        return await self._submit(_Submission(request, ExecutionPurpose.STOP_LOSS, decision_id))

    async def _protect(self, plan: OrderPlan, decision_id: int) -> None:
        exit_side = plan.side.opposite
        protections = [
            (ExecutionPurpose.STOP_LOSS, OrderType.STOP_MARKET, plan.stop_loss),
            (ExecutionPurpose.TAKE_PROFIT, OrderType.TAKE_PROFIT_MARKET, plan.take_profit),
        ]
        for purpose, order_type, trigger in protections:
            if trigger is None:
                continue
            request = OrderRequest(
                symbol=plan.symbol,
                side=exit_side,
                type=order_type,
                client_order_id=client_order_id(decision_id, purpose),
                stop_price=trigger,
                close_position=True,
            )
            await self._submit(_Submission(request, purpose, decision_id))

    async def close(
        self, symbol: str, side: OrderSide, quantity: Decimal, decision_id: int
    ) -> OrderUpdate:
        """Cancel the symbol's protective orders, then close `quantity` with a reduce-only market
        order on `side` (the side opposite the position)."""
        await self._cancel_protection(symbol)
        request = OrderRequest(
            symbol=symbol,
            side=side,
            type=OrderType.MARKET,
            client_order_id=client_order_id(decision_id, ExecutionPurpose.CLOSE),
            quantity=quantity,
            reduce_only=True,
        )
        return await self._submit(_Submission(request, ExecutionPurpose.CLOSE, decision_id))

    async def _cancel_protection(self, symbol: str) -> None:
        for order in await self._exchange.open_orders(symbol):
            if order.type.is_conditional and (order.close_position or order.reduce_only):
                update = await self._exchange.cancel_order(symbol, order.client_order_id)
                await self.record(update)

    async def _submit(self, submission: _Submission) -> OrderUpdate:
        """Write the row, send the order, and mirror the answer (or the query) into the row."""
        request = submission.request
        await self._executions.add(self._new_row(submission))
        try:
            update = await self._exchange.place_order(request)
        except DefinitiveRejection as rejection:
            await self.mark(request.client_order_id, "REJECTED", str(rejection))
            raise
        except AmbiguousOutcome as unknown:
            update = await self._settle_ambiguous(request, unknown)
        await self.record(update)
        return update

    async def _settle_ambiguous(
        self, request: OrderRequest, cause: AmbiguousOutcome
    ) -> OrderUpdate:
        logger.warning("order %s: outcome unknown (%s); querying", request.client_order_id, cause)
        try:
            found = await self._exchange.query_order(request.symbol, request.client_order_id)
        except ExchangeError as error:
            found = None
            cause = AmbiguousOutcome(f"{cause}; query failed too: {error}")
        if found is not None:
            return found
        await self.mark(request.client_order_id, UNKNOWN, str(cause))
        raise OrderOutcomeUnknown(f"order {request.client_order_id}: {cause}") from cause

    async def _consume(self) -> None:
        while True:
            update = await self._updates.get()
            try:
                await self.record(update)
                if update.filled_quantity > 0:
                    for listener in self._fill_listeners:
                        await listener()
            except Exception:
                logger.exception("could not record order update %s", update.client_order_id)
            finally:
                self._updates.task_done()

    async def record(self, update: OrderUpdate) -> None:
        """Mirror what the exchange says about an order into its row."""
        found = await self._executions.update_by_client_id(
            update.client_order_id,
            exchange_order_id=update.exchange_order_id,
            status=update.status.value,
            filled_quantity=update.filled_quantity,
            avg_price=update.avg_price,
            fee=update.fee,
            fee_asset=update.fee_asset,
            realized_pnl=update.realized_pnl,
            updated_at=to_datetime(update.update_time_ms),
        )
        if not found:
            logger.warning("order update for %s, which no row mirrors", update.client_order_id)

    async def mark(self, client_id: str, status: str, error: str) -> None:
        """Settle a row with a status the exchange did not report (rejected, unknown, unsent)."""
        await self._executions.update_by_client_id(
            client_id, status=status, error=error, updated_at=to_datetime(self._clock.now_ms())
        )

    def _new_row(self, submission: _Submission) -> TradeExecution:
        request = submission.request
        now = to_datetime(self._clock.now_ms())
        return TradeExecution(
            decision_id=submission.decision_id,
            created_at=now,
            updated_at=now,
            symbol=request.symbol,
            side=request.side.value,
            order_type=request.type.value,
            purpose=submission.purpose.value,
            client_order_id=request.client_order_id,
            status=SUBMITTING,
            quantity=request.quantity if request.quantity is not None else Decimal(0),
            price=request.price,
            stop_price=request.stop_price,
            reduce_only=request.reduce_only or request.close_position,
        )
