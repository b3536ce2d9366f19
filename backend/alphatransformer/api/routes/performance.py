"""Performance analytics over the whole history: returns, risk, trades, model cost."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter, Request

from alphatransformer.api.dependencies import RuntimeDep
from alphatransformer.api.errors import ERROR_RESPONSES
from alphatransformer.runtime import Runtime
from alphatransformer.trading.performance import (
    EquityPoint,
    ExecutionFill,
    LlmUsage,
    Performance,
    performance,
)

router = APIRouter(tags=["account"], responses=ERROR_RESPONSES)

EQUITY_POINTS = 20_000
"""Snapshots fed to the metrics: about every 26 minutes over a year of 1-minute snapshots,
enough for hourly-resampled ratios while keeping the query bounded."""


@dataclass(frozen=True, slots=True)
class _Inputs:
    """What the report is computed from, and the markers that tell when it changed."""

    markers: tuple[Any, ...]
    equity: list[EquityPoint]
    fills: list[ExecutionFill]
    usage: LlmUsage


@router.get("/api/performance", response_model=Performance)
async def get_performance(request: Request, runtime: RuntimeDep) -> Performance:
    """Total return, drawdown, Sharpe, Sortino, win rate, profit factor, fees, tokens and cost.

    The history is read again only when a snapshot, an order or a cycle was added since the
    last request; unrealized PnL is always live from the exchange.
    """
    inputs = await _inputs(runtime, getattr(request.app.state, "performance_inputs", None))
    request.app.state.performance_inputs = inputs
    account = await runtime.exchange.account()
    return performance(inputs.equity, inputs.fills, account.unrealized_pnl, inputs.usage)


async def _inputs(runtime: Runtime, cached: _Inputs | None) -> _Inputs:
    markers = (
        await runtime.snapshots.last_id(),
        await runtime.executions.last_change(),
        await runtime.decisions.last_cycle_started(),
    )
    if cached is not None and cached.markers == markers:
        return cached
    _, series = await runtime.snapshots.equity_series(None, None, EQUITY_POINTS)
    usage = await runtime.decisions.usage_totals()
    return _Inputs(
        markers=markers,
        equity=[(time, equity) for time, equity, _, _ in series],
        fills=await runtime.executions.fills(),
        usage=LlmUsage(usage.input_tokens, usage.output_tokens, usage.cost_usd),
    )
