"""How fast a backtest replays history with the rules model deciding.

The target case: 30 days of 3-minute candles for six symbols, a decision every candle (14,400
cycles), in under 2 minutes on a 2-core machine. The history is the simulated market's (seeded,
written as monthly files in a temp dir, with the warm-up before the first decision); the run is
`run_entrants` as `alphatransformer backtest` drives it, on uvloop as the CLI does: the replay
market, the paper exchange, the risk gate, the order manager, SQLite, and the rules model behind
the LangChain agent.

Besides the rates it splits the run's time: inside the model's `decide` (prompt, agent graph,
tools, the rules strategy), and everything else (replay and paper exchange, save and execute
steps, account snapshots, the database). `--profile` adds the top functions by cumulative time.

Run from the repository root:  uv run python benchmarks/backtest_speed.py [--days 30]
The last line is `candles_per_s=<n> cycles_per_s=<m>`.
"""

from __future__ import annotations

import argparse
import cProfile
import logging
import pstats
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

from alphatransformer.agent.answer import ModelAnswer
from alphatransformer.agent.decision_maker import DecisionMaker, DecisionRequest
from alphatransformer.agent.llm_factory import build_decision_maker
from alphatransformer.agent.tools import RecentDecisions
from alphatransformer.backtest.downloads import write_history
from alphatransformer.backtest.period import ReplayPeriod
from alphatransformer.backtest.runner import Entrant, run_entrants
from alphatransformer.config.schema import AppConfig, DatabaseConfig, MarketConfig
from alphatransformer.market.simulated import SimulatedMarket
from alphatransformer.market.types import Interval, Kline
from alphatransformer.utils.clock import ManualClock
from alphatransformer.utils.event_loop import run_batch

SYMBOLS = ("BTCUSDT", "ETHUSDT", "SOLUSDT", "BNBUSDT", "XRPUSDT", "DOGEUSDT")
START_MS = 1_704_067_200_000  # 2024-01-01 00:00 UTC: the first decision
DAY_MS = 86_400_000


class TimedModel:
    """The rules model, with the time spent in its `decide` added up."""

    def __init__(self, inner: DecisionMaker) -> None:
        self._inner = inner
        self.seconds = 0.0

    @property
    def model_name(self) -> str:
        return self._inner.model_name

    async def decide(self, request: DecisionRequest) -> ModelAnswer:
        started = time.perf_counter()
        try:
            return await self._inner.decide(request)
        finally:
            self.seconds += time.perf_counter() - started


def simulated_history(config: AppConfig, first_ms: int, end_ms: int) -> list[Kline]:
    """Closed short candles of every symbol in [first_ms, end_ms), from the simulated market
    moved a day at a time (it reports at most `cache_size` candles per move)."""
    clock = ManualClock(first_ms)
    market = SimulatedMarket(config.symbols, config.market, clock)
    short = config.market.short_interval
    candles: list[Kline] = []

    def keep(kline: Kline) -> None:
        if kline.closed and kline.interval is short:
            candles.append(kline)

    market.add_listener(keep)
    market.load_history()
    for day_end in range(first_ms + DAY_MS, end_ms + DAY_MS, DAY_MS):
        market.tick(min(day_end, end_ms))
    return [k for k in candles if k.open_time < end_ms]


def write_market(root: Path, config: AppConfig, period: ReplayPeriod) -> int:
    """Write the replay's files (warm-up included); return the number of candles written."""
    long = config.market.long_interval
    first_ms = long.open_time(period.start_ms) - config.market.history_candles * long.ms
    candles = simulated_history(config, first_ms, period.end_ms)
    for symbol in config.symbols:
        write_history(root, [k for k in candles if k.symbol == symbol])
    return len(candles)


async def replay(config: AppConfig, period: ReplayPeriod, model: list[TimedModel]) -> int:
    """Run the backtest; return the number of decision cycles it ran."""

    def make_model(recent: RecentDecisions) -> DecisionMaker:
        model.append(TimedModel(build_decision_maker(config, recent)))
        return model[-1]

    entrant = Entrant("bench", config, make_model)
    [result] = await run_entrants([entrant], [f"bench-{time.time_ns()}"], period)
    return result.cycles


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--days", type=float, default=30.0)
    parser.add_argument("--symbols", type=int, default=len(SYMBOLS), choices=range(1, 7))
    parser.add_argument("--every", type=Interval, default=Interval.M3, help="decision interval")
    parser.add_argument("--profile", action="store_true", help="also print a cProfile summary")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.ERROR)

    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        config = AppConfig(
            symbols=SYMBOLS[: args.symbols],
            market=MarketConfig(),
            database=DatabaseConfig(url=f"sqlite+aiosqlite:///{root}/bench.db"),
        )
        end_ms = START_MS + int(args.days * DAY_MS)
        period = ReplayPeriod(root / "history", START_MS, end_ms, args.every)
        written = write_market(root / "history", config, period)
        print(f"history: {written} candles of {len(config.symbols)} symbols written")

        model: list[TimedModel] = []
        profile = cProfile.Profile() if args.profile else None
        started = time.perf_counter()
        if profile is not None:
            profile.enable()
        cycles = run_batch(replay(config, period, model))
        if profile is not None:
            profile.disable()
        elapsed = time.perf_counter() - started
        stored = sum(path.stat().st_size for path in root.glob("bench.db*"))

    steps = (period.end_ms - period.start_ms) // config.market.short_interval.ms
    candles = steps * len(config.symbols)
    in_model = model[0].seconds
    print(f"replayed {candles} candles, {cycles} decision cycles in {elapsed:.1f} s")
    print(
        f"time: model decide {in_model:.1f} s ({in_model / elapsed:.0%}), everything else "
        f"{elapsed - in_model:.1f} s; per cycle {1000 * elapsed / max(cycles, 1):.1f} ms"
    )
    print(f"database: {stored / 1e6:.1f} MB, {stored / max(cycles, 1) / 1e3:.1f} KB per cycle")
    if profile is not None:
        pstats.Stats(profile, stream=sys.stdout).sort_stats("cumulative").print_stats(30)
    print(f"candles_per_s={candles / elapsed:.0f} cycles_per_s={cycles / elapsed:.1f}")


if __name__ == "__main__":
    main()
