"""Backtest and arena results over HTTP, read from the database by run id.

Mount with `app.include_router(backtest_router())`. Read-only: runs are started from the CLI,
which prints their run ids (also in each `report.json`) and arena ids; `GET /api/runs` lists
them.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any, get_args

from fastapi import APIRouter, Depends, HTTPException, Query
from fastapi import Path as PathParam
from pydantic import BaseModel
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from alphatransformer.api.dependencies import ArenaDep
from alphatransformer.api.errors import ERROR_RESPONSES
from alphatransformer.api.routes.account import MaxPoints, account_history
from alphatransformer.api.schemas import AccountHistory, ErrorResponse
from alphatransformer.backtest.arena import Standing, ranked, standing
from alphatransformer.backtest.report import RunRecord, load_run
from alphatransformer.backtest.runner import RunKind, RunOrigin, run_origin
from alphatransformer.database.engine import session_factory
from alphatransformer.database.repositories import (
    DecisionRepository,
    ExecutionRepository,
    RunRepository,
    RunSummary,
    SnapshotRepository,
)
from alphatransformer.trading.performance import Performance

MAX_RUNS = 50
"""Most runs one leaderboard computes (each reads its whole history), arenas expanded."""

RunId = Annotated[str, PathParam(min_length=1, max_length=64)]
RunIds = Annotated[
    list[str],
    Query(
        alias="run_id",
        min_length=1,
        max_length=MAX_RUNS,
        description="A run id, or an arena id for every entrant of that arena; repeat for more.",
    ),
]
_NOT_FOUND: dict[int | str, dict[str, Any]] = {
    404: {"model": ErrorResponse, "description": "No run with that id"}
}


async def _sessions(arena: ArenaDep) -> async_sessionmaker[AsyncSession]:
    """The database's sessions: the one place that knows where the app keeps its database."""
    return session_factory(arena.shared.database)


Sessions = Annotated[async_sessionmaker[AsyncSession], Depends(_sessions)]


class RunOut(BaseModel):
    """A past backtest or arena entrant. `started_at` and `finished_at` bound the replayed
    period (its first and last account snapshots); `created_at` is when it was run (from its
    id, to the second): the list's order. Money as decimal strings."""

    run_id: str
    kind: RunKind
    arena_id: str | None
    """The arena's id for an entrant (what the CLI prints); None for a backtest."""
    name: str
    """The entrant's name in its arena; a backtest's run id."""
    model: str | None
    """The model of its first cycle; None before any cycle."""
    created_at: datetime
    started_at: datetime
    finished_at: datetime
    cycles: int
    """Decision cycles recorded, the closing one at the end of the replay included."""
    total_return: float | None
    end_equity: Decimal
    model_errors: int
    """Cycles whose model call failed (every symbol held); `cycles` of them: it never decided."""

    @classmethod
    def of(cls, origin: RunOrigin, summary: RunSummary) -> RunOut:
        return cls(
            run_id=summary.run_id,
            kind=origin.kind,
            arena_id=origin.arena_id,
            name=origin.name,
            model=summary.model,
            created_at=origin.created_at,
            started_at=summary.first_at,
            finished_at=summary.last_at,
            cycles=summary.cycles,
            total_return=summary.total_return,
            end_equity=summary.end_equity,
            model_errors=summary.model_errors,
        )


def backtest_router() -> APIRouter:
    """`GET /api/runs`, `GET /api/backtests/{run_id}/performance` and `.../history`, and
    `GET /api/arena/leaderboard?run_id=...`."""
    router = APIRouter(tags=["backtests"], responses=ERROR_RESPONSES)

    @router.get("/api/runs", response_model=list[RunOut])
    async def runs(
        sessions: Sessions, limit: Annotated[int, Query(ge=1, le=500)] = 50
    ) -> list[RunOut]:
        """Past backtests and arena entrants, newest first (the live agent's runs are not
        listed); each costs a few index seeks, however long its history."""
        return await _newest_runs(RunRepository(sessions), limit)

    @router.get(
        "/api/backtests/{run_id}/performance", response_model=Performance, responses=_NOT_FOUND
    )
    async def run_performance(run_id: RunId, sessions: Sessions) -> Performance:
        """The run's metrics, as `/api/performance` computes them for the live agent."""
        return (await _record(sessions, run_id)).performance

    @router.get(
        "/api/backtests/{run_id}/history", response_model=AccountHistory, responses=_NOT_FOUND
    )
    async def run_history(
        run_id: RunId, sessions: Sessions, max_points: MaxPoints = 500
    ) -> AccountHistory:
        """The run's equity curve, shaped as `/api/account/history`'s, to draw beside the live
        agent's or another run's; downsampled to about `max_points`."""
        name = origin.name if (origin := run_origin(run_id)) is not None else run_id
        history = await account_history(
            name, SnapshotRepository(sessions, run_id), None, None, max_points
        )
        if history.total_points == 0:
            raise _not_found(run_id)
        return history

    @router.get(
        "/api/arena/leaderboard",
        response_model=list[Standing],
        responses={
            **_NOT_FOUND,
            422: {
                "model": ErrorResponse,
                "description": f"Invalid parameters, or more than {MAX_RUNS} runs named",
            },
        },
    )
    async def arena_leaderboard(sessions: Sessions, run_ids: RunIds) -> list[Standing]:
        """Standings of the runs named (an arena id names every entrant of its arena), each
        computed once however often it is named, best total return first; entrants whose model
        failed in every cycle last."""
        summaries = await _named_runs(RunRepository(sessions), run_ids)
        return ranked([await _standing(sessions, summary) for summary in summaries])

    return router


async def _newest_runs(runs: RunRepository, limit: int) -> list[RunOut]:
    """The `limit` greatest ids of each kind, merged by (start time, id), greatest first: a
    kind's ids sort by the time they begin with, so its `limit` greatest hold all of its runs
    that are among the `limit` newest of every kind."""
    ids = [
        run_id
        for kind in get_args(RunKind)
        for run_id in await runs.newest_run_ids(f"{kind}-", limit)
    ]
    origins = {run_id: origin for run_id in ids if (origin := run_origin(run_id)) is not None}
    newest = sorted(origins, key=lambda run_id: (origins[run_id].created_at, run_id), reverse=True)
    return [RunOut.of(origins[s.run_id], s) for s in await runs.summaries(newest[:limit])]


async def _named_runs(runs: RunRepository, names: list[str]) -> list[RunSummary]:
    """The runs `names` name, each once: a name with a run of its own names that run; one
    without names the runs it prefixes as `<name>-` (an arena id, its entrants)."""
    unique = list(dict.fromkeys(names))
    found = {summary.run_id for summary in await runs.summaries(unique)}
    run_ids: dict[str, None] = {}
    for name in unique:
        members = [name] if name in found else await runs.newest_run_ids(f"{name}-", MAX_RUNS + 1)
        if not members:
            raise _not_found(name)
        run_ids.update(dict.fromkeys(members))
        if len(run_ids) > MAX_RUNS:
            raise HTTPException(422, f"more than {MAX_RUNS} runs named; ask for fewer at once")
    return await runs.summaries(list(run_ids))


async def _standing(sessions: async_sessionmaker[AsyncSession], summary: RunSummary) -> Standing:
    origin = run_origin(summary.run_id)
    name = summary.run_id if origin is None else origin.name
    record = await _record(sessions, summary.run_id)
    return standing(name, summary.model, summary.run_id, record)


async def _record(sessions: async_sessionmaker[AsyncSession], run_id: str) -> RunRecord:
    record = await load_run(
        DecisionRepository(sessions, run_id),
        ExecutionRepository(sessions, run_id),
        SnapshotRepository(sessions, run_id),
    )
    if not record.equity:
        raise _not_found(run_id)
    return record


def _not_found(run_id: str) -> HTTPException:
    return HTTPException(404, f"no run with id {run_id!r}")
