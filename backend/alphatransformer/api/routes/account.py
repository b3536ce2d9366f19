"""Account, positions (live from the exchange) and the equity history (from snapshots)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query

from alphatransformer.api.dependencies import RuntimeDep
from alphatransformer.api.errors import ERROR_RESPONSES
from alphatransformer.api.schemas import AccountHistory, AccountOut, EquityPoint, PositionOut
from alphatransformer.api.time_params import IsoDatetime
from alphatransformer.database.repositories import SnapshotRepository

router = APIRouter(tags=["account"], responses=ERROR_RESPONSES)


@router.get("/api/account", response_model=AccountOut)
async def account(runtime: RuntimeDep) -> AccountOut:
    return AccountOut.of(await runtime.exchange.account())


@router.get("/api/positions", response_model=list[PositionOut])
async def positions(runtime: RuntimeDep) -> list[PositionOut]:
    return [PositionOut.of(p) for p in (await runtime.exchange.account()).positions]


MaxPoints = Annotated[int, Query(ge=2, le=10_000)]


@router.get("/api/account/history", response_model=AccountHistory)
async def history(
    runtime: RuntimeDep,
    since: IsoDatetime | None = None,
    until: IsoDatetime | None = None,
    max_points: MaxPoints = 500,
) -> AccountHistory:
    """Equity over time for a chart; long ranges are downsampled to about `max_points`."""
    return await account_history(runtime.snapshots, since, until, max_points)


async def account_history(
    snapshots: SnapshotRepository, since: datetime | None, until: datetime | None, max_points: int
) -> AccountHistory:
    """A run's equity curve for a chart: the live agent's, or a backtest's for comparison."""
    total, rows = await snapshots.equity_series(since, until, max_points)
    return AccountHistory(
        points=[
            EquityPoint(time=t, equity=e, wallet_balance=w, unrealized_pnl=u) for t, e, w, u in rows
        ],
        total_points=total,
    )
