"""Test data for backtests: seeded 3-minute candles for three symbols, as monthly files, and
configs that replay them."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from fakes.binance_server import generate_klines

from alphatransformer.backtest.downloads import write_history
from alphatransformer.backtest.period import ReplayPeriod
from alphatransformer.config.schema import AppConfig, DatabaseConfig, MarketConfig
from alphatransformer.market.types import Interval, Kline

M3 = Interval.M3
HOUR = 3_600_000
DAY = 24 * HOUR
DATA_START = 1_704_067_200_000  # 2024-01-01 00:00 UTC
# 60 four-hour candles of warm-up (the least the config allows) is 10 days: the first decision.
START = DATA_START + 10 * DAY  # 2024-01-11
DATA_END = DATA_START + 41 * DAY  # 2024-02-11
SYMBOLS = ("BTCUSDT", "ETHUSDT", "SOLUSDT")
START_PRICES = {"BTCUSDT": 42_000.0, "ETHUSDT": 2_300.0, "SOLUSDT": 100.0}
MARKET = MarketConfig(history_candles=60, cache_size=500)


def series(
    symbol: str, start_ms: int, end_ms: int, seed: int, start_price: float | None = None
) -> list[Kline]:
    """A seeded random walk (see `generate_klines`), from the symbol's usual price unless told;
    the same seed from the same start gives the same candles, so a shorter series is a prefix
    of a longer one."""
    count = (end_ms - start_ms) // M3.ms
    price = START_PRICES[symbol] if start_price is None else start_price
    return generate_klines(symbol, M3, start_ms, count, seed=seed, start_price=price)


SEEDS = {symbol: seed for seed, symbol in enumerate(SYMBOLS, start=1)}


def write_market(root: Path) -> Path:
    """41 days of history for every symbol under `root`, from 2024-01-01."""
    for symbol, seed in SEEDS.items():
        write_history(root, series(symbol, DATA_START, DATA_END, seed))
    return root


def config_for(tmp_path: Path, symbols: Sequence[str] = SYMBOLS, **changes: object) -> AppConfig:
    """The default config on the test market, with its own database."""
    database = DatabaseConfig(url=f"sqlite+aiosqlite:///{tmp_path}/backtest.db")
    return AppConfig(symbols=tuple(symbols), market=MARKET, database=database, **changes)


def period(root: Path, days: float, every: Interval = Interval.H1) -> ReplayPeriod:
    """`days` of replay from the first day with a full warm-up, deciding `every`."""
    return ReplayPeriod(root, START, START + int(days * DAY), every)
