"""A live arena of three agents on the simulated market, over real HTTP and WebSocket: the rules
model, buy-and-hold, and an LLM (the real ChatOpenAI client against the fake OpenAI server)
whose first answer opens a BTC long and whose second call stalls."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
from fakes.openai_server import FakeOpenAIServer, StallReply, tool_calls_reply
from live_server import serve
from run_process import btc_price_now, clear_of_funding_time, open_long_btc
from websockets.asyncio.client import connect

from alphatransformer.agent.answer import ModelAnswer
from alphatransformer.agent.decision_maker import DecisionRequest
from alphatransformer.agent.llm_agent import ANSWER_TOOL
from alphatransformer.api.app import create_app
from alphatransformer.config import AppConfig

TOKEN = "arena-test-token-0123456789"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
AGENTS = ["trend", "hodl", "llm"]
CYCLE_SECONDS = 0.5
STALL_SECONDS = 3.0
"""The LLM client's timeout: how long its stalled call holds that agent's cycle."""


def arena_config(tmp_path: Path, llm: FakeOpenAIServer) -> AppConfig:
    return AppConfig.model_validate(
        {
            "market": {"simulated": {"tick_seconds": 0.2}},
            "agent": {"cycle_seconds": CYCLE_SECONDS},
            "agents": [
                {"name": "trend", "provider": "rules"},
                {"name": "hodl", "provider": "buy_and_hold", "starting_balance": 5000},
                {
                    "name": "llm",
                    "provider": "openai",
                    "llm": {
                        "model": "fake-gpt",
                        "base_url": llm.base_url,
                        "max_retries": 0,
                        "timeout_seconds": STALL_SECONDS,
                    },
                },
            ],
            "database": {"url": f"sqlite+aiosqlite:///{tmp_path / 'arena.db'}"},
        }
    )


class HoldEverything:
    """After the restart: every agent holds, so the accounts can only be what was resumed."""

    @property
    def model_name(self) -> str:
        return "hold"

    async def decide(self, request: DecisionRequest) -> ModelAnswer:
        return ModelAnswer(decisions=[], model="hold")


async def wait_for(
    client: httpx.AsyncClient, path: str, ready: Callable[[Any], bool], within: float = 30
) -> Any:
    deadline = time.monotonic() + within
    while True:
        body = (await client.get(path)).json()
        if ready(body):
            return body
        assert time.monotonic() < deadline, f"{path} never became ready: {body}"
        await asyncio.sleep(0.1)


def cycles(agents: list[dict[str, Any]]) -> dict[str, int]:
    return {agent["name"]: agent["cycles"] for agent in agents}


async def stream_agents(url: str, query: str, updates: int) -> set[str | None]:
    """The agents named by the first `updates` decision updates a stream client receives."""
    seen: set[str | None] = set()
    async with connect(f"{url.replace('http', 'ws')}/ws/decisions{query}") as websocket:
        received = 0
        while received < updates:
            message = json.loads(await asyncio.wait_for(websocket.recv(), timeout=20))
            if message["type"] == "update":
                seen.add(message["agent"])
                received += 1
    return seen


async def account_views(client: httpx.AsyncClient) -> dict[str, Any]:
    keep = ("symbol", "side", "quantity", "entry_price", "leverage")
    views = {}
    for name in AGENTS:
        account = (await client.get("/api/account", params={"agent": name})).json()
        positions = (await client.get("/api/positions", params={"agent": name})).json()
        views[name] = (
            account["wallet_balance"],
            sorted(tuple(p[k] for k in keep) for p in positions),
        )
    return views


async def test_three_agents_trade_one_market_apart_and_resume_after_a_restart(
    tmp_path: Path,
) -> None:
    await clear_of_funding_time()
    async with FakeOpenAIServer() as llm:
        entry = open_long_btc(btc_price_now(), Decimal("0.95"))
        llm.script(tool_calls_reply((ANSWER_TOOL, {"decisions": [entry]})), StallReply())
        config = arena_config(tmp_path, llm)
        app = create_app(config, api_token=TOKEN)
        app.state.heartbeat_seconds = 0.2
        async with serve(app) as url, httpx.AsyncClient(base_url=url, timeout=10) as client:
            agents = (await client.get("/api/agents")).json()
            assert [a["name"] for a in agents] == AGENTS
            assert [a["provider"] for a in agents] == ["rules", "buy_and_hold", "openai"]
            assert [a["model"] for a in agents] == ["rules-v1", "buy-and-hold", "fake-gpt"]

            # Given the LLM's second call stalls, when the others cycle meanwhile,
            # then only the LLM's own loop waits.
            deadline = time.monotonic() + 30
            while len(llm.requests) < 2:
                assert time.monotonic() < deadline, "the LLM was never asked twice"
                await asyncio.sleep(0.05)
            before = cycles((await client.get("/api/agents")).json())
            await asyncio.sleep(STALL_SECONDS * 0.6)
            during = cycles((await client.get("/api/agents")).json())
            assert during["llm"] == before["llm"]
            assert during["trend"] >= before["trend"] + 2
            assert during["hodl"] >= before["hodl"] + 2

            # Rows and accounts are each agent's own.
            await wait_for(client, "/api/positions?agent=hodl", lambda body: len(body) == 3)
            for name in AGENTS:
                page = (await client.get("/api/decisions", params={"agent": name})).json()
                assert page["items"], name
                assert {d["agent"] for d in page["items"]} == {name}
                orders = (await client.get("/api/executions", params={"agent": name})).json()
                assert {o["agent"] for o in orders["items"]} <= {name}
            llm_rows = (await client.get("/api/decisions?agent=llm&action=open_long")).json()
            assert [(d["symbol"], d["status"]) for d in llm_rows["items"]] == [
                ("BTCUSDT", "executed")
            ]
            llm_positions = (await client.get("/api/positions?agent=llm")).json()
            assert [(p["symbol"], p["side"]) for p in llm_positions] == [("BTCUSDT", "long")]
            assert llm_positions[0]["stop_loss"] == str(entry["stop_loss"])
            hodl = (await client.get("/api/positions?agent=hodl")).json()
            assert {(p["symbol"], p["side"]) for p in hodl} == {
                ("BTCUSDT", "long"),
                ("ETHUSDT", "long"),
                ("SOLUSDT", "long"),
            }
            every = (await client.get("/api/positions")).json()
            assert len(every) >= len(hodl) + len(llm_positions)
            hodl_equity = Decimal((await client.get("/api/account?agent=hodl")).json()["equity"])
            assert Decimal(4900) < hodl_equity < Decimal(5000)  # its own 5000, less fees
            unknown = await client.get("/api/decisions", params={"agent": "nobody"})
            assert unknown.status_code == 404

            # Streams say whose update it is, and follow one agent when asked.
            assert await stream_agents(url, "?agent=hodl", 3) == {"hodl"}
            assert len(await stream_agents(url, "", 6)) >= 2

            # The whole model chat of the LLM's first cycle is served.
            cycle_id = llm_rows["items"][0]["cycle_id"]
            chat = (await client.get(f"/api/cycles/{cycle_id}")).json()
            assert chat["agent"] == "llm"
            assert [m["role"] for m in chat["messages"]][:2] == ["system", "user"]
            assert any(c["name"] == ANSWER_TOOL for m in chat["messages"] for c in m["tool_calls"])
            assert chat["input_tokens"] > 0
            actions = {d["symbol"]: d["action"] for d in chat["decisions"]}
            assert actions == {"BTCUSDT": "open_long", "ETHUSDT": "hold", "SOLUSDT": "hold"}

            # Stopped, the leaderboard shows each agent's /api/performance figures.
            stopped = await client.post("/api/agent/stop", headers=AUTH)
            assert stopped.status_code == 200
            assert {a["state"] for a in stopped.json()["agents"]} == {"paused"}
            assert (await client.post("/api/agent/start")).status_code == 401
            board = (await client.get("/api/leaderboard")).json()
            assert sorted(row["agent"] for row in board) == sorted(AGENTS)
            assert [row["rank"] for row in board] == [1, 2, 3]
            for row in board:
                report = (
                    await client.get("/api/performance", params={"agent": row["agent"]})
                ).json()
                equity, trades, usage = report["equity"], report["trades"], report["llm_usage"]
                assert row["account_value"] == equity["end_equity"]
                assert row["total_return"] == equity["total_return"]
                assert row["fees"] == report["fees_paid"]
                assert row["trades"] == trades["trades"]
                assert row["realized_pnl"] == trades["total_realized_pnl"]
                assert row["input_tokens"] == usage["input_tokens"]
                assert row["model_errors"] == usage["errors"]
            hodl_row = next(row for row in board if row["agent"] == "hodl")
            assert Decimal(hodl_row["fees"]) > 0  # its three entries, still open
            llm_row = next(row for row in board if row["agent"] == "llm")
            assert llm_row["input_tokens"] > 0
            assert llm_row["model_errors"] >= 1  # the stalled call timed out
            before_restart = await account_views(client)

        # A restart resumes every agent's own account.
        holding = {name: HoldEverything() for name in AGENTS}
        again = create_app(config, api_token=TOKEN, decision_makers=holding)
        async with serve(again) as url, httpx.AsyncClient(base_url=url, timeout=10) as client:
            after_restart = await account_views(client)

    assert after_restart == before_restart
    assert before_restart["hodl"][0] != before_restart["llm"][0]
    assert len(before_restart["hodl"][1]) == 3
