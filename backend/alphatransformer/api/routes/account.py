"""Account, positions (live from the exchange) and the equity history (from snapshots)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query

from alphatransformer.api.dependencies import ArenaDep, RuntimeDep, RuntimesDep
from alphatransformer.api.errors import ERROR_RESPONSES
from alphatransformer.api.schemas import AccountHistory, AccountOut, EquityPoint, PositionOut
from alphatransformer.api.time_params import IsoDatetime
from alphatransformer.api.views import positions_out
from alphatransformer.database.repositories import SnapshotRepository

router = APIRouter(tags=["account"], responses=ERROR_RESPONSES)

MaxPoints = Annotated[int, Query(ge=2, le=10_000)]


@router.get("/api/account", response_model=AccountOut)
async def account(runtime: RuntimeDep) -> AccountOut:
    """One agent's account (`agent`, or the first configured)."""
    return AccountOut.of(runtime.name, await runtime.exchange.account())


@router.get("/api/positions", response_model=list[PositionOut])
async def positions(runtimes: RuntimesDep) -> list[PositionOut]:
    """Open positions of `agent`, or of every agent, each with its exit plan."""
    found: list[PositionOut] = []
    for runtime in runtimes:
        found += await positions_out(runtime, (await runtime.exchange.account()).positions)
    return found


@router.get("/api/account/history", response_model=AccountHistory)
async def history(
    runtime: RuntimeDep,
    since: IsoDatetime | None = None,
    until: IsoDatetime | None = None,
    max_points: MaxPoints = 500,
) -> AccountHistory:
    """One agent's equity over time for a chart; long ranges are downsampled to about
    `max_points`."""
    return await account_history(runtime.name, runtime.snapshots, since, until, max_points)


@router.get("/api/account/histories", response_model=list[AccountHistory])
async def histories(
    arena: ArenaDep,
    since: IsoDatetime | None = None,
    until: IsoDatetime | None = None,
    max_points: MaxPoints = 500,
) -> list[AccountHistory]:
    """Every agent's equity curve in one call, for one chart, in the config's order."""
    return [
        await account_history(r.name, r.snapshots, since, until, max_points)
        for r in arena.agents.values()
    ]


async def account_history(
    agent: str,
    snapshots: SnapshotRepository,
    since: datetime | None,
    until: datetime | None,
    max_points: int,
) -> AccountHistory:
    """An equity curve for a chart: a live agent's, or a backtest's for comparison."""
    total, rows = await snapshots.equity_series(since, until, max_points)
    return AccountHistory(
        agent=agent,
        points=[
            EquityPoint(time=t, equity=e, wallet_balance=w, unrealized_pnl=u) for t, e, w, u in rows
        ],
        total_points=total,
    )
