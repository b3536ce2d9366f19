"""`alphatransformer run` as a child process on a free loopback port, for the end-to-end tests
that kill it and start it again, and the entry their scripted model makes."""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

from alphatransformer.config import AppConfig
from alphatransformer.market.simulated import SimulatedMarket
from alphatransformer.trading.paper.funding import HOUR_MS
from alphatransformer.utils.clock import ManualClock, WallClock


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start(config: Path, port: int, cwd: Path) -> subprocess.Popen[str]:
    """The server on `port` with `config`, stderr kept for the test to read, no ALPHA_ or
    BINANCE_ variables of the developer's shell."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ALPHA_", "BINANCE_"))}
    return subprocess.Popen(
        [sys.executable, "-m", "alphatransformer", "run", "-c", str(config), "--port", str(port)],
        cwd=cwd,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )


def open_long_btc(price: Decimal, stop_factor: Decimal) -> dict[str, object]:
    """A scripted model's opening of 1000 USDT of BTC at 5x, stop at `price * stop_factor`,
    target 5 % up."""
    return {
        "symbol": "BTCUSDT",
        "action": "open_long",
        "notional_usd": 1000,
        "leverage": 5,
        "stop_loss": float(round(price * stop_factor, 1)),
        "take_profit": float(round(price * Decimal("1.05"), 1)),
        "confidence": 0.9,
        "reasoning": "scripted entry",
    }


def btc_price_now() -> Decimal:
    """About the simulated BTC price the subprocess will see: the same seeded series, now."""
    config = AppConfig()
    market = SimulatedMarket(config.symbols, config.market, ManualClock(WallClock().now_ms()))
    market.load_history()
    return Decimal(repr(market.latest_price("BTCUSDT")))


async def clear_of_funding_time() -> None:
    """Funding exchanged during the test would rightly change the balance: start after it."""
    now = WallClock().now_ms()
    wait_ms = 8 * HOUR_MS - now % (8 * HOUR_MS)  # the simulated market funds every 8 h
    if wait_ms < 120_000:
        await asyncio.sleep(wait_ms / 1000 + 1)
