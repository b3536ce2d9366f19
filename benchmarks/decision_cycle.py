"""How long a full decision cycle takes, and how much of it is neither indicators nor the write.

The default offline setup, assembled like the server does it (`open_runtime`): the rules model
behind `create_agent` (built by `build_decision_maker`), the paper exchange, SQLite in a temp
dir, and a simulated market of six symbols on 3m and 4h candles, on a manual clock. Each cycle
is `TradingEngine.run_cycle()`: analyze (prompt, the agent graph compiled once, one model turn),
save, execute (risk gate, orders), then the account snapshot. Between cycles, outside the
timing, the clock and the market move on by one 3m candle, so positions open and close.

Three passes over the same runtime:
1. plain: `--cycles` cycles after `--warmup`, nothing instrumented: the median cycle time;
2. instrumented: the same number of cycles with wall-clock meters wrapped (in this process
   only) around the indicator functions (`compute_indicators`, `ema`, `rsi`, ... and, inside
   them, the TA-Lib calls), the repositories' writes and reads, and the cycle's main steps;
3. cProfile of a few cycles, by own time, for the overhead spread thinly everywhere.

Time in a category is the union of the intervals during which at least one call of it runs
(writes of the order-update task can overlap the cycle's own), so nothing is counted twice.
`overhead_share` is the median over instrumented cycles of
(cycle - indicators - database writes) / cycle; reads are reported but count as overhead.

Run from the repository root:  uv run python benchmarks/decision_cycle.py
The last line is `median_ms=<x> overhead_share=<s>`.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import cProfile
import functools
import inspect
import io
import logging
import pstats
import re
import statistics
import sys
import tempfile
import time
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import talib

from alphatransformer.agent import indicators, llm_agent, rules_chat_model, workflow
from alphatransformer.config import AppConfig
from alphatransformer.database import repositories
from alphatransformer.engine import TradingEngine
from alphatransformer.market.simulated import SimulatedMarket
from alphatransformer.runtime import Runtime, open_runtime
from alphatransformer.trading import decision_executor
from alphatransformer.utils.clock import ManualClock

SYMBOLS = ("BTCUSDT", "ETHUSDT", "SOLUSDT", "BNBUSDT", "XRPUSDT", "DOGEUSDT")
NOW_MS = 1_767_225_600_000  # 2026-01-01 00:00 UTC
STEP_MS = 180_000  # one 3m candle between cycles

INDICATOR_FUNCTIONS = ("compute_indicators", "sma", "ema", "rsi", "atr", "macd", "bollinger")
"""The indicator module's computing functions (the ones that call TA-Lib). `latest` and `tail`,
which only read values out for the prompt, count as prompt formatting."""
WRITES = ("add", "add_cycle", "set_status", "set_statuses", "update_by_client_id")
"""Repository methods that write; every other public coroutine of a repository reads."""
STEPS: tuple[tuple[Any, str, str], ...] = (
    # (owner, attribute, label): the cycle's main steps, timed inclusively.
    (workflow, "run_cycle", "cycle graph: analyze + save + execute"),
    (llm_agent.AgentDecisionMaker, "decide", "analyze: AgentDecisionMaker.decide"),
    (llm_agent.AgentDecisionMaker, "_inputs", "  prompt inputs (exit plans, OI)"),
    (llm_agent, "render_user_message", "  render the first message"),
    (llm_agent, "_run_agent", "  agent run (LangGraph astream)"),
    (rules_chat_model.RulesChatModel, "bind_tools", "    bind_tools (tools to JSON schema)"),
    (rules_chat_model.RulesChatModel, "_generate", "    rules model turns (strategy)"),
    (llm_agent, "validate_decisions", "  validate decisions (pydantic)"),
    (llm_agent, "transcript", "  transcript (messages to JSON)"),
    (llm_agent, "prompt_hash", "  prompt hash"),
    (decision_executor.TradeExecutor, "execute", "execute: risk gate + orders"),
    (TradingEngine, "_publish_cycle", "publish: read rows + account snapshot"),
)


# --------------------------------------------------------------------------------------------
# Meters


@dataclass(slots=True)
class Meter:
    """Wall time per category as a union of intervals, plus call counts."""

    totals: dict[str, float] = field(default_factory=lambda: defaultdict(float))
    calls: Counter[str] = field(default_factory=Counter)
    _active: Counter[str] = field(default_factory=Counter)
    _since: dict[str, float] = field(default_factory=dict)

    def enter(self, category: str) -> None:
        if self._active[category] == 0:
            self._since[category] = time.perf_counter()
        self._active[category] += 1
        self.calls[category] += 1

    def exit(self, category: str) -> None:
        self._active[category] -= 1
        if self._active[category] == 0:
            self.totals[category] += time.perf_counter() - self._since[category]

    def now(self, category: str) -> float:
        """The category's total so far, the interval in progress included."""
        running = time.perf_counter() - self._since[category] if self._active[category] else 0.0
        return self.totals[category] + running

    def reset(self) -> None:
        self.totals.clear()
        self.calls.clear()


METER = Meter()
EXCLUDED = "excluded"  # indicators or a database write: the union of both


def _metered(function: Callable[..., Any], categories: tuple[str, ...]) -> Callable[..., Any]:
    if inspect.iscoroutinefunction(function):

        @functools.wraps(function)
        async def wrapper_async(*args: Any, **kwargs: Any) -> Any:
            for category in categories:
                METER.enter(category)
            try:
                return await function(*args, **kwargs)
            finally:
                for category in categories:
                    METER.exit(category)

        return wrapper_async

    @functools.wraps(function)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        for category in categories:
            METER.enter(category)
        try:
            return function(*args, **kwargs)
        finally:
            for category in categories:
                METER.exit(category)

    return wrapper


@dataclass(slots=True)
class Step:
    """Inclusive wall time of one step per cycle, and how much of it was excluded time."""

    label: str
    inclusive: list[float] = field(default_factory=list)
    excluded: list[float] = field(default_factory=list)
    current: float = 0.0
    current_excluded: float = 0.0


STEP_TIMES: dict[str, Step] = {}


def _stepped(function: Callable[..., Any], step: Step) -> Callable[..., Any]:
    if inspect.iscoroutinefunction(function):

        @functools.wraps(function)
        async def wrapper_async(*args: Any, **kwargs: Any) -> Any:
            began, excluded = time.perf_counter(), METER.now(EXCLUDED)
            try:
                return await function(*args, **kwargs)
            finally:
                step.current += time.perf_counter() - began
                step.current_excluded += METER.now(EXCLUDED) - excluded

        return wrapper_async

    @functools.wraps(function)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        began, excluded = time.perf_counter(), METER.now(EXCLUDED)
        try:
            return function(*args, **kwargs)
        finally:
            step.current += time.perf_counter() - began
            step.current_excluded += METER.now(EXCLUDED) - excluded

    return wrapper


class Patches:
    """Module and class attributes replaced for the instrumented pass, restored after."""

    def __init__(self) -> None:
        self._undo: list[tuple[Any, str, Any]] = []
        self.missing: list[str] = []

    def replace(self, owner: Any, name: str, new: Any) -> None:
        self._undo.append((owner, name, owner.__dict__[name]))
        setattr(owner, name, new)

    def function_everywhere(self, original: Callable[..., Any], new: Callable[..., Any]) -> None:
        """Rebind a module-level function in every alphatransformer module that imported it."""
        for module in list(sys.modules.values()):
            if getattr(module, "__name__", "").startswith("alphatransformer"):
                for name, value in list(vars(module).items()):
                    if value is original:
                        self.replace(module, name, new)

    def undo(self) -> None:
        for owner, name, old in reversed(self._undo):
            setattr(owner, name, old)
        self._undo.clear()


def install_meters(patches: Patches) -> None:
    for name in INDICATOR_FUNCTIONS:
        original = getattr(indicators, name, None)
        if original is None:
            patches.missing.append(f"indicators.{name}")
            continue
        patches.function_everywhere(original, _metered(original, ("indicators", EXCLUDED)))
    for name in dir(talib):
        value = getattr(talib, name)
        if name.isupper() and callable(value):
            patches.replace(talib, name, _metered(value, ("talib",)))
    for cls in (
        repositories.DecisionRepository,
        repositories.ExecutionRepository,
        repositories.SnapshotRepository,
    ):
        for name, value in list(vars(cls).items()):
            if name.startswith("_") or not inspect.iscoroutinefunction(value):
                continue
            categories = ("db_write", EXCLUDED) if name in WRITES else ("db_read",)
            patches.replace(cls, name, _metered(value, categories))
    for owner, name, label in STEPS:
        original = owner.__dict__.get(name)
        if original is None:
            patches.missing.append(f"{getattr(owner, '__name__', owner)}.{name}")
            continue
        step = STEP_TIMES.setdefault(label, Step(label))
        wrapped = _stepped(original, step)
        if inspect.ismodule(owner):
            patches.function_everywhere(original, wrapped)
        else:
            patches.replace(owner, name, wrapped)


# --------------------------------------------------------------------------------------------
# The rig


@dataclass(slots=True)
class Rig:
    runtime: Runtime
    clock: ManualClock
    market: SimulatedMarket
    actions: Counter[str] = field(default_factory=Counter)

    async def cycle(self) -> float:
        """One engine cycle, timed; then (untimed) the order-update queue drains and the
        market moves on by one candle."""
        began = time.perf_counter()
        report = await self.runtime.engine.run_cycle()
        elapsed = time.perf_counter() - began
        if report.error:
            raise RuntimeError(f"cycle failed: {report.error}")
        self.actions["executed"] += report.executed
        self.actions["rejected"] += report.rejected
        self.actions["decisions"] += report.decisions
        await self._settle()
        self.clock.advance(STEP_MS)
        self.market.tick(self.clock.now_ms())
        await self._settle()
        return elapsed

    async def _settle(self) -> None:
        updates = getattr(self.runtime.orders, "_updates", None)
        if isinstance(updates, asyncio.Queue):
            await updates.join()
        else:
            await asyncio.sleep(0.05)


@contextlib.asynccontextmanager
async def rig(directory: Path) -> Any:
    config = AppConfig.model_validate(
        {
            "symbols": list(SYMBOLS),
            "database": {"url": f"sqlite+aiosqlite:///{directory / 'cycle.db'}"},
            "agent": {"provider": "rules"},
        }
    )
    clock = ManualClock(NOW_MS)
    market = SimulatedMarket(config.symbols, config.market, clock)
    runtime = await open_runtime(config, clock, market=market)
    market.load_history()
    await runtime.exchange.start()
    await runtime.orders.start()
    try:
        yield Rig(runtime, clock, market)
    finally:
        await runtime.orders.stop()
        await runtime.exchange.stop()
        await runtime.database.dispose()


# --------------------------------------------------------------------------------------------


def ms(seconds: float) -> float:
    return seconds * 1000


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


async def run(args: argparse.Namespace) -> None:
    logging.getLogger("alphatransformer").setLevel(logging.WARNING)
    with tempfile.TemporaryDirectory(prefix="decision-cycle-") as temp:
        async with rig(Path(temp)) as bench:
            for _ in range(args.warmup):
                await bench.cycle()
            plain = [await bench.cycle() for _ in range(args.cycles)]

            patches = Patches()
            install_meters(patches)
            cycles: list[float] = []
            per_cycle: dict[str, list[float]] = defaultdict(list)
            calls: Counter[str] = Counter()
            try:
                for _ in range(args.cycles):
                    METER.reset()
                    for step in STEP_TIMES.values():
                        step.current = step.current_excluded = 0.0
                    cycles.append(await bench.cycle())
                    for category in ("indicators", "talib", "db_write", "db_read", EXCLUDED):
                        per_cycle[category].append(METER.totals.get(category, 0.0))
                    calls.update(METER.calls)
                    for step in STEP_TIMES.values():
                        step.inclusive.append(step.current)
                        step.excluded.append(step.current_excluded)
            finally:
                patches.undo()

            profiler = cProfile.Profile()
            profiler.enable()
            for _ in range(args.profile_cycles):
                await bench.cycle()
            profiler.disable()
            actions = bench.actions

    report(args, plain, cycles, per_cycle, calls, actions, patches.missing, profiler)


def report(
    args: argparse.Namespace,
    plain: list[float],
    cycles: list[float],
    per_cycle: dict[str, list[float]],
    calls: Counter[str],
    actions: Counter[str],
    missing: list[str],
    profiler: cProfile.Profile,
) -> None:
    n = len(cycles)
    shares = [(c - x) / c for c, x in zip(cycles, per_cycle[EXCLUDED], strict=True)]
    median_ms = ms(statistics.median(plain))
    total_cycles = args.warmup + 2 * args.cycles + args.profile_cycles
    print(
        f"Decision cycle: {len(SYMBOLS)} symbols, 3m/4h, rules model through create_agent, "
        f"paper exchange, SQLite; {args.cycles} cycles after {args.warmup} warm-up"
    )
    print(
        f"  over {total_cycles} cycles: {actions['decisions']} decisions, "
        f"{actions['executed']} executed, {actions['rejected']} rejected"
    )
    print(
        f"  plain:        median {median_ms:.1f} ms, p10 {ms(percentile(plain, 0.1)):.1f}, "
        f"p90 {ms(percentile(plain, 0.9)):.1f}"
    )
    print(
        f"  instrumented: median {ms(statistics.median(cycles)):.1f} ms (meters add their own "
        "cost; shares below are of instrumented cycles)"
    )
    print("\nPer cycle (medians), union wall time:")
    rows = [
        ("indicators (compute_indicators, ema, rsi, ...)", "indicators"),
        ("  of which TA-Lib C calls", "talib"),
        ("database writes (add_cycle, set_status, orders, snapshot)", "db_write"),
        ("database reads (recent decisions, cycle rows, ...)", "db_read"),
    ]
    for label, category in rows:
        value = ms(statistics.median(per_cycle[category]))
        share = statistics.median(x / c for x, c in zip(per_cycle[category], cycles, strict=True))
        print(f"  {label:<60} {value:>7.2f} ms {share:>6.1%}  {calls[category] / n:>6.1f} calls")
    overhead = statistics.median(c - x for c, x in zip(cycles, per_cycle[EXCLUDED], strict=True))
    label = "overhead: everything else"
    print(f"  {label:<60} {ms(overhead):>7.2f} ms {statistics.median(shares):>6.1%}")
    print("\nSteps (medians per cycle; inclusive, and 'own' = minus indicators and writes inside):")
    for step in STEP_TIMES.values():
        if not step.inclusive:
            continue
        inclusive = ms(statistics.median(step.inclusive))
        own = ms(
            statistics.median(i - e for i, e in zip(step.inclusive, step.excluded, strict=True))
        )
        print(f"  {step.label:<48} {inclusive:>7.2f} ms   own {own:>7.2f} ms")
    if missing:
        print(f"  (not found, not timed: {', '.join(missing)})")
    out = io.StringIO()
    pstats.Stats(profiler, stream=out).sort_stats("tottime").print_stats(18)
    print(f"\ncProfile of {args.profile_cycles} cycles, by own time (top 18):")
    for line in out.getvalue().splitlines():
        if line.strip() and not line.lstrip().startswith(("Ordered", "List reduced")):
            print("  " + _SHORT_PATH.sub("", line.rstrip()))
    print(f"median_ms={median_ms:.1f} overhead_share={statistics.median(shares):.3f}")


_SHORT_PATH = re.compile(r"/\S*/(?:site-packages|backend|lib/python3\.\d+)/")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cycles", type=int, default=50)
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument("--profile-cycles", type=int, default=10)
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
