"""Backtest and arena results over HTTP, read from the database by run id.

Mount with `app.include_router(backtest_router())`. Read-only: runs are started from the CLI,
which prints their run ids (also in each `report.json`).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query
from fastapi import Path as PathParam

from alphatransformer.api.dependencies import ArenaDep
from alphatransformer.api.errors import ERROR_RESPONSES
from alphatransformer.api.schemas import ErrorResponse
from alphatransformer.arena import LiveArena
from alphatransformer.backtest.arena import Standing, ranked, standing
from alphatransformer.backtest.report import RunRecord, load_run
from alphatransformer.database.engine import session_factory
from alphatransformer.database.repositories import (
    DecisionRepository,
    ExecutionRepository,
    SnapshotRepository,
)
from alphatransformer.trading.performance import Performance

RunId = Annotated[str, PathParam(min_length=1, max_length=64)]
RunIds = Annotated[list[str], Query(alias="run_id", min_length=1, max_length=50)]
_NOT_FOUND: dict[int | str, dict[str, Any]] = {
    404: {"model": ErrorResponse, "description": "No run with that id"}
}


def backtest_router() -> APIRouter:
    """`GET /api/backtests/{run_id}/performance` and `GET /api/arena/leaderboard?run_id=...`."""
    router = APIRouter(tags=["backtests"], responses=ERROR_RESPONSES)

    @router.get(
        "/api/backtests/{run_id}/performance", response_model=Performance, responses=_NOT_FOUND
    )
    async def run_performance(run_id: RunId, arena: ArenaDep) -> Performance:
        """The run's metrics, as `/api/performance` computes them for the live agent."""
        return (await _record(arena, run_id)).performance

    @router.get("/api/arena/leaderboard", response_model=list[Standing], responses=_NOT_FOUND)
    async def arena_leaderboard(arena: ArenaDep, run_ids: RunIds) -> list[Standing]:
        """Standings of the given runs, best total return first."""
        return ranked([standing(r, None, r, await _record(arena, r)) for r in run_ids])

    return router


async def _record(arena: LiveArena, run_id: str) -> RunRecord:
    sessions = session_factory(arena.shared.database)
    record = await load_run(
        DecisionRepository(sessions, run_id),
        ExecutionRepository(sessions, run_id),
        SnapshotRepository(sessions, run_id),
    )
    if not record.equity:
        raise HTTPException(404, f"no run with id {run_id!r}")
    return record
