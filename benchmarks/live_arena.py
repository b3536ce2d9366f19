"""CPU cost of one agent's decision cycle in the live arena, with 1, 4 and 16 agents.

Each size is a fresh arena from `open_arena`, assembled as the server does it: the agents
(`agents:` in the config, provider "rules") share one clock, one SQLite database in a temp dir,
one simulated market and one event bus; each has its own paper account, risk gate, order
manager and engine. By default every agent runs the same strategy (`rules.style: trend`), so
that each size does the same work per agent and the ratio measures only what sharing costs
(`--alternate` alternates "trend" and "mean_reversion" instead).

The arena's own `start()` is not used: it would start each engine's decision loop and the
price publisher, which wait on wall-clock timers. Instead each agent's exchange and order
manager are started (as `decision_cycle.py` does for one runtime) and the rounds are driven by
hand on a `ManualClock`. One round is what the live loops do every slot:
1. the clock moves on by one 3m candle and the shared market ticks to it (once for all agents;
   every paper exchange hears its candles);
2. every agent's `engine.run_cycle()` runs, all of them at once (`asyncio.gather`);
3. the order-update queues drain (fills recorded, accounts snapshot after them).

The figure is `time.process_time()` (CPU of the whole process, the database threads included)
over `--rounds` rounds after `--warmup`, divided by rounds x agents: the shared tick and the
order-update work are part of it, split out on the detail line.

Run from the repository root:  uv run python benchmarks/live_arena.py
The last line is `agents=16 cpu_ms_per_agent_cycle=<x> ratio_to_one_agent=<r>`
(target: x <= 10 and r <= 1.3).
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import io
import logging
import pstats
import re
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from alphatransformer.arena import LiveArena, open_arena
from alphatransformer.config import AppConfig
from alphatransformer.market.simulated import SimulatedMarket
from alphatransformer.runtime import Runtime
from alphatransformer.utils.clock import ManualClock

SYMBOLS = ("BTCUSDT", "ETHUSDT", "SOLUSDT", "BNBUSDT", "XRPUSDT", "DOGEUSDT")
NOW_MS = 1_767_225_600_000  # 2026-01-01 00:00 UTC
STEP_MS = 180_000  # one 3m candle between rounds
SIZES = (1, 4, 16)
STYLES = ("trend", "mean_reversion")


@dataclass(slots=True)
class Result:
    agents: int
    cycles: int
    cpu_s: float
    wall_s: float
    tick_cpu_s: float
    settle_cpu_s: float
    actions: Counter[str] = field(default_factory=Counter)

    @property
    def cpu_ms_per_agent_cycle(self) -> float:
        return self.cpu_s * 1000 / self.cycles


def arena_config(
    directory: Path, agents: int, symbols: tuple[str, ...], alternate: bool
) -> AppConfig:
    return AppConfig.model_validate(
        {
            "environment": "paper",
            "symbols": list(symbols),
            "market": {"source": "simulated"},
            "database": {"url": f"sqlite+aiosqlite:///{directory / 'arena.db'}"},
            "agent": {"provider": "rules"},
            "agents": [
                {
                    "name": f"agent{i:02d}",
                    "provider": "rules",
                    "rules": {"style": STYLES[i % 2] if alternate else STYLES[0]},
                }
                for i in range(agents)
            ],
        }
    )


class Bench:
    """One arena driven round by round on a manual clock."""

    def __init__(self, arena: LiveArena, clock: ManualClock, market: SimulatedMarket) -> None:
        self.arena = arena
        self.clock = clock
        self.market = market
        self.runtimes: list[Runtime] = list(arena.agents.values())
        self.actions: Counter[str] = Counter()
        self.tick_cpu_s = 0.0
        self.settle_cpu_s = 0.0

    async def start(self) -> None:
        self.market.load_history()
        for runtime in self.runtimes:
            await runtime.exchange.start()
            await runtime.orders.start()

    async def round(self) -> None:
        began = time.process_time()
        self.clock.advance(STEP_MS)
        self.market.tick(self.clock.now_ms())
        await self._settle()  # fills of resting stops and take-profits hit by the tick
        ticked = time.process_time()
        reports = await asyncio.gather(*(r.engine.run_cycle() for r in self.runtimes))
        cycled = time.process_time()
        await self._settle()
        self.tick_cpu_s += ticked - began
        self.settle_cpu_s += time.process_time() - cycled
        for report in reports:
            if report.error:
                raise RuntimeError(f"cycle {report.cycle_id} failed: {report.error}")
            self.actions["decisions"] += report.decisions
            self.actions["executed"] += report.executed
            self.actions["rejected"] += report.rejected

    async def _settle(self) -> None:
        await asyncio.gather(*(r.orders._updates.join() for r in self.runtimes))

    async def close(self) -> None:
        await asyncio.gather(*(r.orders.stop() for r in self.runtimes))
        await asyncio.gather(*(r.exchange.stop() for r in self.runtimes))
        await self.arena.close()  # each runtime's close (flushes), the market, the database


async def measure(agents: int, args: argparse.Namespace) -> Result:
    with tempfile.TemporaryDirectory(prefix="live-arena-") as temp:
        config = arena_config(Path(temp), agents, args.symbols, args.alternate)
        clock = ManualClock(NOW_MS)
        market = SimulatedMarket(config.symbols, config.market, clock)
        arena = await open_arena(config, clock, market=market)
        bench = Bench(arena, clock, market)
        try:
            await bench.start()
            for _ in range(args.warmup):
                await bench.round()
            bench.tick_cpu_s = bench.settle_cpu_s = 0.0
            bench.actions.clear()
            profiler = cProfile.Profile() if args.profile and agents == max(args.sizes) else None
            wall = time.perf_counter()
            cpu = time.process_time()
            if profiler is not None:
                profiler.enable()
            for _ in range(args.rounds):
                await bench.round()
            if profiler is not None:
                profiler.disable()
            cpu_s = time.process_time() - cpu
            wall_s = time.perf_counter() - wall
        finally:
            await bench.close()
    if profiler is not None:
        print_profile(profiler, agents, args.rounds)
    return Result(
        agents=agents,
        cycles=args.rounds * agents,
        cpu_s=cpu_s,
        wall_s=wall_s,
        tick_cpu_s=bench.tick_cpu_s,
        settle_cpu_s=bench.settle_cpu_s,
        actions=bench.actions,
    )


def print_profile(profiler: cProfile.Profile, agents: int, rounds: int) -> None:
    """Top 25 by cumulative and by own time, and own time summed by package. Under asyncio
    the cumulative column counts the loop's and coroutines' frames many times over (every
    resumption is a call), so own time is the trustworthy split."""
    cycles = rounds * agents
    for key, label in (("cumulative", "cumtime"), ("tottime", "own time")):
        out = io.StringIO()
        pstats.Stats(profiler, stream=out).sort_stats(key).print_stats(25)
        print(f"  cProfile of {rounds} measured rounds x {agents} agents, by {label} (top 25):")
        for line in out.getvalue().splitlines():
            if line.strip() and not line.lstrip().startswith(("Ordered", "List reduced")):
                print("    " + _SHORT_PATH.sub("", line.rstrip()))
    by_package: Counter[str] = Counter()
    stats: dict[tuple[str, int, str], tuple[int, int, float, float, object]]
    stats = pstats.Stats(profiler).stats  # type: ignore[attr-defined]
    total = 0.0
    for (filename, _, function), (_, _, own, _, _) in stats.items():
        by_package[_package(filename, function)] += own
        total += own
    print(
        f"  own time by package, ms per agent-cycle (profiled; total {total * 1000 / cycles:.2f}):"
    )
    for package, own in by_package.most_common(14):
        print(f"    {package:<40} {own * 1000 / cycles:>7.2f}  {own / total:>6.1%}")


_SHORT_PATH = re.compile(r"/\S*/(?:site-packages|backend|lib/python3\.\d+)/")
_SITE = re.compile(r"/site-packages/([^/.]+)")
_OWN = re.compile(r"/backend/alphatransformer/([^/.]+)")
_STDLIB = re.compile(r"/lib/python3\.\d+/([^/.]+)")


def _package(filename: str, function: str) -> str:
    """`alphatransformer/<module>`, a site package, a stdlib module, or `C: <function>`."""
    if filename == "~":
        return f"C: {function}"[:40]
    if found := _SITE.search(filename):
        return found.group(1)
    if found := _OWN.search(filename):
        return f"alphatransformer/{found.group(1)}"
    if found := _STDLIB.search(filename):
        return f"stdlib {found.group(1)}"
    return filename[-40:]


async def run(args: argparse.Namespace) -> None:
    logging.getLogger("alphatransformer").setLevel(logging.WARNING)
    mix = "alternating trend / mean_reversion" if args.alternate else "all trend"
    print(
        f"Live arena: {len(args.symbols)} symbols, 3m/4h simulated market, rules agents "
        f"({mix}), paper exchange, SQLite; {args.rounds} rounds after {args.warmup} warm-up"
    )
    results: dict[int, Result] = {}
    for agents in args.sizes:
        result = await measure(agents, args)
        results[agents] = result
        per_round = 1000 / args.rounds
        print(
            f"  detail agents={agents}: wall_ms_per_round={result.wall_s * per_round:.1f} "
            f"tick_cpu_ms_per_round={result.tick_cpu_s * per_round:.2f} "
            f"settle_cpu_ms_per_round={result.settle_cpu_s * per_round:.2f} "
            f"decisions={result.actions['decisions']} executed={result.actions['executed']} "
            f"rejected={result.actions['rejected']}"
        )
        print(
            f"agents={agents} cycles={result.cycles} "
            f"cpu_ms_per_agent_cycle={result.cpu_ms_per_agent_cycle:.2f}"
        )
    largest, smallest = max(results), min(results)
    x = results[largest].cpu_ms_per_agent_cycle
    ratio = x / results[smallest].cpu_ms_per_agent_cycle
    print(f"agents={largest} cpu_ms_per_agent_cycle={x:.2f} ratio_to_one_agent={ratio:.2f}")


def symbols_arg(value: str) -> tuple[str, ...]:
    """A count (the first n of the six default symbols) or a comma-separated list."""
    if value.isdigit():
        count = int(value)
        if not 1 <= count <= len(SYMBOLS):
            raise argparse.ArgumentTypeError(f"a count must be 1..{len(SYMBOLS)}")
        return SYMBOLS[:count]
    return tuple(s.strip().upper() for s in value.split(",") if s.strip())


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--rounds", type=int, default=60, help="measured rounds per size")
    parser.add_argument("--warmup", type=int, default=5, help="unmeasured rounds first")
    parser.add_argument(
        "--symbols",
        type=symbols_arg,
        default=SYMBOLS,
        help="a count (first n of the six) or a comma-separated list; default all six",
    )
    parser.add_argument(
        "--sizes",
        type=lambda v: tuple(sorted({int(n) for n in v.split(",")})),
        default=SIZES,
        help="agent counts, comma-separated; the smallest is the ratio's base (default 1,4,16)",
    )
    parser.add_argument(
        "--profile",
        action="store_true",
        help="cProfile the measured rounds of the largest size (its figure is then inflated)",
    )
    parser.add_argument(
        "--alternate",
        action="store_true",
        help="alternate rules.style trend / mean_reversion (default: all trend)",
    )
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
