"""The backtest router the API mounts: past runs, a run's performance and equity curve, and
leaderboards by run id or arena id.

One arena (the rules model, buy-and-hold and "mute", an LLM whose every call fails) and one
backtest are replayed once for the module, over one day deciding every 6 hours: four cycles.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from types import SimpleNamespace

import httpx
import pytest
import pytest_asyncio
from backtest.replay_data import START, config_for, period
from backtest.test_arena import scripted_llm
from fakes.openai_server import FakeOpenAIServer
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncEngine

import alphatransformer.backtest.api as backtest_api
from alphatransformer.api.errors import install_error_handlers
from alphatransformer.backtest.api import MAX_RUNS, backtest_router
from alphatransformer.backtest.arena import run_arena
from alphatransformer.backtest.report import RunRecord, load_run
from alphatransformer.backtest.runner import ModelOptions, run_backtest
from alphatransformer.database.engine import create_engine, session_factory
from alphatransformer.database.migrate import upgrade_database
from alphatransformer.database.models import AccountSnapshot
from alphatransformer.database.repositories import (
    DecisionRepository,
    ExecutionRepository,
    SnapshotRepository,
)
from alphatransformer.market.types import Interval

pytestmark = pytest.mark.asyncio(loop_scope="module")

ARENA = "arena-20261205T120000-a1b2"
BACKTEST = "backtest-20261205T130000-c3d4"
MUTE = f"{ARENA}-mute"
DAY_START = datetime.fromtimestamp(START / 1000, UTC)  # 2024-01-11 00:00 UTC, the first decision
TEN_THOUSAND = "10000.00000000"  # the starting balance, as the database holds it


async def seed(database: AsyncEngine, run_id: str, equities: Sequence[str]) -> None:
    """One snapshot an hour from `DAY_START`, with these equities: a run as the listing sees it."""
    snapshots = SnapshotRepository(session_factory(database), run_id)
    for hour, equity in enumerate(map(Decimal, equities)):
        await snapshots.add(
            AccountSnapshot(
                taken_at=DAY_START + timedelta(hours=hour),
                environment="paper",
                wallet_balance=equity,
                equity=equity,
                available_balance=equity,
                unrealized_pnl=Decimal(0),
                margin_used=Decimal(0),
                open_positions=0,
            )
        )


async def serve(database: AsyncEngine) -> httpx.AsyncClient:
    app = FastAPI()
    install_error_handlers(app)
    app.include_router(backtest_router())
    app.state.arena = SimpleNamespace(shared=SimpleNamespace(database=database))
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test")


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def client(
    tmp_path_factory: pytest.TempPathFactory, history: Path
) -> AsyncIterator[httpx.AsyncClient]:
    folder = tmp_path_factory.mktemp("api")
    config, replay = config_for(folder), period(history, days=1, every=Interval.H6)
    reports = folder / "reports"
    async with FakeOpenAIServer() as server:  # nothing scripted: every call fails with a 500
        await run_arena(
            config,
            [("mute", scripted_llm(server))],
            replay,
            ModelOptions(),
            arena_id=ARENA,
            reports=reports,
        )
    await run_backtest(config, replay, ModelOptions(), run_id=BACKTEST, reports=reports)
    database = create_engine(config.database.url)
    for live in ("live", "live-paper"):
        await seed(database, live, ["10000", "10100"])
    async with await serve(database) as client:
        yield client
    await database.dispose()


async def test_a_run_s_performance_is_served_by_its_run_id(client: httpx.AsyncClient) -> None:
    response = await client.get(f"/api/backtests/{ARENA}-buy-and-hold/performance")

    assert response.status_code == 200
    body = response.json()
    assert body["equity"]["start_equity"] == TEN_THOUSAND
    assert body["trades"]["trades"] == 3


async def test_an_arena_id_ranks_every_entrant_and_one_that_never_decided_last(
    client: httpx.AsyncClient,
) -> None:
    response = await client.get("/api/arena/leaderboard", params={"run_id": ARENA})

    assert response.status_code == 200
    rows = response.json()
    # Mute's +0.00 % ties the rules model's and beats buy-and-hold's -0.40 %: by return alone
    # it would come first (ties by name), yet it measured nothing.
    assert [row["name"] for row in rows][-1] == "mute"
    assert {row["run_id"] for row in rows} == {
        f"{ARENA}-{n}" for n in ("rules", "buy-and-hold", "mute")
    }
    decided = [row["total_return"] for row in rows[:-1]]
    assert decided == sorted(decided, reverse=True)
    mute = rows[-1]
    assert (mute["model"], mute["cycles"], mute["model_errors"], mute["never_decided"]) == (
        "fake-gpt",
        4,
        4,
        True,
    )
    assert mute["total_return"] == 0.0, "it held cash throughout"
    assert [row["model_errors"] for row in rows[:-1]] == [0, 0]


async def test_an_id_named_fifty_times_is_computed_once(
    client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    loaded: list[str] = []

    async def counted(
        decisions: DecisionRepository,
        executions: ExecutionRepository,
        snapshots: SnapshotRepository,
    ) -> RunRecord:
        loaded.append(decisions.run_id)
        return await load_run(decisions, executions, snapshots)

    monkeypatch.setattr(backtest_api, "load_run", counted)

    response = await client.get("/api/arena/leaderboard", params=[("run_id", MUTE)] * MAX_RUNS)

    assert response.status_code == 200
    assert [row["run_id"] for row in response.json()] == [MUTE]
    assert loaded == [MUTE]


async def test_an_arena_id_beside_one_of_its_entrants_gives_each_entrant_once(
    client: httpx.AsyncClient,
) -> None:
    response = await client.get(
        "/api/arena/leaderboard", params=[("run_id", MUTE), ("run_id", ARENA), ("run_id", BACKTEST)]
    )

    assert response.status_code == 200
    assert sorted(row["name"] for row in response.json()) == [
        BACKTEST,
        "buy-and-hold",
        "mute",
        "rules",
    ]


async def test_past_runs_are_listed_newest_first_without_the_live_ones(
    client: httpx.AsyncClient,
) -> None:
    response = await client.get("/api/runs")

    assert response.status_code == 200
    runs = response.json()
    # The backtest was started at 13:00, the arena at 12:00; an arena's entrants by id, z to a.
    assert [run["run_id"] for run in runs] == [
        BACKTEST,
        f"{ARENA}-rules",
        MUTE,
        f"{ARENA}-buy-and-hold",
    ]
    backtest, mute = runs[0], runs[2]
    assert (backtest["kind"], backtest["arena_id"], backtest["name"]) == (
        "backtest",
        None,
        BACKTEST,
    )
    assert backtest["created_at"] == "2026-12-05T13:00:00Z"
    assert mute == {
        "run_id": MUTE,
        "kind": "arena",
        "arena_id": ARENA,
        "name": "mute",
        "model": "fake-gpt",
        "created_at": "2026-12-05T12:00:00Z",
        "started_at": "2024-01-11T00:00:00Z",
        "finished_at": "2024-01-12T00:00:00Z",
        "cycles": 4,
        "total_return": 0.0,
        "end_equity": TEN_THOUSAND,
        "model_errors": 4,
    }


async def test_the_run_list_is_bounded_by_its_limit(client: httpx.AsyncClient) -> None:
    two = await client.get("/api/runs", params={"limit": 2})
    too_many = await client.get("/api/runs", params={"limit": 501})

    assert [run["run_id"] for run in two.json()] == [BACKTEST, f"{ARENA}-rules"]
    assert too_many.status_code == 422


async def test_a_run_s_equity_curve_is_served_like_the_live_one(client: httpx.AsyncClient) -> None:
    whole = await client.get(f"/api/backtests/{MUTE}/history", params={"max_points": 10_000})
    thinned = await client.get(f"/api/backtests/{MUTE}/history", params={"max_points": 2})

    assert whole.status_code == thinned.status_code == 200
    points = whole.json()["points"]
    # Mute held cash: every snapshot, from the opening one to the closing one, is 10,000.
    assert {point["equity"] for point in points} == {TEN_THOUSAND}
    assert whole.json()["total_points"] == len(points)
    assert (points[0]["time"], points[-1]["time"]) == (
        "2024-01-11T00:00:00Z",
        "2024-01-12T00:00:00Z",
    )
    assert thinned.json()["total_points"] == len(points)
    assert [p["time"] for p in thinned.json()["points"]] == [points[0]["time"], points[-1]["time"]]


async def test_an_unknown_run_or_arena_is_not_found(client: httpx.AsyncClient) -> None:
    performance = await client.get("/api/backtests/no-such-run/performance")
    history = await client.get("/api/backtests/no-such-run/history")
    board = await client.get("/api/arena/leaderboard", params={"run_id": "arena-no-such"})

    assert (performance.status_code, history.status_code, board.status_code) == (404, 404, 404)


@pytest.mark.asyncio(loop_scope="function")
async def test_a_leaderboard_of_more_than_fifty_runs_is_refused(tmp_path: Path) -> None:
    database = create_engine(f"sqlite+aiosqlite:///{tmp_path}/many.db")
    await upgrade_database(database)
    crowded = "arena-20261205T000000-ffff"
    for number in range(MAX_RUNS + 1):
        await seed(database, f"{crowded}-e{number:02}", ["10000"])

    async with await serve(database) as client:
        response = await client.get("/api/arena/leaderboard", params={"run_id": crowded})
    await database.dispose()

    assert response.status_code == 422
    assert f"more than {MAX_RUNS} runs" in response.json()["error"]["message"]
