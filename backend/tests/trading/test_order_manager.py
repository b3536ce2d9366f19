"""The order manager's promises: a row before every order, never a blind re-send after an
unknown outcome, and never a position left without its stop-loss."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from trading.fake_market import DAY_START_MS, HOUR_MS, FakeMarket

from alphatransformer.agent.decision import Action
from alphatransformer.config.schema import PaperExchangeConfig
from alphatransformer.database.engine import create_engine, session_factory
from alphatransformer.database.migrate import upgrade_database
from alphatransformer.database.models import Decision, DecisionCycle, TradeExecution
from alphatransformer.database.repositories import DecisionRepository, ExecutionRepository
from alphatransformer.trading.errors import AmbiguousOutcome, DefinitiveRejection
from alphatransformer.trading.models import OrderRequest, OrderSide, OrderUpdate
from alphatransformer.trading.order_manager import OrderManager, OrderOutcomeUnknown
from alphatransformer.trading.paper.exchange import PaperExchange
from alphatransformer.trading.risk_gate import OrderPlan
from alphatransformer.utils.clock import ManualClock, to_datetime

D = Decimal


class FlakyLink(PaperExchange):
    """The paper exchange behind a link that loses answers: the order may or may not arrive."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.mode = "ok"
        self.sent: list[str] = []

    async def place_order(self, request: OrderRequest) -> OrderUpdate:
        self.sent.append(request.client_order_id)
        if self.mode == "lost_answer":  # accepted by the venue, answer lost on the way back
            await super().place_order(request)
            raise AmbiguousOutcome("read timeout")
        if self.mode == "lost_request":  # never reached the venue
            raise AmbiguousOutcome("connect timeout")
        return await super().place_order(request)


@dataclass
class Desk:
    exchange: FlakyLink
    orders: OrderManager
    executions: ExecutionRepository
    sessions: async_sessionmaker[AsyncSession]

    async def decision(self) -> int:
        """A pending decision row for the orders to belong to."""
        now = to_datetime(DAY_START_MS + HOUR_MS)
        row = Decision(
            cycle_id="c",
            created_at=now,
            updated_at=now,
            symbol="BTCUSDT",
            action="open_long",
            status="pending",
            confidence=0.9,
            model="test",
        )
        cycle = DecisionCycle(id="c", started_at=now, model="test")
        [decision_id] = await DecisionRepository(self.sessions).add_cycle(cycle, [row])
        return decision_id

    async def rows(self) -> list[TradeExecution]:
        async with self.sessions() as session:
            result = await session.scalars(select(TradeExecution).order_by(TradeExecution.id))
            return list(result.all())


@pytest.fixture
async def desk(tmp_path: Path) -> AsyncIterator[Desk]:
    clock = ManualClock(DAY_START_MS + HOUR_MS)
    market = FakeMarket(clock)
    market.set_price("BTCUSDT", 50_000.0)
    exchange = FlakyLink(PaperExchangeConfig(slippage_bps=D(0)), market, clock)
    await exchange.start()
    database = create_engine(f"sqlite+aiosqlite:///{tmp_path}/orders.db")
    await upgrade_database(database)
    sessions = session_factory(database)
    executions = ExecutionRepository(sessions)
    orders = OrderManager(exchange, executions, clock)
    await orders.start()
    yield Desk(exchange, orders, executions, sessions)
    await orders.stop()
    await database.dispose()


def long_plan(stop_loss: str = "49000.0", take_profit: str | None = "52000.0") -> OrderPlan:
    return OrderPlan(
        symbol="BTCUSDT",
        action=Action.OPEN_LONG,
        side=OrderSide.BUY,
        quantity=D("0.010"),
        leverage=5,
        reference_price=D("50000"),
        notional=D("500"),
        margin=D("100"),
        estimated_fee=D("0.25"),
        stop_loss=D(stop_loss),
        take_profit=None if take_profit is None else D(take_profit),
        reduce_only=False,
    )


async def test_a_lost_answer_is_settled_by_query_without_resending(desk: Desk) -> None:
    desk.exchange.mode = "lost_answer"
    n = await desk.decision()
    entry = await desk.orders.open_position(long_plan(take_profit=None), decision_id=n)

    assert entry.status.value == "FILLED"
    assert desk.exchange.sent == [f"at-{n}-en", f"at-{n}-sl"]  # each order sent exactly once
    rows = await desk.rows()
    assert [(r.client_order_id, r.status) for r in rows] == [
        (f"at-{n}-en", "FILLED"),
        (f"at-{n}-sl", "NEW"),
    ]
    assert rows[0].filled_quantity == D("0.010")
    assert rows[0].avg_price == D("50000")
    assert rows[0].fee == D("0.25")  # 0.010 x 50,000 x 0.05 %


async def test_an_order_the_venue_never_saw_is_marked_unknown_not_resent(desk: Desk) -> None:
    desk.exchange.mode = "lost_request"
    n = await desk.decision()
    with pytest.raises(OrderOutcomeUnknown, match=f"at-{n}-en"):
        await desk.orders.open_position(long_plan(), decision_id=n)

    assert desk.exchange.sent == [f"at-{n}-en"]
    [row] = await desk.rows()
    assert row.status == "UNKNOWN"
    assert "connect timeout" in (row.error or "")
    assert (await desk.exchange.account()).positions == ()


async def test_a_refused_stop_loss_closes_the_entry_again(desk: Desk) -> None:
    # A stop above the price for a long would trigger at once: Binance refuses it (-2021).
    with pytest.raises(DefinitiveRejection, match="entry was closed again"):
        await desk.orders.open_position(
            long_plan(stop_loss="50500.0"), decision_id=await desk.decision()
        )

    rows = await desk.rows()
    assert [(r.purpose, r.status) for r in rows] == [
        ("entry", "FILLED"),
        ("stop_loss", "REJECTED"),
        ("close", "FILLED"),
    ]
    assert rows[2].reduce_only is True
    assert rows[2].filled_quantity == rows[0].filled_quantity
    assert (await desk.exchange.account()).positions == ()


async def test_the_same_decision_can_not_place_its_entry_twice(desk: Desk) -> None:
    n = await desk.decision()
    await desk.orders.open_position(long_plan(), decision_id=n)
    with pytest.raises(Exception, match="UNIQUE constraint failed"):
        await desk.orders.open_position(long_plan(), decision_id=n)
    assert desk.exchange.sent == [f"at-{n}-en", f"at-{n}-sl", f"at-{n}-tp"]


async def test_fills_reported_by_the_exchange_notify_the_fill_listeners(desk: Desk) -> None:
    fills: list[int] = []

    async def on_fill() -> None:
        fills.append(len(fills))

    desk.orders.add_fill_listener(on_fill)
    await desk.orders.open_position(long_plan(), decision_id=await desk.decision())
    await desk.orders.stop()  # drains the update queue
    assert len(fills) == 1  # the entry filled; the resting stop and target did not
