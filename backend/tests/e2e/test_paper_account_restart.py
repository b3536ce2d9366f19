"""A paper account survives a crash, as a person running `alphatransformer run` would hit it:
the agent opens a BTC long with its stop-loss and take-profit, the process is SIGKILLed, and the
next start on the same database shows the same position, the same resting stop and the same
balance, with nothing for startup reconciliation to fix.

Everything is real but the model: the default paper setup (simulated market, paper exchange) in
a subprocess, with the agent's ChatOpenAI against the fake OpenAI-compatible server, scripted to
open one long (once the script is used up it answers 500, so every later cycle holds)."""

from __future__ import annotations

import asyncio
import signal
import sqlite3
import subprocess
import time
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import yaml
from fakes.openai_server import FakeOpenAIServer, tool_calls_reply
from run_process import btc_price_now, clear_of_funding_time, free_port, open_long_btc, start

from alphatransformer.agent.llm_agent import ANSWER_TOOL

# What a restart must not change; marks, unrealized PnL and cross margin follow the price.
POSITION_KEYS = (
    "symbol",
    "side",
    "quantity",
    "entry_price",
    "leverage",
    "margin_type",
    "liquidation_price",
)
# Startup reconciliation's findings: the two resting orders are found (queried and mirrored) and
# nothing else needs doing.
NOTHING_TO_FIX = (
    "2 orders settled",
    "0 never placed",
    "0 interrupted",
    "0 stops restored",
    "0 orphan protective orders cancelled",
    "0 unprotectable positions closed",
)


def write_config(path: Path, model: FakeOpenAIServer, db: Path) -> None:
    """The default paper config, with the scripted model and one cycle an hour."""
    llm = {"model": "fake-gpt", "base_url": model.base_url, "max_retries": 0}
    config = {
        "agent": {"provider": "openai", "cycle_seconds": 3600, "llm": llm},
        "database": {"url": f"sqlite+aiosqlite:///{db}"},
    }
    path.write_text(yaml.safe_dump(config), encoding="utf-8")


def rows(db: Path, query: str) -> list[tuple[Any, ...]]:
    with sqlite3.connect(db) as connection:
        return connection.execute(query).fetchall()


async def wait_until(
    condition: Callable[[], bool], process: subprocess.Popen[str], what: str
) -> None:
    deadline = time.monotonic() + 60
    while not condition():
        assert process.poll() is None, process.communicate()[1]
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.1)


async def first_cycle_done(port: int, process: subprocess.Popen[str]) -> dict[str, Any]:
    """The status once the process has reconciled and finished its first cycle."""
    deadline = time.monotonic() + 60
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as client:
        while True:
            assert process.poll() is None, process.communicate()[1]
            assert time.monotonic() < deadline, "the process never finished a cycle"
            try:
                status: dict[str, Any] = (await client.get("/api/status")).json()
            except httpx.TransportError:
                status = {}
            if status.get("reconciliation") and status.get("cycles", 0) >= 1:
                return status
            await asyncio.sleep(0.1)


async def account_view(port: int) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as client:
        positions = (await client.get("/api/positions")).json()
        account = (await client.get("/api/account")).json()
    return [{k: p[k] for k in POSITION_KEYS} for p in positions], account


def stop_gracefully(process: subprocess.Popen[str]) -> str:
    process.send_signal(signal.SIGINT)
    try:
        return process.communicate(timeout=60)[1]
    except subprocess.TimeoutExpired:
        process.kill()
        stderr = process.communicate()[1]
        raise AssertionError(f"Ctrl-C did not stop the process:\n{stderr[-3000:]}") from None


async def test_sigkilled_paper_run_resumes_the_same_position_stop_and_balance(
    tmp_path: Path,
) -> None:
    db, config = tmp_path / "agent.db", tmp_path / "agent.yaml"
    await clear_of_funding_time()
    async with FakeOpenAIServer() as model:
        write_config(config, model, db)
        model.script(
            tool_calls_reply(
                (ANSWER_TOOL, {"decisions": [open_long_btc(btc_price_now(), Decimal("0.95"))]})
            )
        )

        port = free_port()
        first = start(config, port, tmp_path)
        try:
            await first_cycle_done(port, first)
            executions = (
                "SELECT client_order_id, status, stop_price FROM trade_executions ORDER BY id"
            )
            await wait_until(lambda: len(rows(db, executions)) == 3, first, "the protective orders")
            before = await account_view(port)
            decision = rows(db, "SELECT status FROM decisions WHERE action = 'open_long'")
        finally:
            first.send_signal(signal.SIGKILL)
            await asyncio.to_thread(first.wait, timeout=30)
        assert first.returncode == -signal.SIGKILL

        orders_before = rows(db, executions)
        port = free_port()
        second = start(config, port, tmp_path)
        try:
            status = await first_cycle_done(port, second)
            after = await account_view(port)
            orders_after = rows(db, executions)
        finally:
            stderr = stop_gracefully(second)

    assert decision == [("executed",)]
    [(_, entry_status, _), stop, target] = orders_before
    assert (entry_status, stop[1], target[1]) == ("FILLED", "NEW", "NEW")
    assert orders_after == orders_before
    [position], account = before
    assert (position["symbol"], position["side"], position["leverage"]) == ("BTCUSDT", "long", 5)
    assert Decimal(account["wallet_balance"]) < Decimal(10_000)  # the entry's fee was paid
    assert after[0] == before[0]
    assert after[1]["wallet_balance"] == account["wallet_balance"]
    summary = status["reconciliation"]
    assert all(finding in summary for finding in NOTHING_TO_FIX), summary
    assert "positions with no decision" not in summary
    resting = "SELECT client_order_id, status, stop_price FROM paper_orders WHERE status = 'NEW'"
    assert sorted(rows(db, resting)) == sorted([stop, target])  # the exchange's own record
    assert second.returncode == 0, stderr
    assert "Traceback" not in stderr
