"""The live arena: its agents, and the leaderboard that compares them as they trade."""

from __future__ import annotations

from fastapi import APIRouter, Request

from alphatransformer.api.dependencies import ArenaDep
from alphatransformer.api.errors import ERROR_RESPONSES
from alphatransformer.api.routes.performance import agent_performance
from alphatransformer.api.schemas import AgentOut, LeaderboardRow
from alphatransformer.api.views import agent_out
from alphatransformer.runtime import Runtime
from alphatransformer.trading.performance import Performance

router = APIRouter(tags=["arena"], responses=ERROR_RESPONSES)


@router.get("/api/agents", response_model=list[AgentOut])
async def agents(arena: ArenaDep) -> list[AgentOut]:
    """Every agent in the config's order: model, state (and why), equity, return."""
    return [await agent_out(runtime) for runtime in arena.agents.values()]


@router.get("/api/leaderboard", response_model=list[LeaderboardRow])
async def leaderboard(request: Request, arena: ArenaDep) -> list[LeaderboardRow]:
    """Live standings, best total return first; an agent whose every cycle failed ranks last.

    Each row is that agent's `/api/performance`, so the two always agree.
    """
    rows = [
        (runtime, await agent_performance(request, runtime)) for runtime in arena.agents.values()
    ]
    rows.sort(key=lambda row: _rank(*row))
    return [_row(rank, runtime, report) for rank, (runtime, report) in enumerate(rows, start=1)]


def _rank(runtime: Runtime, report: Performance) -> tuple[bool, bool, float, str]:
    usage = report.llm_usage
    never_decided = usage.errors > 0 and usage.errors == usage.cycles
    total = report.equity.total_return
    return (never_decided, total is None, -(total or 0.0), runtime.name)


def _row(rank: int, runtime: Runtime, report: Performance) -> LeaderboardRow:
    equity, trades, usage = report.equity, report.trades, report.llm_usage
    drawdown = equity.max_drawdown
    hold = trades.average_hold_time
    return LeaderboardRow(
        rank=rank,
        agent=runtime.name,
        model=runtime.decision_maker.model_name,
        provider=runtime.config.agent.provider,
        account_value=equity.end_equity,
        total_return=equity.total_return,
        realized_pnl=trades.total_realized_pnl,
        unrealized_pnl=report.unrealized_pnl,
        fees=report.fees_paid,
        win_rate=trades.win_rate,
        biggest_win=trades.biggest_win,
        biggest_loss=trades.biggest_loss,
        sharpe=equity.sharpe,
        max_drawdown=None if drawdown is None else drawdown.fraction,
        trades=trades.trades,
        average_hold_seconds=None if hold is None else hold.total_seconds(),
        input_tokens=usage.input_tokens,
        output_tokens=usage.output_tokens,
        cost_usd=usage.cost_usd,
        model_errors=usage.errors,
    )
