"""Builds the running system from the config: one place that wires every part together.

Only adapters depend on the environment (simulated or live market, paper or Binance exchange,
rules or LLM model); everything between them is the same code in every mode.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from alphatransformer.agent.decision_maker import DecisionMaker
from alphatransformer.agent.llm_factory import build_decision_maker
from alphatransformer.agent.workflow import CycleParts
from alphatransformer.config import AppConfig, Environment
from alphatransformer.config.schema import SINGLE_AGENT
from alphatransformer.database.engine import create_engine, session_factory
from alphatransformer.database.migrate import upgrade_database
from alphatransformer.database.models import LIVE_RUN
from alphatransformer.database.paper_state import PaperAccountRepository
from alphatransformer.database.repositories import (
    DecisionRepository,
    ExecutionRepository,
    SnapshotRepository,
)
from alphatransformer.engine import TradingEngine
from alphatransformer.events import EventBus
from alphatransformer.market.binance.market import BinanceMarket, endpoints_for
from alphatransformer.market.market_data import MarketData
from alphatransformer.market.simulated import SimulatedMarket
from alphatransformer.trading.binance.exchange import BinanceExchange
from alphatransformer.trading.decision_executor import TradeExecutor
from alphatransformer.trading.exchange import Exchange
from alphatransformer.trading.order_manager import OrderManager
from alphatransformer.trading.paper.exchange import PaperExchange
from alphatransformer.trading.reconciliation import Reconciler
from alphatransformer.trading.risk_gate import RiskGate
from alphatransformer.trading.snapshots import AccountSnapshotter
from alphatransformer.utils.clock import Clock, WallClock

SNAPSHOT_BATCH = 500
"""Account snapshots a backtest writes per transaction: one comes every cycle, and nothing
reads them before the report but the day's opening equity, once a day."""


@dataclass(frozen=True, slots=True)
class SharedParts:
    """What an arena's agents share: one clock, one database, one market feed, one event bus.

    The arena owns them: an agent's runtime neither migrates, starts, stops nor disposes them.
    """

    clock: Clock
    database: AsyncEngine
    market: MarketData
    bus: EventBus


@dataclass(slots=True)
class Runtime:
    """One agent's running parts: its model, gate, orders, account and engine."""

    name: str
    config: AppConfig
    clock: Clock
    database: AsyncEngine
    decisions: DecisionRepository
    executions: ExecutionRepository
    snapshots: SnapshotRepository
    market: MarketData
    exchange: Exchange
    gate: RiskGate
    orders: OrderManager
    decision_maker: DecisionMaker
    bus: EventBus
    engine: TradingEngine
    owns_database: bool = True

    @property
    def run_id(self) -> str:
        return self.decisions.run_id

    async def start(self) -> None:
        await self.orders.start()
        await self.engine.start()

    async def close(self) -> None:
        """Stop trading (finishing the cycle in progress), then release the database."""
        await self.engine.stop()
        await self.orders.stop()
        await self.decisions.flush()
        await self.snapshots.flush()
        if self.owns_database:
            await self.database.dispose()


async def open_runtime(
    config: AppConfig,
    clock: Clock | None = None,
    decision_maker: DecisionMaker | None = None,
    *,
    market: MarketData | None = None,
    exchange: Exchange | None = None,
    run_id: str = LIVE_RUN,
    batch_writes: bool = False,
    name: str = SINGLE_AGENT,
    shared: SharedParts | None = None,
) -> Runtime:
    """Migrate the database and assemble every part; nothing trades until `start()`.

    The keyword arguments replace what the config would build: a replayed market and its clock
    for a backtest, an arena entrant's model, a scripted model or a fake venue in tests.
    `run_id` scopes every row written and read, so a backtest or an arena entrant shares the
    database with live trading without either seeing the other's rows. `batch_writes` is for
    backtests: account snapshots are written `SNAPSHOT_BATCH` at a time and decision outcomes
    with the next cycle (see the repositories); each repository still reads its own writes.
    `name` is the agent's, on every event it publishes; `shared` are an arena's common parts
    (they replace `clock` and `market`).
    """
    if shared is None:
        clock = clock or WallClock()
        database = create_engine(config.database.url, echo=config.database.echo)
        await upgrade_database(database)
        bus = EventBus()
    else:
        clock, database, market, bus = shared.clock, shared.database, shared.market, shared.bus
    sessions = session_factory(database)
    decisions = DecisionRepository(sessions, run_id, hold_statuses=batch_writes)
    decision_maker = decision_maker or build_decision_maker(config, recent_decisions=decisions.page)
    executions = ExecutionRepository(sessions, run_id)
    snapshots = SnapshotRepository(
        sessions, run_id, write_batch=SNAPSHOT_BATCH if batch_writes else 1
    )
    market = market or build_market(config, clock)
    exchange = exchange or await _exchange(config, market, clock, sessions, run_id)
    gate = RiskGate(config.trading.risk)
    orders = OrderManager(exchange, executions, clock)
    executor = TradeExecutor(
        symbols=config.symbols,
        gate=gate,
        orders=orders,
        exchange=exchange,
        market=market,
        snapshots=snapshots,
        clock=clock,
        max_staleness_seconds=config.market.max_staleness_seconds,
        taker_fee=config.trading.paper.taker_fee,
    )
    parts = CycleParts(
        symbols=config.symbols,
        market=market,
        exchange=exchange,
        decision_maker=decision_maker,
        decisions=decisions,
        executor=executor,
        clock=clock,
        decision_timeout_seconds=config.agent.decision_timeout_seconds,
    )
    engine = TradingEngine(
        parts=parts,
        gate=gate,
        snapshotter=AccountSnapshotter(exchange, snapshots, clock, config.environment.value),
        reconciler=Reconciler(exchange, orders, executions, decisions, clock),
        events=bus.for_agent(name),
        cycle_seconds=config.agent.cycle_seconds,
        owns_market=shared is None,
    )
    orders.add_fill_listener(engine.account_changed)
    return Runtime(
        name=name,
        config=config,
        clock=clock,
        database=database,
        decisions=decisions,
        executions=executions,
        snapshots=snapshots,
        market=market,
        exchange=exchange,
        gate=gate,
        orders=orders,
        decision_maker=decision_maker,
        bus=bus,
        engine=engine,
        owns_database=shared is None,
    )


def build_market(config: AppConfig, clock: Clock) -> MarketData:
    if config.market.source == "binance":
        return BinanceMarket.from_config(config, clock)
    return SimulatedMarket(config.symbols, config.market, clock)


async def _exchange(
    config: AppConfig,
    market: MarketData,
    clock: Clock,
    sessions: async_sessionmaker[AsyncSession],
    run_id: str,
) -> Exchange:
    """Paper fills in process, its account kept in the database across restarts; testnet and
    production send real orders to Binance."""
    if config.environment is Environment.PAPER:
        store = PaperAccountRepository(sessions, run_id)
        return await PaperExchange.resume(config.trading.paper, market, clock, store)
    name = f"binance-{config.environment.value}"
    return BinanceExchange(config.binance, endpoints_for(config), name=name, clock=clock)
