"""The engine reconciles whenever the exchange says it may have lost updates, one thing at a
time: a reconciliation waits for the cycle in progress, the agent's cycles wait until it has
succeeded (retries included), and one that keeps failing halts trading until resumed.

Real parts (paper exchange, order manager, reconciler, SQLite) and a real engine loop; the
model and the reconciler can be held at a gate, and the exchange can say it lost updates."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import pytest
from trading.fake_market import DAY_START_MS, HOUR_MS, FakeMarket

from alphatransformer.agent.answer import ModelAnswer
from alphatransformer.agent.decision_maker import DecisionRequest
from alphatransformer.agent.workflow import CycleParts
from alphatransformer.config.schema import PaperExchangeConfig, RiskConfig
from alphatransformer.database.engine import create_engine, session_factory
from alphatransformer.database.migrate import upgrade_database
from alphatransformer.database.repositories import (
    DecisionRepository,
    ExecutionRepository,
    SnapshotRepository,
)
from alphatransformer.engine import EngineState, TradingEngine
from alphatransformer.events import EventBus
from alphatransformer.market.market_data import MarketData
from alphatransformer.trading.decision_executor import TradeExecutor
from alphatransformer.trading.exchange import Exchange, StaleListener
from alphatransformer.trading.order_manager import OrderManager
from alphatransformer.trading.paper.exchange import PaperExchange
from alphatransformer.trading.reconciliation import Reconciler, ReconciliationReport
from alphatransformer.trading.risk_gate import RiskGate
from alphatransformer.trading.snapshots import AccountSnapshotter
from alphatransformer.utils.clock import Clock, ManualClock

LOST = "the stream reconnected"
WAIT_LIMIT_S = 5.0  # a guard against a test hanging, not a timing assertion
# Long enough for several cycles of `FAST` to come due: none may run in it.
QUIET_S = 0.3
FAST = 0.02
HOURLY = 3600.0
RETRY_DELAYS = (QUIET_S, 0.01)


class LossyPaperExchange(PaperExchange):
    """The paper exchange, able to say that updates were lost, as a venue whose stream
    reconnected does."""

    def __init__(self, config: PaperExchangeConfig, market: MarketData, clock: Clock) -> None:
        super().__init__(config, market, clock)
        self._stale_listeners: list[StaleListener] = []

    def add_stale_listener(self, listener: StaleListener) -> None:
        self._stale_listeners.append(listener)

    def lose_updates(self, reason: str = LOST) -> None:
        for listener in self._stale_listeners:
            listener(reason)


class Gate:
    """Open unless closed; what waits at it is counted."""

    def __init__(self) -> None:
        self._open = asyncio.Event()
        self._open.set()
        self.waiting = 0

    def close(self) -> None:
        self._open.clear()

    def open(self) -> None:
        self._open.set()

    async def passage(self) -> None:
        self.waiting += 1
        try:
            await self._open.wait()
        finally:
            self.waiting -= 1


class HoldingModel:
    """Holds every symbol; notes each cycle in `timeline` and waits at `gate` first."""

    def __init__(self, timeline: list[str]) -> None:
        self.timeline = timeline
        self.gate = Gate()

    @property
    def model_name(self) -> str:
        return "scripted"

    async def decide(self, request: DecisionRequest) -> ModelAnswer:
        self.timeline.append("cycle")
        await self.gate.passage()
        return ModelAnswer(decisions=[], model="scripted")


class GatedReconciler(Reconciler):
    """The real reconciler, noted in `timeline` (with the cycles finished so far), held at
    `gate`, and failing while `failures` is above zero."""

    def __init__(
        self,
        timeline: list[str],
        exchange: Exchange,
        orders: OrderManager,
        executions: ExecutionRepository,
        decisions: DecisionRepository,
        clock: Clock,
    ) -> None:
        super().__init__(exchange, orders, executions, decisions, clock)
        self.timeline = timeline
        self.gate = Gate()
        self.failures = 0
        self.engine: TradingEngine | None = None

    async def run(self) -> ReconciliationReport:
        assert self.engine is not None
        self.timeline.append(f"reconcile after {self.engine.status.cycles} cycles")
        await self.gate.passage()
        if self.failures:
            self.failures -= 1
            self.timeline.append("reconcile failed")
            raise ConnectionError("Binance did not answer")
        report = await super().run()
        self.timeline.append("reconciled")
        return report


@dataclass
class Desk:
    engine: TradingEngine
    exchange: LossyPaperExchange
    gate: RiskGate
    model: HoldingModel
    reconciler: GatedReconciler
    timeline: list[str]

    def count(self, entry: str) -> int:
        return sum(e.startswith(entry) for e in self.timeline)

    def steps_after(self, entry: str, steps: int) -> list[str]:
        """The `steps` entries after the last `entry`, reconciliations without their count."""
        last = len(self.timeline) - 1 - self.timeline[::-1].index(entry)
        following = self.timeline[last + 1 : last + 1 + steps]
        return [e.split(" after ")[0] for e in following]


async def eventually(condition: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + WAIT_LIMIT_S
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.005)


async def open_desk(tmp_path: Path, cycle_seconds: float) -> AsyncIterator[Desk]:
    clock = ManualClock(DAY_START_MS + HOUR_MS)
    market = FakeMarket(clock)
    market.set_price("BTCUSDT", 50_000.0)
    exchange = LossyPaperExchange(PaperExchangeConfig(), market, clock)
    database = create_engine(f"sqlite+aiosqlite:///{tmp_path}/engine.db")
    await upgrade_database(database)
    sessions = session_factory(database)
    decisions, executions = DecisionRepository(sessions), ExecutionRepository(sessions)
    snapshots = SnapshotRepository(sessions)
    orders = OrderManager(exchange, executions, clock)
    gate = RiskGate(RiskConfig())
    timeline: list[str] = []
    model = HoldingModel(timeline)
    parts = CycleParts(
        symbols=("BTCUSDT",),
        market=market,
        exchange=exchange,
        decision_maker=model,
        decisions=decisions,
        executor=TradeExecutor(
            symbols=("BTCUSDT",),
            gate=gate,
            orders=orders,
            exchange=exchange,
            market=market,
            snapshots=snapshots,
            clock=clock,
            max_staleness_seconds=30,
            taker_fee=Decimal("0.0005"),
        ),
        clock=clock,
        decision_timeout_seconds=WAIT_LIMIT_S,
    )
    reconciler = GatedReconciler(timeline, exchange, orders, executions, decisions, clock)
    engine = TradingEngine(
        parts=parts,
        gate=gate,
        snapshotter=AccountSnapshotter(exchange, snapshots, clock, "paper"),
        reconciler=reconciler,
        events=EventBus().for_agent("agent"),
        cycle_seconds=cycle_seconds,
        reconcile_retry_delays=RETRY_DELAYS,
    )
    reconciler.engine = engine
    await orders.start()
    try:
        yield Desk(engine, exchange, gate, model, reconciler, timeline)
    finally:
        model.gate.open()
        reconciler.gate.open()
        await engine.stop()
        await orders.stop()
        await database.dispose()


@pytest.fixture
async def hourly(tmp_path: Path) -> AsyncIterator[Desk]:
    """Cycles an hour apart (only the first one runs during a test); not started yet."""
    async for desk in open_desk(tmp_path, HOURLY):
        yield desk


@pytest.fixture
async def fast(tmp_path: Path) -> AsyncIterator[Desk]:
    """A cycle every 20 ms; not started yet."""
    async for desk in open_desk(tmp_path, FAST):
        yield desk


async def test_a_reconciliation_asked_for_during_a_cycle_waits_for_the_cycle(
    hourly: Desk,
) -> None:
    # Given the first cycle held in the middle (after the reconciliation at start),
    hourly.model.gate.close()
    await hourly.engine.start()
    await eventually(lambda: hourly.model.gate.waiting == 1, "the first cycle")

    # when the exchange says it lost updates,
    hourly.exchange.lose_updates()
    await asyncio.sleep(QUIET_S)
    assert hourly.count("reconcile after") == 1  # the one at start: the cycle is not over
    hourly.model.gate.open()

    # then the reconciliation runs once the cycle is over, and says why it ran.
    status = hourly.engine.status
    await eventually(
        lambda: (status.reconciliation or "").startswith(f"{LOST}:"), "the reconciliation"
    )
    assert hourly.timeline == [
        "reconcile after 0 cycles",
        "reconciled",
        "cycle",
        "reconcile after 1 cycles",
        "reconciled",
    ]
    assert (status.reconciliation or "").startswith(f"{LOST}: 0 orders settled")
    assert status.reconciled_at is not None
    assert status.state is EngineState.RUNNING


async def test_cycles_wait_while_a_reconciliation_runs(fast: Desk) -> None:
    # Given cycles every 20 ms,
    await fast.engine.start()
    await eventually(lambda: fast.count("cycle") >= 2, "a few cycles")

    # when a reconciliation is held in the middle,
    fast.reconciler.gate.close()
    fast.exchange.lose_updates()
    await eventually(lambda: fast.reconciler.gate.waiting == 1, "the reconciliation")
    cycles = fast.count("cycle")
    await asyncio.sleep(QUIET_S)

    # then no cycle begins until it is over, and cycles go on after it.
    assert fast.count("cycle") == cycles
    assert fast.engine.status.reconciliation == f"in progress ({LOST})"
    fast.reconciler.gate.open()
    await eventually(lambda: fast.count("cycle") > cycles, "the next cycle")
    assert fast.steps_after(f"reconcile after {cycles} cycles", 2) == ["reconciled", "cycle"]


async def test_a_failed_reconciliation_is_retried_and_cycles_wait_for_the_retry(
    fast: Desk, caplog: pytest.LogCaptureFixture
) -> None:
    await fast.engine.start()
    await eventually(lambda: fast.count("cycle") >= 2, "a few cycles")
    fast.reconciler.failures = 1

    with caplog.at_level(logging.WARNING, logger="alphatransformer.engine"):
        fast.exchange.lose_updates()
        await eventually(lambda: fast.count("reconciled") == 2, "the retry")

    # The failed attempt was retried 0.3 s later, and no cycle began in between.
    assert fast.steps_after("reconcile failed", 2) == ["reconcile", "reconciled"]
    assert fast.engine.status.state is EngineState.RUNNING
    assert not fast.gate.halted
    assert f"reconciliation failed ({LOST}): Binance did not answer; retrying in 0.3 s" in (
        caplog.text
    )


async def test_a_reconciliation_that_keeps_failing_halts_trading_until_resumed(
    fast: Desk,
) -> None:
    await fast.engine.start()
    await eventually(lambda: fast.count("cycle") >= 2, "a few cycles")
    fast.reconciler.failures = 1 + len(RETRY_DELAYS)

    fast.exchange.lose_updates()
    await eventually(lambda: fast.engine.status.state is EngineState.HALTED, "the halt")
    cycles = fast.count("cycle")
    await asyncio.sleep(QUIET_S)

    reason = "reconciliation failed: Binance did not answer"
    assert (fast.engine.status.reason, fast.engine.status.reconciliation) == (reason, reason)
    assert fast.gate.halted
    assert fast.count("reconcile failed") == 3
    assert fast.count("cycle") == cycles  # halted: nothing trades

    # Resuming reconciles again before the first cycle.
    assert await fast.engine.resume()
    await eventually(lambda: fast.count("cycle") > cycles, "a cycle after resuming")
    assert fast.steps_after("reconcile failed", 3) == ["reconcile", "reconciled", "cycle"]
    assert fast.engine.status.state is EngineState.RUNNING
    assert not fast.gate.halted


async def test_while_paused_it_reconciles_and_stays_paused(hourly: Desk) -> None:
    await hourly.engine.start()
    await eventually(lambda: hourly.count("cycle") == 1, "the first cycle")
    assert await hourly.engine.pause()

    hourly.exchange.lose_updates()
    await eventually(lambda: hourly.count("reconciled") == 2, "the reconciliation")

    assert hourly.engine.status.state is EngineState.PAUSED
    assert hourly.count("cycle") == 1


async def test_once_stopping_a_reconciliation_is_left_to_the_next_start(hourly: Desk) -> None:
    await hourly.engine.start()
    await hourly.engine.stop()

    hourly.exchange.lose_updates()
    await asyncio.sleep(0.05)

    assert hourly.count("reconcile after") == 1  # the one at start
    assert hourly.engine.status.reconciliation is not None
    assert not hourly.engine.status.reconciliation.startswith("pending")
