"""Paper trading on the live Binance market: `market.source: binance` runs the real REST and
WebSocket clients (here against the fake Binance on loopback) under the same engine, and the
status says the prices are real, not simulated."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import httpx
from fakes.binance_server import FakeBinance, generate_klines
from live_server import serve

from alphatransformer.api.app import create_app
from alphatransformer.config import AppConfig
from alphatransformer.market.types import Interval
from alphatransformer.utils.clock import WallClock

SYMBOLS = {"BTCUSDT": 95_000.0, "ETHUSDT": 3_400.0, "SOLUSDT": 190.0}
HISTORY = 130


def serve_history(fake: FakeBinance) -> None:
    now = WallClock().now_ms()
    for seed, (symbol, price) in enumerate(SYMBOLS.items()):
        for interval in (Interval.M3, Interval.H4):
            start = interval.open_time(now) - HISTORY * interval.ms
            fake.set_klines(
                generate_klines(symbol, interval, start, HISTORY + 1, seed=seed, start_price=price)
            )
        fake.premium_index[symbol] = {**fake.premium_index["BTCUSDT"], "symbol": symbol}
        fake.open_interest[symbol] = {**fake.open_interest["BTCUSDT"], "symbol": symbol}


async def test_the_engine_trades_on_paper_from_the_live_market(tmp_path: Path) -> None:
    async with FakeBinance() as fake:
        serve_history(fake)
        config = AppConfig.model_validate(
            {
                "market": {"source": "binance"},
                "binance": {"production": {"rest_url": fake.rest_url, "ws_url": fake.ws_url}},
                "agent": {"cycle_seconds": 0.3},
                "database": {"url": f"sqlite+aiosqlite:///{tmp_path}/live.db"},
            }
        )
        async with (
            serve(create_app(config, api_token="t")) as url,
            httpx.AsyncClient(base_url=url) as client,
        ):
            deadline = time.monotonic() + 20
            while (status := (await client.get("/api/status")).json())["cycles"] < 1:
                assert time.monotonic() < deadline, status
                await asyncio.sleep(0.05)
            decisions = (await client.get("/api/decisions")).json()["items"]
            assert fake.subscriber_count("btcusdt@kline_3m") == 1

    assert (status["market_source"], status["simulated_market"]) == ("binance", False)
    assert status["notice"] is None
    assert status["exchange"] == "paper"
    assert {d["symbol"] for d in decisions} == set(SYMBOLS)
    for decision in decisions:
        # Prices are the fake venue's: within a few percent of where its series started.
        assert 0.5 < float(decision["price"]) / SYMBOLS[decision["symbol"]] < 2
