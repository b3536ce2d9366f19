"""Every endpoint and stream against a running engine on the paper exchange, over real HTTP and
WebSocket on loopback. A scripted model opens one BTC long in the first cycle, then holds."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from live_server import serve
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus

from alphatransformer.agent.answer import ModelAnswer
from alphatransformer.agent.decision import Action, TradeDecision
from alphatransformer.agent.decision_maker import DecisionRequest
from alphatransformer.api.app import create_app
from alphatransformer.config import AppConfig

TOKEN = "test-token-0123456789"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


class OneLongThenHold:
    """Opens a BTC long with a stop and a target once, then holds; can be made slow."""

    def __init__(self) -> None:
        self.calls = 0
        self.delay = 0.0
        self.active = 0
        self.most_active = 0

    @property
    def model_name(self) -> str:
        return "scripted"

    async def decide(self, request: DecisionRequest) -> ModelAnswer:
        self.calls += 1
        self.active += 1
        self.most_active = max(self.most_active, self.active)
        try:
            await asyncio.sleep(self.delay)
        finally:
            self.active -= 1
        if self.calls > 1:
            return ModelAnswer(decisions=[], model="scripted", input_tokens=10, output_tokens=2)
        price = request.market.latest_price("BTCUSDT")
        decision = TradeDecision(
            symbol="BTCUSDT",
            action=Action.OPEN_LONG,
            notional_usd=1000.0,
            leverage=5,
            stop_loss=round(price * 0.97, 1),
            take_profit=round(price * 1.05, 1),
            confidence=0.9,
            reasoning="scripted entry",
        )
        return ModelAnswer(
            decisions=[decision], model="scripted", input_tokens=100, output_tokens=20
        )


@dataclass
class Api:
    url: str
    client: httpx.AsyncClient
    model: OneLongThenHold

    async def wait_for(self, path: str, ready: Callable[[Any], bool], within: float = 20) -> Any:
        deadline = time.monotonic() + within
        while True:
            body = (await self.client.get(path)).json()
            if ready(body):
                return body
            assert time.monotonic() < deadline, f"{path} never got ready: {body}"
            await asyncio.sleep(0.05)


def config(tmp_path: Path, cycle_seconds: float = 0.3) -> AppConfig:
    return AppConfig.model_validate(
        {
            "database": {"url": f"sqlite+aiosqlite:///{tmp_path}/api.db"},
            "agent": {"cycle_seconds": cycle_seconds},
            "market": {"simulated": {"tick_seconds": 0.05}},
        }
    )


@pytest.fixture
async def api(tmp_path: Path) -> AsyncIterator[Api]:
    model = OneLongThenHold()
    app = create_app(config(tmp_path), api_token=TOKEN, decision_makers={"agent": model})
    app.state.heartbeat_seconds = 0.2
    async with serve(app) as url, httpx.AsyncClient(base_url=url, timeout=10) as client:
        api = Api(url, client, model)
        await api.wait_for("/api/status", lambda body: body["cycles"] >= 1)
        await api.wait_for("/api/positions", lambda body: len(body) == 1)
        yield api


async def test_health_and_status(api: Api) -> None:
    assert (await api.client.get("/healthz")).json() == {"status": "ok"}
    status = (await api.client.get("/api/status")).json()
    assert status["state"] == "running"
    assert status["state_reason"] is None
    assert status["model"] == "scripted"
    assert status["cycles"] >= 1
    assert status["reconciliation"].startswith("at start: 0 orders settled")
    assert status["reconciled_at"] is not None  # cycles ran, so it had succeeded before them


async def test_position_account_and_executions_after_the_scripted_entry(api: Api) -> None:
    [position] = (await api.client.get("/api/positions")).json()
    assert (position["symbol"], position["side"], position["leverage"]) == ("BTCUSDT", "long", 5)
    assert position["quantity"] == "0.010"  # 1000 USDT at ~95k, rounded down to the 0.001 step
    account = (await api.client.get("/api/account")).json()
    assert account["open_positions"] == 1
    assert account["asset"] == "USDT"

    page = (await api.client.get("/api/executions")).json()
    assert [e["purpose"] for e in page["items"]] == ["take_profit", "stop_loss", "entry"]
    filled = (await api.client.get("/api/executions", params={"status": "FILLED"})).json()
    assert [e["purpose"] for e in filled["items"]] == ["entry"]


async def test_decision_detail_has_its_cycle_and_orders(api: Api) -> None:
    executed = (await api.client.get("/api/decisions", params={"status": "executed"})).json()
    [entry] = executed["items"]
    detail = (await api.client.get(f"/api/decisions/{entry['id']}")).json()
    assert {key: detail[key] for key in entry} == entry  # the list shows the same fields
    assert detail["action"] == "open_long"
    assert detail["cycle"]["model"] == "scripted"
    assert (detail["cycle"]["input_tokens"], detail["cycle"]["output_tokens"]) == (100, 20)
    assert [e["purpose"] for e in detail["executions"]] == ["entry", "stop_loss", "take_profit"]

    missing = await api.client.get("/api/decisions/999999")
    assert missing.status_code == 404
    assert missing.json()["error"]["code"] == "not_found"


async def test_decision_pages_and_filters(api: Api) -> None:
    await api.wait_for("/api/decisions?limit=500", lambda b: len(b["items"]) >= 9)
    everything = (await api.client.get("/api/decisions", params={"limit": 500})).json()["items"]
    ids = [d["id"] for d in everything]

    one = (await api.client.get("/api/decisions", params={"limit": 1})).json()
    assert [d["id"] for d in one["items"]] == ids[:1]
    assert one["next_before_id"] == ids[0]
    last = (await api.client.get("/api/decisions", params={"before_id": min(ids)})).json()
    assert last == {"items": [], "next_before_id": None}
    tail = (
        await api.client.get("/api/decisions", params={"before_id": ids[-2], "limit": 5})
    ).json()
    assert [d["id"] for d in tail["items"]] == ids[-1:]
    assert tail["next_before_id"] is None

    eth = (await api.client.get("/api/decisions", params={"symbol": "ETHUSDT"})).json()["items"]
    assert eth
    assert {d["symbol"] for d in eth} == {"ETHUSDT"}
    opens = (await api.client.get("/api/decisions", params={"action": "open_long"})).json()
    assert len(opens["items"]) == 1
    first_time = everything[-1]["created_at"]
    window = (
        await api.client.get("/api/decisions", params={"until": first_time, "limit": 500})
    ).json()
    assert window["items"] == []
    naive = (
        await api.client.get(
            "/api/decisions", params={"since": "2000-01-01T00:00:00", "limit": 500}
        )
    ).json()
    assert len(naive["items"]) == len(everything)


@pytest.mark.parametrize(
    ("params", "location"),
    [
        ({"limit": 0}, "query.limit"),
        ({"limit": 501}, "query.limit"),
        ({"before_id": -1}, "query.before_id"),
        ({"symbol": "btcusdt"}, "query.symbol"),
        ({"action": "buy"}, "query.action"),
        ({"since": "yesterday"}, "query.since"),
    ],
)
async def test_bad_parameters_are_a_clear_422(
    api: Api, params: dict[str, object], location: str
) -> None:
    response = await api.client.get("/api/decisions", params=params)
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == "invalid_request"
    assert location in error["message"]
    assert error["details"][0]["location"] == location


async def test_equity_history_is_downsampled_keeping_both_ends(api: Api) -> None:
    full = await api.wait_for("/api/account/history", lambda b: b["total_points"] >= 4)
    two = (await api.client.get("/api/account/history", params={"max_points": 2})).json()
    assert len(two["points"]) == 2
    assert two["points"][0]["time"] == full["points"][0]["time"]
    assert two["total_points"] >= full["total_points"]
    assert (await api.client.get("/api/account/history?max_points=1")).status_code == 422


async def test_metrics_in_prometheus_format(api: Api) -> None:
    response = await api.client.get("/metrics")
    assert response.headers["content-type"].startswith("text/plain")
    text = response.text
    assert "alphatransformer_cycles_total" in text
    executed = 'decisions_total{action="open_long",agent="agent",status="executed"} 1.0'
    assert f"alphatransformer_{executed}" in text
    assert 'alphatransformer_orders{agent="agent",status="FILLED"} 1.0' in text
    assert 'alphatransformer_model_tokens_total{agent="agent",direction="input"}' in text
    assert TOKEN not in text


async def test_control_needs_the_token(api: Api) -> None:
    for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": TOKEN}):
        response = await api.client.post("/api/agents/agent/stop", headers=headers)
        assert response.status_code == 401
        assert response.json()["error"]["code"] == "unauthorized"
        assert TOKEN not in response.text
    assert (await api.client.get("/api/status")).json()["state"] == "running"


async def test_stop_and_start_are_idempotent(api: Api) -> None:
    stopped = (await api.client.post("/api/agents/agent/stop", headers=AUTH)).json()
    assert stopped == {
        "agent": "agent",
        "changed": True,
        "state": "paused",
        "reason": "paused by the operator",
    }
    again = (await api.client.post("/api/agents/agent/stop", headers=AUTH)).json()
    assert again["changed"] is False
    cycles = (await api.client.get("/api/status")).json()["cycles"]
    await asyncio.sleep(0.7)
    assert (await api.client.get("/api/status")).json()["cycles"] == cycles

    started = (await api.client.post("/api/agents/agent/start", headers=AUTH)).json()
    assert (started["changed"], started["state"]) == (True, "running")
    twice = (await api.client.post("/api/agents/agent/start", headers=AUTH)).json()
    assert (twice["changed"], twice["state"]) == (False, "running")
    await api.wait_for("/api/status", lambda b: b["cycles"] > cycles)


async def test_stop_during_a_cycle_lets_it_finish(api: Api) -> None:
    api.model.delay = 0.5
    calls = api.model.calls
    await api.wait_for("/api/status", lambda _: api.model.calls > calls)  # a slow cycle began
    response = await api.client.post("/api/agents/agent/stop", headers=AUTH)
    assert response.json()["state"] == "paused"
    pending = (await api.client.get("/api/decisions", params={"status": "pending"})).json()
    assert pending["items"] == []
    latest = (await api.client.get("/api/decisions", params={"limit": 3})).json()["items"]
    assert {d["status"] for d in latest} == {"hold"}


async def test_stop_with_close_positions_flattens_through_a_recorded_decision(api: Api) -> None:
    response = await api.client.post(
        "/api/agents/agent/stop", params={"close_positions": "true"}, headers=AUTH
    )
    assert response.json()["state"] == "paused"
    assert (await api.client.get("/api/positions")).json() == []
    closes = (await api.client.get("/api/decisions", params={"action": "close"})).json()["items"]
    [close] = closes
    assert (close["symbol"], close["status"], close["model"]) == ("BTCUSDT", "executed", "operator")
    assert "closed by the operator" in close["reasoning"]


async def test_kill_halts_closes_everything_and_start_lifts_it(api: Api) -> None:
    killed = (await api.client.post("/api/agents/agent/kill", headers=AUTH)).json()
    assert (killed["state"], killed["reason"]) == ("halted", "killed by the operator")
    assert (await api.client.get("/api/positions")).json() == []
    assert (await api.client.get("/api/status")).json()["state_reason"] == "killed by the operator"
    again = await api.client.post("/api/agents/agent/kill", headers=AUTH)
    assert again.json()["state"] == "halted"
    resumed = (await api.client.post("/api/agents/agent/start", headers=AUTH)).json()
    assert (resumed["changed"], resumed["state"]) == (True, "running")


async def test_concurrent_control_requests_leave_a_consistent_state(api: Api) -> None:
    calls = [
        api.client.post("/api/agents/agent/stop", headers=AUTH),
        api.client.post("/api/agents/agent/start", headers=AUTH),
        api.client.post("/api/agents/agent/stop", headers=AUTH),
        api.client.post("/api/agents/agent/start", headers=AUTH),
    ]
    results = [r.json() for r in await asyncio.gather(*calls)]
    final = (await api.client.get("/api/status")).json()["state"]
    assert final in {"running", "paused"}
    assert results[-1]["state"] in {"running", "paused"}
    assert sum(r["changed"] for r in results) >= 1


def ws_url(api: Api, path: str) -> str:
    return api.url.replace("http://", "ws://") + path


async def receive(ws: Any, within: float = 5) -> dict[str, Any]:
    return json.loads(await asyncio.wait_for(ws.recv(), within))  # type: ignore[no-any-return]


async def test_decision_stream_sends_the_current_state_then_updates(api: Api) -> None:
    async with connect(ws_url(api, "/ws/decisions")) as ws:
        first = await receive(ws)
        assert (first["type"], first["topic"]) == ("snapshot", "decisions")
        assert {d["symbol"] for d in first["data"]} <= {"BTCUSDT", "ETHUSDT", "SOLUSDT"}
        message = await receive(ws)
        while message["type"] == "heartbeat":
            message = await receive(ws)
        assert message["type"] == "update"
        assert message["data"][0]["id"] > first["data"][-1]["id"]


async def test_account_and_position_streams(api: Api) -> None:
    async with connect(ws_url(api, "/ws/account")) as ws:
        snapshot = await receive(ws)
        assert snapshot["data"]["open_positions"] == 1
    async with connect(ws_url(api, "/ws/positions")) as ws:
        snapshot = await receive(ws)
        assert [p["symbol"] for p in snapshot["data"]] == ["BTCUSDT"]


async def test_idle_streams_get_heartbeats(api: Api) -> None:
    await api.client.post("/api/agents/agent/stop", headers=AUTH)
    async with connect(ws_url(api, "/ws/decisions")) as ws:
        await receive(ws)
        assert (await receive(ws))["type"] == "heartbeat"


@pytest.fixture
async def exposed(tmp_path: Path) -> AsyncIterator[str]:
    app = create_app(
        config(tmp_path, cycle_seconds=3600),
        api_token=TOKEN,
        exposed=True,
        decision_makers={"agent": OneLongThenHold()},
    )
    async with serve(app) as url:
        yield url


async def test_beyond_loopback_every_endpoint_and_stream_needs_the_token(exposed: str) -> None:
    async with httpx.AsyncClient(base_url=exposed) as client:
        for path in ("/api/status", "/api/decisions", "/api/account", "/metrics"):
            assert (await client.get(path)).status_code == 401, path
            assert (await client.get(path, headers=AUTH)).status_code == 200, path
        assert (await client.get("/healthz")).status_code == 200
    ws = exposed.replace("http://", "ws://") + "/ws/decisions"
    with pytest.raises(InvalidStatus) as refused:
        async with connect(ws):
            pass
    assert refused.value.response.status_code == 403
    async with connect(ws, additional_headers=AUTH) as socket:
        assert (await receive(socket))["topic"] == "decisions"
    async with connect(f"{ws}?token={TOKEN}") as socket:
        assert (await receive(socket))["topic"] == "decisions"


async def test_performance_reports_trades_risk_and_model_usage(api: Api) -> None:
    before = (await api.client.get("/api/performance")).json()
    assert (before["trades"]["trades"], before["open_trades"]) == (0, 1)  # the long is open
    await api.client.post(
        "/api/agents/agent/stop", params={"close_positions": "true"}, headers=AUTH
    )
    report = (await api.client.get("/api/performance")).json()  # not a stale cached report
    trades = report["trades"]
    assert trades["trades"] == 1  # the scripted long, closed by the operator
    assert trades["wins"] + trades["losses"] == 1
    assert float(trades["total_fees"]) > 0
    net = float(trades["total_realized_pnl"]) - float(trades["total_fees"])
    assert float(trades["total_net_pnl"]) == pytest.approx(net)
    assert report["open_trades"] == 0
    assert report["unrealized_pnl"] == "0"
    assert report["llm_usage"]["input_tokens"] >= 100
    equity = report["equity"]
    assert equity["start_equity"] == "10000.00000000"
    assert -0.01 < equity["total_return"] < 0.01


async def test_concurrent_performance_requests_read_the_history_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = create_app(
        config(tmp_path, cycle_seconds=3600),
        api_token=TOKEN,
        decision_makers={"agent": OneLongThenHold()},
    )
    async with serve(app) as url, httpx.AsyncClient(base_url=url, timeout=10) as client:
        api = Api(url, client, OneLongThenHold())
        await api.wait_for("/api/status", lambda body: body["cycles"] >= 1)
        snapshots = app.state.arena.first.snapshots
        reads = 0
        read = snapshots.equity_series

        async def counted(*args: Any) -> Any:
            nonlocal reads
            reads += 1
            return await read(*args)

        monkeypatch.setattr(snapshots, "equity_series", counted)
        responses = await asyncio.gather(*(client.get("/api/performance") for _ in range(8)))
        again = await client.get("/api/performance")
    reports = [response.json() for response in [*responses, again]]
    assert reads == 1  # one request computed the report, the others waited for it
    assert all(report["equity"] == reports[0]["equity"] for report in reports)


async def test_slow_cycles_never_overlap_and_missed_slots_are_reported(api: Api) -> None:
    api.model.delay = 0.7  # each cycle overruns its 0.3 s slot
    status = await api.wait_for("/api/status", lambda b: b["missed_cycles"] >= 2)
    assert api.model.most_active == 1
    assert status["state"] == "running"
    metrics = (await api.client.get("/metrics")).text
    assert "alphatransformer_cycles_missed_total" in metrics
