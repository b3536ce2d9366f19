"""Crash safety, as a person would hit it: the process is SIGKILLed after Binance accepted an
entry but before the answer reached the database. On restart, reconciliation finds the order
by its client id, finishes its row, marks the decision executed and puts the stop-loss back;
the venue never sees a second entry. Ctrl-C in the middle of the restarted process's first cycle
then stops it cleanly once that cycle is over.

Everything is real but the venues: `alphatransformer run` in a subprocess on testnet settings,
the Binance adapter against the fake Binance (REST, market and user streams), and the agent's
ChatOpenAI against the fake OpenAI-compatible server, scripted to open one BTC long."""

from __future__ import annotations

import asyncio
import signal
import sqlite3
import subprocess
import time
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path

import httpx
import yaml
from fakes.binance_server import FakeBinance, generate_klines
from fakes.binance_trading import FakeBinanceTrading
from fakes.openai_server import FakeOpenAIServer, StallReply, tool_calls_reply
from run_process import free_port, open_long_btc, start
from trading.binance.venue import API_KEY, API_SECRET

from alphatransformer.agent.llm_agent import ANSWER_TOOL
from alphatransformer.market.types import Interval
from alphatransformer.utils.clock import WallClock

SYMBOLS = {"BTCUSDT": 95_000.0, "ETHUSDT": 3_400.0, "SOLUSDT": 190.0}
HISTORY = 130


def serve_market(fake: FakeBinance) -> dict[str, Decimal]:
    """History ending now for every series; returns each symbol's last close."""
    now = WallClock().now_ms()
    last: dict[str, Decimal] = {}
    for seed, (symbol, price) in enumerate(SYMBOLS.items()):
        for interval in (Interval.M3, Interval.H4):
            start = interval.open_time(now) - HISTORY * interval.ms
            klines = generate_klines(symbol, interval, start, HISTORY, seed=seed, start_price=price)
            fake.set_klines(klines)
            if interval is Interval.M3:
                last[symbol] = Decimal(repr(klines[-1].close))
        fake.premium_index[symbol] = {**fake.premium_index["BTCUSDT"], "symbol": symbol}
        fake.open_interest[symbol] = {**fake.open_interest["BTCUSDT"], "symbol": symbol}
    return last


def write_config(path: Path, fake: FakeBinance, model: FakeOpenAIServer, db: Path) -> None:
    """The testnet config on the fakes, with the scripted model (once its script is used up it
    answers 500, so every later cycle holds); a model call gives up after 3 s."""
    endpoints = {"rest_url": fake.rest_url, "ws_url": fake.ws_url}
    llm = {"model": "fake-gpt", "base_url": model.base_url, "max_retries": 0, "timeout_seconds": 3}
    config = {
        "environment": "testnet",
        "market": {"source": "binance"},
        "binance": {"api_key": API_KEY, "api_secret": API_SECRET, "testnet": endpoints},
        "agent": {"provider": "openai", "cycle_seconds": 3600, "llm": llm},
        "database": {"url": f"sqlite+aiosqlite:///{db}"},
    }
    path.write_text(yaml.safe_dump(config), encoding="utf-8")


async def wait_until(condition: Callable[[], bool], within: float, what: str) -> None:
    deadline = time.monotonic() + within
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.05)


def rows(db: Path, query: str) -> list[tuple[object, ...]]:
    with sqlite3.connect(db) as connection:
        return connection.execute(query).fetchall()


async def wait_until_mid_cycle(
    port: int, process: subprocess.Popen[str], model: FakeOpenAIServer, asked: int
) -> None:
    """Until the restarted process has reconciled and its first cycle has asked the model more
    than the `asked` times before (or it died)."""
    deadline = time.monotonic() + 60
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as client:
        while True:
            assert process.poll() is None, process.communicate()[1]
            assert time.monotonic() < deadline, "the restarted process never reconciled"
            try:
                status = (await client.get("/api/status")).json()
            except httpx.TransportError:
                status = {}
            if status.get("reconciliation") and len(model.requests) > asked:
                return
            await asyncio.sleep(0.1)


async def test_sigkill_between_accept_and_record_leaves_no_duplicate_and_a_protected_position(
    tmp_path: Path,
) -> None:
    db, config = tmp_path / "agent.db", tmp_path / "agent.yaml"
    async with FakeBinance(clock=WallClock()) as fake, FakeOpenAIServer() as model:
        last = serve_market(fake)
        venue = FakeBinanceTrading(fake, api_key=API_KEY, api_secret=API_SECRET, prices=last)
        write_config(config, fake, model, db)
        model.script(
            tool_calls_reply(
                (ANSWER_TOOL, {"decisions": [open_long_btc(last["BTCUSDT"], Decimal("0.97"))]})
            )
        )
        # The entry is accepted, and both its REST answer and its stream event are lost.
        fake.hang_next(1, path="/fapi/v1/order", executed=True)
        venue.user_events_lost = True

        first = start(config, free_port(), tmp_path)
        try:
            await wait_until(lambda: venue.orders_created == 1, 60, "the entry to reach the venue")
        finally:
            first.send_signal(signal.SIGKILL)
            await asyncio.to_thread(first.wait, timeout=30)
        assert first.returncode == -signal.SIGKILL

        [(client_id, status)] = rows(db, "SELECT client_order_id, status FROM trade_executions")
        assert status == "SUBMITTING"  # the crash left the row unfinished
        assert rows(db, "SELECT status FROM decisions WHERE action = 'open_long'") == [("pending",)]

        venue.user_events_lost = False
        # The restarted process's first cycle waits for the model until its timeout, so the
        # Ctrl-C below lands in the middle of a cycle, which still needs the venue after it.
        model.script(StallReply())
        asked = len(model.requests)
        port = free_port()
        second = start(config, port, tmp_path)
        try:
            await wait_until_mid_cycle(port, second, model, asked)
            executions = dict(rows(db, "SELECT client_order_id, status FROM trade_executions"))
            decision = rows(db, "SELECT id, status FROM decisions WHERE action = 'open_long'")
            holding = venue.position("BTCUSDT")
            entries = [o for o in venue.orders.values() if o.client_order_id == client_id]
            stops = [a.client_algo_id for a in venue.algos.values() if a.symbol == "BTCUSDT"]
        finally:
            second.send_signal(signal.SIGINT)
            try:
                # In a thread: this event loop serves the fake venue the process still calls.
                # Stopping takes the rest of the model's 3 s; 30 s is only a guard.
                _, stderr = await asyncio.to_thread(second.communicate, timeout=30)
            except subprocess.TimeoutExpired:
                second.kill()
                _, stderr = second.communicate()
                raise AssertionError(
                    f"Ctrl-C did not stop the process:\n{stderr[-3000:]}"
                ) from None

    [(decision_id, decision_status)] = decision
    assert client_id == f"at-{decision_id}-en"
    assert executions[client_id] == "FILLED"
    assert decision_status == "executed"
    assert executions[f"at-{decision_id}-sl"] == "NEW"  # the stop-loss is back
    assert holding is not None
    assert len(entries) == 1  # the entry was never sent again
    assert stops == [f"at-{decision_id}-sl"]
    assert second.returncode == 0, stderr
    assert API_SECRET not in stderr
