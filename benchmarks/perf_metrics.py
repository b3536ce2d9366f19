"""How long performance analytics take on a year of one-minute equity and 10,000 fills.

`GET /api/performance` computes these on request, so a year of minute snapshots (525,600
points) must stay well under a second. The inputs are seeded, so every run times the same work;
the figure is the best of a few runs, which is the least disturbed by the rest of the machine.

Run from the repository root:  uv run python benchmarks/perf_metrics.py
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from alphatransformer.database.models import ExecutionPurpose
from alphatransformer.trading.models import OrderSide
from alphatransformer.trading.performance import (
    EquityPoint,
    ExecutionFill,
    closed_trades,
    equity_metrics,
)

MINUTES_PER_YEAR = 525_600
FILLS = 10_000
REPEATS = 5
START = datetime(2025, 1, 1, tzinfo=UTC)
CENT = Decimal("0.01")


def equity_curve(rng: random.Random) -> list[EquityPoint]:
    """A random walk of equity, one snapshot a minute, in cents as the exchange reports it."""
    points: list[EquityPoint] = []
    equity = 10_000.0
    for minute in range(MINUTES_PER_YEAR):
        equity *= 1 + rng.gauss(0, 0.0005)
        points.append((START + timedelta(minutes=minute), Decimal(f"{equity:.2f}")))
    return points


def fills(rng: random.Random) -> list[ExecutionFill]:
    """Round trips of an entry and three partial exits, rotating over four symbols."""
    result: list[ExecutionFill] = []
    symbols = ["BTCUSDT", "ETHUSDT", "SOLUSDT", "BNBUSDT"]
    exits = [ExecutionPurpose.TAKE_PROFIT, ExecutionPurpose.STOP_LOSS, ExecutionPurpose.CLOSE]
    for trade in range(FILLS // (1 + len(exits))):
        symbol = symbols[trade % len(symbols)]
        at = START + timedelta(hours=trade)
        price = Decimal(rng.randint(1_000, 100_000))
        result.append(fill(symbol, OrderSide.BUY, ExecutionPurpose.ENTRY, "3", price, at))
        for minute, purpose in enumerate(exits, start=1):
            exit_at = at + timedelta(minutes=minute)
            result.append(fill(symbol, OrderSide.SELL, purpose, "1", price, exit_at))
    return result


def fill(
    symbol: str,
    side: OrderSide,
    purpose: ExecutionPurpose,
    quantity: str,
    price: Decimal,
    at: datetime,
) -> ExecutionFill:
    fee = (Decimal(quantity) * price * Decimal("0.0004")).quantize(CENT)
    pnl = Decimal(0) if purpose is ExecutionPurpose.ENTRY else Decimal("12.5")
    return ExecutionFill(symbol, side, purpose, Decimal(quantity), price, fee, pnl, at)


def best_ms(work: Callable[[], object]) -> float:
    timings = []
    for _ in range(REPEATS):
        started = time.perf_counter()
        work()
        timings.append((time.perf_counter() - started) * 1000)
    return min(timings)


def main() -> None:
    rng = random.Random(20250101)
    points = equity_curve(rng)
    executions = fills(rng)
    metrics = equity_metrics(points)
    trades = closed_trades(executions)
    equity_ms = best_ms(lambda: equity_metrics(points))
    trades_ms = best_ms(lambda: closed_trades(executions))
    print(f"equity_metrics: {len(points):,} points, {metrics.periods:,} hourly periods")
    print(f"  sharpe={metrics.sharpe} sortino={metrics.sortino} volatility={metrics.volatility}")
    print(f"  best of {REPEATS}: {equity_ms:.1f} ms")
    print(f"closed_trades: {len(executions):,} fills, {len(trades):,} trades")
    print(f"  best of {REPEATS}: {trades_ms:.1f} ms")
    print(f"equity_metrics_ms={equity_ms:.1f} closed_trades_ms={trades_ms:.1f}")


if __name__ == "__main__":
    main()
