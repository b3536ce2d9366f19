"""Performance analytics over the whole history: returns, risk, trades, model cost."""

from __future__ import annotations

from fastapi import APIRouter

from alphatransformer.api.dependencies import RuntimeDep
from alphatransformer.api.errors import ERROR_RESPONSES
from alphatransformer.trading.performance import LlmUsage, Performance, performance

router = APIRouter(tags=["account"], responses=ERROR_RESPONSES)

EQUITY_POINTS = 20_000
"""Snapshots fed to the metrics: about every 26 minutes over a year of 1-minute snapshots,
enough for hourly-resampled ratios while keeping the query bounded."""


@router.get("/api/performance", response_model=Performance)
async def get_performance(runtime: RuntimeDep) -> Performance:
    """Total return, drawdown, Sharpe, Sortino, win rate, profit factor, fees, tokens and cost."""
    _, series = await runtime.snapshots.equity_series(None, None, EQUITY_POINTS)
    fills = await runtime.executions.fills()
    usage = await runtime.decisions.usage_totals()
    account = await runtime.exchange.account()
    return performance(
        [(time, equity) for time, equity, _, _ in series],
        fills,
        account.unrealized_pnl,
        LlmUsage(usage.input_tokens, usage.output_tokens, usage.cost_usd),
    )
