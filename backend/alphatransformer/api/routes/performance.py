"""Performance analytics over the whole history: returns, risk, trades, model cost."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field, replace
from decimal import Decimal
from typing import Any

from fastapi import APIRouter, Request

from alphatransformer.api.dependencies import RuntimeDep
from alphatransformer.api.errors import ERROR_RESPONSES
from alphatransformer.runtime import Runtime
from alphatransformer.trading.performance import LlmUsage, Performance, performance

router = APIRouter(tags=["account"], responses=ERROR_RESPONSES)

EQUITY_POINTS = 20_000
"""Snapshots fed to the metrics: about every 26 minutes over a year of 1-minute snapshots,
enough for hourly-resampled ratios while keeping the query bounded."""


@dataclass(slots=True)
class _ReportCache:
    """The report over the stored history, and the markers that tell when that history changed.

    Reading a year of history and computing its metrics takes a quarter of a second; one
    request does it after a change while the others wait for its result instead of repeating it.
    """

    markers: tuple[Any, ...] | None = None
    report: Performance | None = None
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    async def get(self, runtime: Runtime) -> Performance:
        markers = await _markers(runtime)
        async with self.lock:
            if self.report is None or self.markers != markers:
                self.report = await _report(runtime)
                self.markers = markers
            return self.report


@router.get("/api/performance", response_model=Performance)
async def get_performance(request: Request, runtime: RuntimeDep) -> Performance:
    """One agent's total return, drawdown, Sharpe, Sortino, win rate, profit factor, fees,
    tokens, cost and model errors (`agent`, or the first configured).

    The history is read again only when a snapshot, an order or a cycle was added since the
    last request; unrealized PnL is always live from the exchange.
    """
    return await agent_performance(request, runtime)


async def agent_performance(request: Request, runtime: Runtime) -> Performance:
    """The agent's report, from its cache when its history has not changed."""
    caches: dict[str, _ReportCache] = request.app.state.performance_caches
    cache = caches.setdefault(runtime.name, _ReportCache())
    report = await cache.get(runtime)
    account = await runtime.exchange.account()
    return replace(report, unrealized_pnl=account.unrealized_pnl)


async def _markers(runtime: Runtime) -> tuple[Any, ...]:
    return (
        await runtime.snapshots.last_id(),
        await runtime.executions.last_change(),
        await runtime.decisions.last_cycle_started(),
    )


async def _report(runtime: Runtime) -> Performance:
    """The report from the stored history alone; unrealized PnL is left at zero for the caller."""
    _, series = await runtime.snapshots.equity_series(None, None, EQUITY_POINTS)
    usage = await runtime.decisions.usage_totals()
    return performance(
        [(time, equity) for time, equity, _, _ in series],
        await runtime.executions.fills(),
        Decimal(0),
        LlmUsage(
            usage.input_tokens, usage.output_tokens, usage.cost_usd, usage.cycles, usage.errors
        ),
    )
