"""The backtest router the API mounts: a run's performance and a leaderboard, by run id."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from types import SimpleNamespace

import httpx
import pytest
from backtest.replay_data import config_for, period
from fastapi import FastAPI

from alphatransformer.backtest.api import backtest_router
from alphatransformer.backtest.arena import run_arena
from alphatransformer.backtest.runner import ModelOptions
from alphatransformer.database.engine import create_engine
from alphatransformer.market.types import Interval


@pytest.fixture
async def client(tmp_path: Path, history: Path) -> AsyncIterator[httpx.AsyncClient]:
    await run_arena(
        config_for(tmp_path),
        [],
        period(history, days=1, every=Interval.H6),
        ModelOptions(),
        arena_id="arena-api",
        reports=tmp_path / "reports",
    )
    app = FastAPI()
    app.include_router(backtest_router())
    database = create_engine(f"sqlite+aiosqlite:///{tmp_path}/backtest.db")
    app.state.arena = SimpleNamespace(shared=SimpleNamespace(database=database))
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        yield client
    await database.dispose()


async def test_a_run_s_performance_is_served_by_its_run_id(client: httpx.AsyncClient) -> None:
    response = await client.get("/api/backtests/arena-api-buy-and-hold/performance")

    assert response.status_code == 200
    body = response.json()
    assert body["equity"]["start_equity"] == "10000.00000000"
    assert body["trades"]["trades"] == 3


async def test_the_leaderboard_ranks_the_runs_asked_for(client: httpx.AsyncClient) -> None:
    response = await client.get(
        "/api/arena/leaderboard",
        params=[("run_id", "arena-api-rules"), ("run_id", "arena-api-buy-and-hold")],
    )

    assert response.status_code == 200
    rows = response.json()
    assert {row["run_id"] for row in rows} == {"arena-api-rules", "arena-api-buy-and-hold"}
    returns = [row["total_return"] for row in rows]
    assert returns == sorted(returns, reverse=True)


async def test_an_unknown_run_is_not_found(client: httpx.AsyncClient) -> None:
    performance = await client.get("/api/backtests/no-such-run/performance")
    board = await client.get("/api/arena/leaderboard", params={"run_id": "no-such-run"})

    assert (performance.status_code, board.status_code) == (404, 404)
