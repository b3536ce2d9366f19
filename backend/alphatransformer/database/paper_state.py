"""The paper exchange's account in the database: the `PaperStateStore` of live paper runs."""

from __future__ import annotations

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from alphatransformer.database.models import LIVE_RUN, PaperAccount, PaperIncome, PaperOrder
from alphatransformer.trading.models import OrderSide, OrderStatus, OrderType, OrderUpdate
from alphatransformer.trading.paper.ledger import IncomeRecord, IncomeType
from alphatransformer.trading.paper.state import (
    PaperState,
    PaperStateError,
    decode_core,
    encode_core,
)


class PaperAccountRepository:
    """One run's paper account: each save is one transaction, so a crash keeps the last whole
    save and nothing of a partial one."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession], run_id: str = LIVE_RUN) -> None:
        self._sessions = sessions
        self.run_id = run_id

    async def load(self) -> PaperState | None:
        async with self._sessions() as session:
            account = await session.get(PaperAccount, self.run_id)
            if account is None:
                return None
            orders = await session.scalars(
                select(PaperOrder)
                .where(PaperOrder.run_id == self.run_id)
                .order_by(PaperOrder.order_id)
            )
            income = await session.scalars(
                select(PaperIncome)
                .where(PaperIncome.run_id == self.run_id)
                .order_by(PaperIncome.tran_id)
            )
            try:
                return PaperState(
                    decode_core(account.state),
                    [_order(row) for row in orders],
                    _ledger(list(income)),
                )
            except ValueError as error:
                raise PaperStateError(
                    f"the paper account of run {self.run_id!r} cannot be resumed: {error}. "
                    "Set trading.paper.reset_on_start to true to discard it and start a new one."
                ) from error

    async def save(self, state: PaperState) -> None:
        """Idempotent: saving a change again (after a save whose outcome was unknown) writes the
        same rows."""
        rows = [
            PaperAccount(run_id=self.run_id, state=encode_core(state.core)),
            *(_order_row(self.run_id, order) for order in state.orders),
            *(_income_row(self.run_id, record) for record in state.income),
        ]
        async with self._sessions.begin() as session:
            for row in rows:
                await session.merge(row)

    async def clear(self) -> None:
        async with self._sessions.begin() as session:
            for table in (PaperAccount, PaperOrder, PaperIncome):
                await session.execute(delete(table).where(table.run_id == self.run_id))


def _order_row(run_id: str, order: OrderUpdate) -> PaperOrder:
    return PaperOrder(
        run_id=run_id,
        client_order_id=order.client_order_id,
        order_id=int(order.exchange_order_id),
        symbol=order.symbol,
        side=order.side.value,
        order_type=order.type.value,
        status=order.status.value,
        quantity=order.quantity,
        filled_quantity=order.filled_quantity,
        avg_price=order.avg_price,
        price=order.price,
        stop_price=order.stop_price,
        reduce_only=order.reduce_only,
        close_position=order.close_position,
        fee=order.fee,
        fee_asset=order.fee_asset,
        realized_pnl=order.realized_pnl,
        update_time_ms=order.update_time_ms,
    )


def _order(row: PaperOrder) -> OrderUpdate:
    return OrderUpdate(
        symbol=row.symbol,
        client_order_id=row.client_order_id,
        exchange_order_id=str(row.order_id),
        side=OrderSide(row.side),
        type=OrderType(row.order_type),
        status=OrderStatus(row.status),
        quantity=row.quantity,
        filled_quantity=row.filled_quantity,
        avg_price=row.avg_price,
        price=row.price,
        stop_price=row.stop_price,
        reduce_only=row.reduce_only,
        close_position=row.close_position,
        fee=row.fee,
        fee_asset=row.fee_asset,
        realized_pnl=row.realized_pnl,
        update_time_ms=row.update_time_ms,
    )


def _income_row(run_id: str, record: IncomeRecord) -> PaperIncome:
    return PaperIncome(
        run_id=run_id,
        tran_id=record.tran_id,
        symbol=record.symbol,
        income_type=record.income_type.value,
        income=record.income,
        asset=record.asset,
        info=record.info,
        time_ms=record.time_ms,
    )


def _ledger(rows: list[PaperIncome]) -> list[IncomeRecord]:
    """The income ledger, which numbers its entries 1, 2, 3... and must find them so."""
    missing = next((n for n, row in enumerate(rows, start=1) if row.tran_id != n), None)
    if missing is not None:
        raise ValueError(f"the income ledger skips entry {missing}")
    return [_income(row) for row in rows]


def _income(row: PaperIncome) -> IncomeRecord:
    return IncomeRecord(
        tran_id=row.tran_id,
        symbol=row.symbol,
        income_type=IncomeType(row.income_type),
        income=row.income,
        asset=row.asset,
        info=row.info,
        time_ms=row.time_ms,
    )
