"""Startup reconciliation against the paper exchange: every loose end a crash can leave is
settled from the exchange's own account, and nothing is ever sent twice."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from trading.binance.venue import binance_venue
from trading.fake_market import DAY_START_MS, HOUR_MS, FakeMarket

from alphatransformer.config.schema import PaperExchangeConfig
from alphatransformer.database.engine import create_engine, session_factory
from alphatransformer.database.migrate import upgrade_database
from alphatransformer.database.models import Decision, DecisionCycle, TradeExecution
from alphatransformer.database.repositories import DecisionRepository, ExecutionRepository
from alphatransformer.trading.models import OrderRequest, OrderSide, OrderType
from alphatransformer.trading.order_manager import SUBMITTING, OrderManager
from alphatransformer.trading.paper.exchange import PaperExchange
from alphatransformer.trading.reconciliation import NEVER_PLACED, Reconciler
from alphatransformer.utils.clock import ManualClock

D = Decimal
NOW = datetime(2025, 1, 15, 1, tzinfo=UTC)


@dataclass
class Desk:
    exchange: PaperExchange
    market: FakeMarket
    orders: OrderManager
    decisions: DecisionRepository
    executions: ExecutionRepository
    reconciler: Reconciler
    sessions: async_sessionmaker[AsyncSession]

    async def decision(
        self, status: str = "pending", stop_loss: str | None = "49000", action: str = "open_long"
    ) -> int:
        count = await self.decisions.count()
        row = Decision(
            created_at=NOW,
            updated_at=NOW,
            symbol="BTCUSDT",
            action=action,
            status=status,
            confidence=0.9,
            model="test",
            stop_loss=None if stop_loss is None else D(stop_loss),
        )
        cycle = DecisionCycle(id=f"c{count}", started_at=NOW, model="test")
        [decision_id] = await self.decisions.add_cycle(cycle, [row])
        return decision_id

    async def row(self, client_order_id: str, decision_id: int, purpose: str = "entry") -> None:
        await self.executions.add(
            TradeExecution(
                decision_id=decision_id,
                created_at=NOW,
                updated_at=NOW,
                symbol="BTCUSDT",
                side="BUY",
                order_type="MARKET",
                purpose=purpose,
                client_order_id=client_order_id,
                status=SUBMITTING,
                quantity=D("0.010"),
            )
        )

    async def buy_directly(self, client_order_id: str) -> None:
        """An order the exchange took while the process died before hearing back."""
        await self.exchange.place_order(
            OrderRequest("BTCUSDT", OrderSide.BUY, OrderType.MARKET, client_order_id, D("0.010"))
        )

    async def rows(self) -> dict[str, TradeExecution]:
        async with self.sessions() as session:
            found = (await session.scalars(select(TradeExecution))).all()
        return {row.client_order_id: row for row in found}


@pytest.fixture
async def desk(tmp_path: Path) -> AsyncIterator[Desk]:
    clock = ManualClock(DAY_START_MS + HOUR_MS)
    market = FakeMarket(clock)
    market.set_price("BTCUSDT", 50_000.0)
    exchange = PaperExchange(PaperExchangeConfig(slippage_bps=D(0)), market, clock)
    await exchange.start()
    database = create_engine(f"sqlite+aiosqlite:///{tmp_path}/recon.db")
    await upgrade_database(database)
    sessions = session_factory(database)
    decisions, executions = DecisionRepository(sessions), ExecutionRepository(sessions)
    orders = OrderManager(exchange, executions, clock)
    reconciler = Reconciler(exchange, orders, executions, decisions, clock)
    yield Desk(exchange, market, orders, decisions, executions, reconciler, sessions)
    await database.dispose()


async def test_an_order_accepted_before_the_crash_is_settled_from_the_exchange(desk: Desk) -> None:
    decision_id = await desk.decision()
    client_id = f"at-{decision_id}-en"
    await desk.row(client_id, decision_id)
    await desk.buy_directly(client_id)

    report = await desk.reconciler.run()

    row = (await desk.rows())[client_id]
    assert (row.status, row.filled_quantity, row.avg_price) == ("FILLED", D("0.010"), D("50000"))
    assert report.settled_orders == [client_id]
    assert report.settled_decisions == [decision_id]
    decision = await desk.decisions.get(decision_id)
    assert decision is not None
    assert decision.status == "executed"


async def test_an_order_that_never_reached_the_exchange_is_closed_not_resent(desk: Desk) -> None:
    decision_id = await desk.decision()
    await desk.row(f"at-{decision_id}-en", decision_id)

    report = await desk.reconciler.run()

    assert (await desk.rows())[f"at-{decision_id}-en"].status == NEVER_PLACED
    assert report.never_placed == [f"at-{decision_id}-en"]
    assert report.interrupted_decisions == [decision_id]
    assert (await desk.exchange.account()).positions == ()


async def test_a_pending_decision_with_no_orders_is_failed_as_interrupted(desk: Desk) -> None:
    decision_id = await desk.decision()
    report = await desk.reconciler.run()
    decision = await desk.decisions.get(decision_id)
    assert decision is not None
    assert decision.status == "failed"
    assert "interrupted" in (decision.status_reason or "")
    assert report.interrupted_decisions == [decision_id]


async def test_a_position_that_lost_its_stop_gets_it_back(desk: Desk) -> None:
    decision_id = await desk.decision(status="executed")
    await desk.row(f"at-{decision_id}-en", decision_id)
    await desk.buy_directly(f"at-{decision_id}-en")

    report = await desk.reconciler.run()

    restored = f"at-{decision_id}-sl"
    assert report.restored_stops == [restored]
    [stop] = await desk.exchange.open_orders("BTCUSDT")
    assert (stop.client_order_id, stop.type, stop.stop_price) == (
        restored,
        OrderType.STOP_MARKET,
        D("49000"),
    )
    assert (await desk.rows())[restored].status == "NEW"
    assert (await desk.reconciler.run()).restored_stops == []  # already protected: nothing to do


async def test_a_position_already_past_its_stop_is_closed(desk: Desk) -> None:
    decision_id = await desk.decision(status="executed")
    await desk.buy_directly("manual-entry")
    desk.market.set_price("BTCUSDT", 48_500.0)

    report = await desk.reconciler.run()

    assert report.closed_positions == ["BTCUSDT"]
    assert (await desk.exchange.account()).positions == ()
    assert (await desk.rows())[f"at-{decision_id}-cl"].status == "FILLED"


async def test_a_position_no_decision_explains_is_reported_and_left_alone(desk: Desk) -> None:
    await desk.buy_directly("someone-else")
    report = await desk.reconciler.run()
    assert report.unexplained_positions == ["BTCUSDT"]
    assert len((await desk.exchange.account()).positions) == 1
    assert "positions with no decision: BTCUSDT" in report.summary


async def test_a_stop_left_for_a_closed_position_is_cancelled(tmp_path: Path) -> None:
    # Binance keeps a close-position stop after the position is gone (the paper venue expires
    # it), so this runs against the fake Binance.
    async with binance_venue() as venue:
        exchange = venue.exchange
        entry = OrderRequest("BTCUSDT", OrderSide.BUY, OrderType.MARKET, "entry", D("0.010"))
        await exchange.place_order(entry)
        await exchange.place_order(
            OrderRequest(
                "BTCUSDT",
                OrderSide.SELL,
                OrderType.STOP_MARKET,
                "stop",
                stop_price=D("45000"),
                close_position=True,
            )
        )
        await exchange.place_order(
            OrderRequest(
                "BTCUSDT", OrderSide.SELL, OrderType.MARKET, "flat", D("0.010"), reduce_only=True
            )
        )
        assert [o.client_order_id for o in await exchange.open_orders("BTCUSDT")] == ["stop"]
        database = create_engine(f"sqlite+aiosqlite:///{tmp_path}/orphans.db")
        await upgrade_database(database)
        sessions = session_factory(database)
        executions = ExecutionRepository(sessions)
        reconciler = Reconciler(
            exchange,
            OrderManager(exchange, executions, venue.server_clock),
            executions,
            DecisionRepository(sessions),
            venue.server_clock,
        )

        report = await reconciler.run()

        assert report.cancelled_orphans == ["stop"]
        assert await exchange.open_orders("BTCUSDT") == []
        await database.dispose()
