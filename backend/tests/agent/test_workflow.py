"""The decision cycle end to end on real parts (simulated market, paper exchange, SQLite), with
a scripted model: what the model says, what is stored, and what reaches the exchange."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass, replace
from decimal import Decimal
from pathlib import Path
from typing import Literal, TypeVar

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from alphatransformer.agent.answer import ModelAnswer
from alphatransformer.agent.decision import Action, TradeDecision, hold
from alphatransformer.agent.decision_maker import DecisionRequest
from alphatransformer.agent.workflow import CycleParts, build_cycle_graph, run_cycle
from alphatransformer.config.schema import MarketConfig, PaperExchangeConfig, RiskConfig
from alphatransformer.database.engine import create_engine, session_factory
from alphatransformer.database.migrate import upgrade_database
from alphatransformer.database.models import AccountSnapshot, Decision, TradeExecution
from alphatransformer.database.repositories import (
    DecisionRepository,
    ExecutionRepository,
    SnapshotRepository,
)
from alphatransformer.market.simulated import SimulatedMarket
from alphatransformer.trading.decision_executor import TradeExecutor
from alphatransformer.trading.order_manager import OrderManager
from alphatransformer.trading.paper.exchange import PaperExchange
from alphatransformer.trading.risk_gate import RiskGate
from alphatransformer.utils.clock import Clock, ManualClock, to_datetime

SYMBOLS = ("BTCUSDT", "ETHUSDT")
NOW = 1_767_225_600_000  # 2026-01-01 00:00 UTC
Row = TypeVar("Row", Decision, TradeExecution)


class ScriptedModel:
    """Answers what the test scripted; records what it was asked."""

    def __init__(self) -> None:
        self.answer: ModelAnswer | None = None
        self.error: Exception | None = None
        self.stall = False
        self.requests: list[DecisionRequest] = []

    @property
    def model_name(self) -> str:
        return "scripted"

    async def decide(self, request: DecisionRequest) -> ModelAnswer:
        self.requests.append(request)
        if self.stall:
            await asyncio.sleep(3600)
        if self.error is not None:
            raise self.error
        assert self.answer is not None
        return self.answer


@dataclass
class Rig:
    model: ScriptedModel
    market: SimulatedMarket
    exchange: PaperExchange
    orders: OrderManager
    snapshots: SnapshotRepository
    parts: CycleParts
    sessions: async_sessionmaker[AsyncSession]

    async def cycle(self, cycle_id: str = "c1") -> list[Decision]:
        graph = build_cycle_graph(self.parts)
        await run_cycle(graph, cycle_id, self.parts.clock.now_ms())
        await asyncio.sleep(0)
        return await self.rows(Decision)

    async def rows(self, table: type[Row]) -> list[Row]:
        async with self.sessions() as session:
            return list((await session.scalars(select(table).order_by(table.id))).all())

    def with_risk(self, risk: RiskConfig) -> None:
        """Run the following cycles under these limits."""
        executor = trade_executor(
            risk, self.exchange, self.market, self.orders, self.snapshots, self.parts.clock
        )
        self.parts = replace(self.parts, executor=executor)


def trade_executor(
    risk: RiskConfig,
    exchange: PaperExchange,
    market: SimulatedMarket,
    orders: OrderManager,
    snapshots: SnapshotRepository,
    clock: Clock,
) -> TradeExecutor:
    return TradeExecutor(
        symbols=SYMBOLS,
        gate=RiskGate(risk),
        orders=orders,
        exchange=exchange,
        market=market,
        snapshots=snapshots,
        clock=clock,
        max_staleness_seconds=30,
        taker_fee=Decimal("0.0005"),
    )


@pytest.fixture
async def rig(tmp_path: Path) -> AsyncIterator[Rig]:
    clock = ManualClock(NOW)
    database = create_engine(f"sqlite+aiosqlite:///{tmp_path}/cycle.db")
    await upgrade_database(database)
    sessions = session_factory(database)
    market = SimulatedMarket(SYMBOLS, MarketConfig(), clock)
    exchange = PaperExchange(PaperExchangeConfig(), market, clock)
    await market.start()
    await exchange.start()
    orders = OrderManager(exchange, ExecutionRepository(sessions), clock)
    await orders.start()
    model = ScriptedModel()
    snapshots = SnapshotRepository(sessions)
    risk = RiskConfig(min_confidence=0.6)
    parts = CycleParts(
        symbols=SYMBOLS,
        market=market,
        exchange=exchange,
        decision_maker=model,
        decisions=DecisionRepository(sessions),
        executor=trade_executor(risk, exchange, market, orders, snapshots, clock),
        clock=clock,
        decision_timeout_seconds=0.2,
    )
    yield Rig(model, market, exchange, orders, snapshots, parts, sessions)
    await orders.stop()
    await exchange.stop()
    await market.stop()
    await database.dispose()


def long_btc(rig: Rig, **overrides: object) -> TradeDecision:
    price = rig.market.latest_price("BTCUSDT")
    fields: dict[str, object] = {
        "symbol": "BTCUSDT",
        "action": Action.OPEN_LONG,
        "notional_usd": 1000.0,
        "leverage": 5,
        "stop_loss": round(price * 0.98, 1),
        "take_profit": round(price * 1.04, 1),
        "confidence": 0.8,
        "reasoning": "trend up",
    }
    fields.update(overrides)
    return TradeDecision.model_validate(fields)


def answer(*decisions: TradeDecision) -> ModelAnswer:
    return ModelAnswer(
        decisions=list(decisions),
        model="scripted",
        input_tokens=1200,
        output_tokens=300,
        latency_ms=850.0,
        cost_usd=Decimal("0.0030"),
        prompt_hash="ab" * 32,
    )


async def test_an_approved_long_is_entered_and_protected(rig: Rig) -> None:
    rig.model.answer = answer(long_btc(rig))
    decisions = await rig.cycle()

    btc, eth = decisions
    assert (btc.symbol, btc.action, btc.status) == ("BTCUSDT", "open_long", "executed")
    assert (eth.symbol, eth.action, eth.status) == ("ETHUSDT", "hold", "hold")
    assert "no decision for this symbol" in eth.reasoning
    assert btc.model == eth.model == "scripted"
    cycle = await rig.parts.decisions.cycle(btc.cycle_id)
    assert cycle is not None
    assert (cycle.input_tokens, cycle.output_tokens, cycle.latency_ms) == (1200, 300, 850.0)
    assert (cycle.cost_usd, cycle.prompt_hash, cycle.error) == (Decimal("0.0030"), "ab" * 32, None)

    executions = await rig.rows(TradeExecution)
    assert [(e.purpose, e.order_type, e.status) for e in executions] == [
        ("entry", "MARKET", "FILLED"),
        ("stop_loss", "STOP_MARKET", "NEW"),
        ("take_profit", "TAKE_PROFIT_MARKET", "NEW"),
    ]
    assert [e.client_order_id for e in executions] == [
        f"at-{btc.id}-en",
        f"at-{btc.id}-sl",
        f"at-{btc.id}-tp",
    ]
    entry = executions[0]
    assert entry.filled_quantity == Decimal("0.010")  # 1000 USDT / ~95k, down to the 0.001 step
    assert entry.fee > 0
    position = (await rig.exchange.account()).position("BTCUSDT")
    assert position is not None
    assert position.quantity == entry.filled_quantity


async def test_a_rejected_action_is_recorded_with_its_rule_and_sends_nothing(rig: Rig) -> None:
    rig.model.answer = answer(long_btc(rig, confidence=0.3))
    [btc, _] = await rig.cycle()
    assert btc.status == "rejected"
    assert btc.rejection_rule == "min_confidence"
    assert "0.3" in (btc.status_reason or "")
    assert await rig.rows(TradeExecution) == []


async def test_a_symbol_outside_the_config_is_rejected_not_traded(rig: Rig) -> None:
    price = rig.market.latest_price("BTCUSDT")
    rogue = long_btc(rig, symbol="DOGEUSDT", stop_loss=price * 0.98, take_profit=None)
    rig.model.answer = answer(rogue)
    decisions = await rig.cycle()
    assert [d.symbol for d in decisions] == ["BTCUSDT", "ETHUSDT", "DOGEUSDT"]
    assert decisions[2].status == "rejected"
    assert decisions[2].rejection_rule == "symbol_not_allowed"
    assert await rig.rows(TradeExecution) == []


async def test_a_model_error_holds_every_symbol_and_sends_nothing(rig: Rig) -> None:
    rig.model.error = RuntimeError("model server said 500")
    decisions = await rig.cycle()
    assert [(d.symbol, d.action, d.status) for d in decisions] == [
        ("BTCUSDT", "hold", "hold"),
        ("ETHUSDT", "hold", "hold"),
    ]
    assert all("model server said 500" in d.reasoning for d in decisions)
    cycle = await rig.parts.decisions.cycle(decisions[0].cycle_id)
    assert cycle is not None
    assert "model server said 500" in (cycle.error or "")
    assert await rig.rows(TradeExecution) == []


async def test_a_stalled_model_times_out_into_holds(rig: Rig) -> None:
    rig.model.stall = True
    decisions = await rig.cycle()
    assert {d.action for d in decisions} == {"hold"}
    assert all("no answer within 0.2 s" in d.reasoning for d in decisions)


async def test_close_cancels_protection_and_flattens(rig: Rig) -> None:
    rig.model.answer = answer(long_btc(rig))
    await rig.cycle("c1")
    close = TradeDecision(symbol="BTCUSDT", action=Action.CLOSE, confidence=0.9, reasoning="done")
    rig.model.answer = answer(close)
    decisions = await rig.cycle("c2")

    assert decisions[-2].status == "executed"
    executions = await rig.rows(TradeExecution)
    by_purpose = {e.purpose: e for e in executions}
    assert by_purpose["stop_loss"].status == "CANCELED"
    assert by_purpose["take_profit"].status == "CANCELED"
    assert by_purpose["close"].status == "FILLED"
    assert by_purpose["close"].reduce_only is True
    assert by_purpose["close"].filled_quantity == by_purpose["entry"].filled_quantity
    assert (await rig.exchange.account()).positions == ()
    assert await rig.exchange.open_orders() == []


async def test_the_model_sees_the_account_and_the_market(rig: Rig) -> None:
    rig.model.answer = answer()
    await rig.cycle()
    [request] = rig.model.requests
    assert request.symbols == SYMBOLS
    assert request.account.wallet_balance == Decimal("10000")
    assert request.market is rig.market


@pytest.mark.parametrize(
    ("action", "still_held"),
    [("close_only", True), ("flatten", False)],
    ids=["close-only", "flatten"],
)
async def test_the_daily_loss_limit_flattens_every_position_only_when_configured(
    rig: Rig, action: Literal["close_only", "flatten"], still_held: bool
) -> None:
    # given a BTC long opened in a day that opened at 10,600: the account is ~10,000 now, a
    # loss of ~5.7 %, past the 5 % limit
    rig.with_risk(RiskConfig(min_confidence=0.6, daily_loss_action=action))
    rig.model.answer = answer(long_btc(rig))
    await rig.cycle("c1")
    await rig.snapshots.add(day_opening_snapshot(Decimal("10600")))

    # when the model holds BTC and proposes an ETH entry
    rig.model.answer = answer(hold("BTCUSDT", "let it run"), long_btc(rig, symbol="ETHUSDT"))
    decisions = await rig.cycle("c2")

    # then the ETH entry is refused either way, and BTC is closed only under `flatten`
    btc_now, eth_now = decisions[-2:]
    assert (eth_now.status, eth_now.rejection_rule) == ("rejected", "daily_loss_limit")
    held = (await rig.exchange.account()).position("BTCUSDT") is not None
    assert held is still_held
    if still_held:
        assert (btc_now.action, btc_now.status) == ("hold", "hold")
    else:
        assert (btc_now.action, btc_now.status) == ("close", "executed")
        assert "daily loss limit reached" in btc_now.reasoning
        assert "the model said hold" in btc_now.reasoning


def day_opening_snapshot(equity: Decimal) -> AccountSnapshot:
    """The day's first snapshot (at 00:00 UTC, before any cycle), worth `equity`."""
    return AccountSnapshot(
        taken_at=to_datetime(NOW),
        environment="paper",
        wallet_balance=equity,
        equity=equity,
        available_balance=equity,
        unrealized_pnl=Decimal(0),
        margin_used=Decimal(0),
        open_positions=0,
    )
