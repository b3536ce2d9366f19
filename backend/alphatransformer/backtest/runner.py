"""Replays history through the live system: the same graph, risk gate, order manager and paper
exchange as paper trading, on a `ManualClock` that only this module moves.

Time advances one short-interval candle at a time. At each step the clock is set to the step's
time, every market reveals the candles closed by then (nothing later: see `ReplayMarket`), the
paper exchanges fire stops and targets on them, and at every decision interval each agent runs
one cycle. No part reads the wall clock or a candle of the future, so the same history, config
and model answers give the same trades, to the last digit.

Several agents (an arena) advance in lockstep on one clock, each with its own runtime, paper
account and run id in the one database; a single backtest is an arena of one. Positions still
open at the end are closed at the last price by an operator cycle (as freqtrade does), so every
trade is complete and every entrant pays its exit.
"""

from __future__ import annotations

import asyncio
import re
import secrets
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

from alphatransformer.agent.decision_maker import DecisionMaker
from alphatransformer.agent.llm_agent import AgentDecisionMaker
from alphatransformer.agent.llm_factory import (
    agent_settings,
    build_decision_maker,
    openai_chat_model,
)
from alphatransformer.agent.tools import RecentDecisions
from alphatransformer.backtest.model_cache import CachedChatModel, CacheStats, ModelCache
from alphatransformer.backtest.period import (
    Candles,
    ReplayPeriod,
    load_candles,
    load_funding,
    load_open_interest,
)
from alphatransformer.backtest.replay_exchange import FillsSettled, ReplayPaperExchange
from alphatransformer.backtest.report import (
    OpenInterestRecord,
    RunRecord,
    funding_record,
    load_run,
    write_report,
)
from alphatransformer.config import AppConfig
from alphatransformer.config.schema import AgentConfig, MarketConfig, RiskConfig
from alphatransformer.database.models import Decision
from alphatransformer.database.repositories import DecisionFilter, DecisionRepository
from alphatransformer.market.replay import ReplayMarket, TimeSeries
from alphatransformer.runtime import Runtime, open_runtime
from alphatransformer.trading.snapshots import AccountSnapshotter
from alphatransformer.utils.clock import ManualClock, to_datetime

Progress = Callable[[int, int], None]
"""Called after every replayed step with (steps done, steps in all)."""

CLOSING_REASON = "backtest ended: closing every position at the last price"


@dataclass(frozen=True, slots=True)
class ModelOptions:
    """How LLM entrants are called: through the response cache (None: always the model), and
    with the sampling seed sent to the provider (None: none sent). The rules model and
    buy-and-hold need neither: they are deterministic and free."""

    cache: ModelCache | None = None
    seed: int | None = None


ModelFactory = Callable[[RecentDecisions], DecisionMaker]
"""Builds an entrant's model once its run exists, given that run's decision history."""


@dataclass(frozen=True, slots=True)
class Entrant:
    """One agent of an arena: a name, its config (model, prompt, risk limits) and its model."""

    name: str
    config: AppConfig
    make_model: ModelFactory
    cache_stats: CacheStats | None = None


def configured_entrant(name: str, config: AppConfig, options: ModelOptions) -> Entrant:
    """The agent `config` describes: a built-in model, or an LLM (cached when asked)."""
    if config.agent.provider != "openai":
        return Entrant(name, config, lambda recent: build_decision_maker(config, recent))
    stats = CacheStats()
    chat = openai_chat_model(config.agent.llm)
    if options.seed is not None:
        chat = chat.model_copy(update={"seed": options.seed})
    model = (
        chat
        if options.cache is None
        else CachedChatModel(model=chat, cache=options.cache, stats=stats)
    )
    settings = agent_settings(config)
    return Entrant(
        name,
        config,
        lambda recent: AgentDecisionMaker(model, settings, recent),
        None if options.cache is None else stats,
    )


def buy_and_hold_entrant(name: str, config: AppConfig) -> Entrant:
    """Buy-and-hold under the config's gate, loosened to hold every symbol without stops."""
    agent = config.agent.model_copy(update={"provider": "buy_and_hold"})
    risk = config.trading.risk.for_buy_and_hold(len(config.symbols))
    entrant = entrant_config(config, agent, risk)
    return Entrant(name, entrant, lambda recent: build_decision_maker(entrant, recent))


def entrant_config(base: AppConfig, agent: AgentConfig, risk: RiskConfig) -> AppConfig:
    """`base`'s symbols, market, paper account and database, with an entrant's model, prompt
    and risk limits: what may differ between agents trading the same market."""
    trading = base.trading.model_copy(update={"risk": risk})
    return base.model_copy(update={"agent": agent, "trading": trading})


RunKind = Literal["backtest", "arena"]

_STAMP = "%Y%m%dT%H%M%S"
_RUN_ID = re.compile(
    r"(?P<id>(?P<kind>backtest|arena)-(?P<stamp>\d{8}T\d{6})-[0-9a-f]{4})(?:-(?P<name>.+))?"
)


def new_run_id(kind: RunKind) -> str:
    """A fresh run id, `kind-YYYYmmddTHHMMSS-xxxx`: the wall clock names runs, it never
    drives them, and the random suffix keeps two runs started in one second apart. An arena's
    id names no run of its own: its entrants' do (`entrant_run_id`)."""
    return f"{kind}-{datetime.now(UTC):{_STAMP}}-{secrets.token_hex(2)}"


def entrant_run_id(arena_id: str, name: str) -> str:
    """An entrant's run id: its arena's id first, so the arena id finds every entrant."""
    return f"{arena_id}-{name}"


@dataclass(frozen=True, slots=True)
class RunOrigin:
    """What a run id made here says about its run: a backtest (named by its run id) or an arena
    entrant (named in its arena), and when it was started (wall clock, to the second)."""

    kind: RunKind
    arena_id: str | None
    name: str
    created_at: datetime


def run_origin(run_id: str) -> RunOrigin | None:
    """The origin of a backtest's or an arena entrant's run id; None for any other id (the
    live agent's, an arena's own)."""
    match = _RUN_ID.fullmatch(run_id)
    if match is None:
        return None
    created_at = datetime.strptime(match["stamp"], _STAMP).replace(tzinfo=UTC)
    if match["kind"] == "backtest":
        return None if match["name"] else RunOrigin("backtest", None, run_id, created_at)
    name = match["name"]
    return None if name is None else RunOrigin("arena", match["id"], name, created_at)


@dataclass(frozen=True, slots=True)
class RunResult:
    """What one entrant's run produced, read back from the database."""

    name: str
    run_id: str
    model: str
    cycles: int
    record: RunRecord
    cache_stats: CacheStats | None


@dataclass(slots=True)
class _RunDecisions:
    """The run's `DecisionRepository.page`, for a model built before the runtime that owns the
    repository (`open_runtime` takes the model as an argument)."""

    repository: DecisionRepository | None = None

    async def __call__(self, filters: DecisionFilter, limit: int) -> Sequence[Decision]:
        if self.repository is None:
            raise RuntimeError("the run's decision history is not open yet")
        return await self.repository.page(filters, limit)


@dataclass(slots=True)
class _Run:
    """One entrant in motion: its runtime on the shared clock, and its own market replay."""

    entrant: Entrant
    runtime: Runtime
    market: ReplayMarket
    exchange: ReplayPaperExchange
    snapshotter: AccountSnapshotter
    fills: FillsSettled
    cycles: int = field(default=0)

    @classmethod
    async def open(
        cls,
        entrant: Entrant,
        clock: ManualClock,
        candles: Candles,
        funding: Mapping[str, TimeSeries],
        open_interest: Mapping[str, TimeSeries],
        run_id: str,
    ) -> _Run:
        config = entrant.config
        market = ReplayMarket(
            config.symbols,
            config.market,
            clock,
            candles,
            funding_rates=funding,
            open_interest=open_interest,
        )
        exchange = ReplayPaperExchange(config.trading.paper, market, clock)
        recent = _RunDecisions()
        model = entrant.make_model(recent)
        runtime = await open_runtime(
            config,
            clock,
            model,
            market=market,
            exchange=exchange,
            run_id=run_id,
            batch_writes=True,
        )
        recent.repository = runtime.decisions
        fills = FillsSettled()
        runtime.orders.add_fill_listener(fills)
        snapshotter = AccountSnapshotter(
            exchange, runtime.snapshots, clock, config.environment.value
        )
        return cls(entrant, runtime, market, exchange, snapshotter, fills)

    async def start(self) -> None:
        """Start what the engine would start, but not its wall-time loop; record the opening
        account so the equity curve starts at the starting balance."""
        await self.runtime.orders.start()
        await self.market.start()
        await self.runtime.exchange.start()
        await self.snapshotter.take()

    def tick(self, now_ms: int) -> None:
        """Reveal the candles closed by `now_ms`; stops and targets they reach fire."""
        self.market.tick(now_ms)

    async def settle(self) -> None:
        """Hand the order manager what the exchange reported since the last settle, and wait
        until it has recorded every fill and snapshotted the account (see `replay_exchange`)."""
        if self.exchange.holding:
            await self.fills.wait(self.exchange.release())

    async def cycle(self) -> None:
        await self.runtime.engine.run_cycle()
        self.cycles += 1
        await self.settle()

    async def finish(self) -> RunResult:
        """Close what is open, wait until every fill is recorded, and read the results."""
        account = await self.runtime.exchange.account()
        if account.positions:
            await self.runtime.engine.kill(CLOSING_REASON)
            await self.settle()
        else:
            await self.snapshotter.take()
        await self.runtime.orders.stop()
        runtime = self.runtime
        record = await load_run(runtime.decisions, runtime.executions, runtime.snapshots)
        return RunResult(
            name=self.entrant.name,
            run_id=runtime.decisions.run_id,
            model=runtime.decision_maker.model_name,
            cycles=self.cycles,
            record=record,
            cache_stats=self.entrant.cache_stats,
        )


async def run_entrants(
    entrants: Sequence[Entrant],
    run_ids: Sequence[str],
    period: ReplayPeriod,
    progress: Progress | None = None,
) -> list[RunResult]:
    """Replay `period` for every entrant in lockstep and return their results, in order.

    Every entrant must share the first one's symbols and market settings: they trade the same
    market. Each gets its own run id and paper account in the first one's database.
    """
    market = entrants[0].config.market
    symbols = entrants[0].config.symbols
    _check_same_market(entrants)
    period.check(market)
    candles = load_candles(symbols, market, period)
    funding = load_funding(symbols, market, period)
    open_interest = load_open_interest(symbols, market, period)
    clock = ManualClock(period.start_ms)
    runs: list[_Run] = []
    try:
        for entrant, run_id in zip(entrants, run_ids, strict=True):
            runs.append(
                await _Run.open(
                    entrant, clock, candles, funding.values, open_interest.values, run_id
                )
            )
        for run in runs:
            await run.start()
        await _replay(runs, clock, period, market, progress)
        results = [await run.finish() for run in runs]
        # The funding paid lives in each paper account's ledger, and what was replayed in the
        # files: the database holds neither.
        shown = OpenInterestRecord(
            open_interest.missing, open_interest.late_starts(period.start_ms)
        )
        return [
            replace(
                result,
                record=replace(
                    result.record,
                    funding=funding_record(run.exchange.income(), funding.missing),
                    open_interest=shown,
                ),
            )
            for run, result in zip(runs, results, strict=True)
        ]
    finally:
        for run in runs:
            await run.runtime.close()


async def _replay(
    runs: Sequence[_Run],
    clock: ManualClock,
    period: ReplayPeriod,
    market: MarketConfig,
    progress: Progress | None,
) -> None:
    steps = period.steps(market)
    for done, now_ms in enumerate(steps, start=1):
        clock.advance(now_ms - clock.now_ms())
        for run in runs:
            run.tick(now_ms)
            await run.settle()
        if period.decides_at(now_ms):
            await asyncio.gather(*(run.cycle() for run in runs))
        if progress is not None:
            progress(done, len(steps))


def _check_same_market(entrants: Sequence[Entrant]) -> None:
    first = entrants[0].config
    for entrant in entrants[1:]:
        config = entrant.config
        if config.symbols != first.symbols or config.market != first.market:
            raise ValueError(
                f"entrant {entrant.name} trades another market than {entrants[0].name}"
            )


@dataclass(frozen=True, slots=True)
class SavedRun:
    """A finished run and where its report went; `checksum` is the trade list's SHA-256."""

    result: RunResult
    folder: Path
    checksum: str


def save_run(
    result: RunResult, folder: Path, config: AppConfig, period: ReplayPeriod, seed: int | None
) -> SavedRun:
    """Write the run's report folder (see `report`), with what was replayed and how."""
    summary = {
        "run_id": result.run_id,
        "name": result.name,
        "model": result.model,
        "period": {
            "start": to_datetime(period.start_ms).isoformat(),
            "end": to_datetime(period.end_ms).isoformat(),
            "symbols": list(config.symbols),
            "interval": config.market.short_interval.value,
            "long_interval": config.market.long_interval.value,
            "decision_interval": period.decision_interval.value,
        },
        "account": {name: str(value) for name, value in config.trading.paper.model_dump().items()},
        "seed": seed,
        "cycles": result.cycles,
        "model_calls": None if result.cache_stats is None else _calls(result.cache_stats),
    }
    title = f"{result.run_id}: {result.model}"
    checksum = write_report(folder, result.record, summary, title)
    return SavedRun(result, folder, checksum)


def _calls(stats: CacheStats) -> dict[str, int]:
    return {"calls": stats.calls, "from_cache": stats.hits, "to_model": stats.misses}


async def run_backtest(
    config: AppConfig,
    period: ReplayPeriod,
    options: ModelOptions,
    *,
    run_id: str,
    reports: Path,
    progress: Progress | None = None,
) -> SavedRun:
    """Replay `period` with the agent `config` describes; report into `reports/<run id>/`."""
    entrant = configured_entrant(run_id, config, options)
    [result] = await run_entrants([entrant], [run_id], period, progress)
    return save_run(result, reports / run_id, config, period, options.seed)
