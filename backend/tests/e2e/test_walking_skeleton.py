"""The whole loop offline: the server starts, the engine cycles on the simulated market with the
paper exchange and the rules model, and decisions are read back over real HTTP."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from live_server import serve

from alphatransformer.api.app import create_app
from alphatransformer.config import AppConfig

CYCLE_SECONDS = 0.3


def fast_config(tmp_path: Path) -> AppConfig:
    return AppConfig.model_validate(
        {
            "database": {"url": f"sqlite+aiosqlite:///{tmp_path}/skeleton.db"},
            "agent": {"cycle_seconds": CYCLE_SECONDS},
            "market": {"simulated": {"tick_seconds": 0.05}},
        }
    )


@pytest.fixture
async def server_url(tmp_path: Path) -> AsyncIterator[str]:
    async with serve(create_app(fast_config(tmp_path), api_token="t")) as url:
        yield url


async def poll(client: httpx.AsyncClient, path: str, ready: Any, within: float = 20) -> Any:
    deadline = time.monotonic() + within
    while True:
        body = (await client.get(path)).json()
        if ready(body):
            return body
        assert time.monotonic() < deadline, f"{path} never got ready: {body}"
        await asyncio.sleep(0.05)


async def test_status_shows_a_running_engine_on_a_simulated_market(server_url: str) -> None:
    async with httpx.AsyncClient(base_url=server_url) as client:
        status = await poll(client, "/api/status", lambda b: b["cycles"] >= 1)
    assert status["state"] == "running"
    assert status["environment"] == "paper"
    assert status["simulated_market"] is True
    assert "SIMULATED" in status["notice"]
    assert status["exchange"] == "paper"
    assert status["model"] == "rules-v1"
    assert [d["symbol"] for d in status["market_data"]] == ["BTCUSDT", "ETHUSDT", "SOLUSDT"]
    assert all(d["fresh"] and d["price"] > 0 for d in status["market_data"])
    assert status["last_cycle"]["error"] is None


async def test_every_cycle_records_one_decision_per_symbol(server_url: str) -> None:
    async with httpx.AsyncClient(base_url=server_url) as client:
        page = await poll(client, "/api/decisions?limit=500", lambda b: len(b["items"]) >= 6)
    items = page["items"]
    assert len(items) >= 6
    by_cycle: dict[str, set[str]] = {}
    for item in items:
        by_cycle.setdefault(item["cycle_id"], set()).add(item["symbol"])
    # A cycle's rows are written in one transaction, so every cycle seen is complete.
    assert all(symbols == {"BTCUSDT", "ETHUSDT", "SOLUSDT"} for symbols in by_cycle.values())
    newest_cycle = items[0]["cycle_id"]
    for item in items:
        # The newest cycle may still be executing: its actions can be pending for a moment.
        final = {"hold", "executed", "rejected", "failed"}
        allowed = final | {"pending"} if item["cycle_id"] == newest_cycle else final
        assert item["status"] in allowed
        assert item["model"] == "rules-v1"
        assert item["reasoning"]
        assert 0 <= item["confidence"] <= 1
        assert item["price"] is not None
        assert isinstance(item["price"], str)  # money is exact: a decimal string


async def test_decisions_page_backwards_without_overlap(server_url: str) -> None:
    async with httpx.AsyncClient(base_url=server_url) as client:
        await poll(client, "/api/decisions?limit=500", lambda b: len(b["items"]) >= 6)
        first = (await client.get("/api/decisions", params={"limit": 2})).json()
        second = (
            await client.get(
                "/api/decisions", params={"limit": 2, "before_id": first["next_before_id"]}
            )
        ).json()
        btc = (await client.get("/api/decisions", params={"symbol": "BTCUSDT"})).json()
        bad = await client.get("/api/decisions", params={"limit": 0})
    first_ids = [i["id"] for i in first["items"]]
    second_ids = [i["id"] for i in second["items"]]
    assert first_ids == sorted(first_ids, reverse=True)
    assert second_ids
    assert max(second_ids) < min(first_ids)
    assert {i["symbol"] for i in btc["items"]} == {"BTCUSDT"}
    assert bad.status_code == 422


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_run_command_serves_decisions_and_stops_cleanly_on_ctrl_c(tmp_path: Path) -> None:
    """`alphatransformer run` as a person starts it: status within 30 s, decisions within two
    cycles, and Ctrl-C (SIGINT) ends it with exit status 0."""
    config = tmp_path / "agent.yaml"
    config.write_text(f"agent:\n  cycle_seconds: {CYCLE_SECONDS}\n", encoding="utf-8")
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ALPHA_", "BINANCE_"))}
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "alphatransformer",
            "run",
            "--config",
            str(config),
            "--port",
            str(port),
        ],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}") as client:
            status = _wait_for(lambda: client.get("/api/status").json(), 30)
            assert status["simulated_market"] is True
            decisions = _wait_for(
                lambda: client.get("/api/decisions").json()["items"] or None,
                2 * CYCLE_SECONDS + 10,
            )
        assert len(decisions) >= 3
        process.send_signal(signal.SIGINT)
        _, stderr = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    assert process.returncode == 0, stderr
    assert "SIMULATED MARKET" in stderr
    assert "trading engine stopped" in stderr
    assert "Traceback" not in stderr
    assert (tmp_path / "data" / "alphatransformer.db").is_file()


def _wait_for(probe: Any, timeout: float) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        try:
            result = probe()
        except httpx.TransportError:
            result = None
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"nothing within {timeout} s")
        time.sleep(0.1)
