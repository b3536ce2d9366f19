"""The simulated market: deterministic, valid, crypto-like candles from one code path."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import replace

import numpy as np
import pytest

from alphatransformer.config.schema import MarketConfig, SimulatedMarketConfig
from alphatransformer.market.kline_cache import InsertResult, KlineCache
from alphatransformer.market.market_data import MarketData
from alphatransformer.market.simulated import SimulatedMarket
from alphatransformer.market.types import Interval, Kline
from alphatransformer.utils.clock import ManualClock

MINUTE = 60_000
HOUR = 60 * MINUTE
# 2025-10-09 08:53:20 UTC: not on any candle boundary, so partial candles are exercised.
NOW = 1_760_000_000_000
SYMBOLS = ("BTCUSDT", "ETHUSDT")


def config(
    *,
    short: Interval = Interval.M3,
    long: Interval = Interval.H4,
    history: int = 120,
    cache_size: int = 500,
    seed: int = 42,
    tick_seconds: float = 1.0,
) -> MarketConfig:
    return MarketConfig(
        short_interval=short,
        long_interval=long,
        history_candles=history,
        cache_size=cache_size,
        simulated=SimulatedMarketConfig(seed=seed, tick_seconds=tick_seconds),
    )


def market_with_history(
    market_config: MarketConfig | None = None,
    symbols: tuple[str, ...] = SYMBOLS,
    clock: ManualClock | None = None,
) -> SimulatedMarket:
    market = SimulatedMarket(symbols, market_config or config(), clock or ManualClock(NOW))
    market.load_history()
    return market


def all_candles(market: SimulatedMarket) -> list[Kline]:
    return [
        kline
        for symbol in market.symbols
        for interval in market.intervals
        for kline in market.klines(symbol, interval)
    ]


def tick_every(market: SimulatedMarket, clock: ManualClock, step_ms: int, until_ms: int) -> None:
    while clock.now < until_ms:
        clock.now += step_ms
        market.tick(clock.now)


def test_same_seed_and_ticks_give_identical_candles() -> None:
    clocks = ManualClock(NOW), ManualClock(NOW)
    first, second = (market_with_history(clock=clock) for clock in clocks)

    for market, clock in zip((first, second), clocks, strict=True):
        tick_every(market, clock, step_ms=1_000, until_ms=NOW + 10 * MINUTE)

    assert all_candles(first) == all_candles(second)
    assert first.funding("BTCUSDT") == second.funding("BTCUSDT")
    assert first.open_interest("ETHUSDT") == second.open_interest("ETHUSDT")


def test_another_seed_gives_other_candles() -> None:
    first = market_with_history(config(seed=1))
    second = market_with_history(config(seed=2))

    closes = [
        [kline.close for kline in market.klines("BTCUSDT", Interval.H4)]
        for market in (first, second)
    ]

    assert closes[0] != closes[1]


def test_a_symbol_follows_the_same_path_whatever_else_is_traded() -> None:
    alone = market_with_history(symbols=("ETHUSDT",))
    with_others = market_with_history(symbols=("BTCUSDT", "ETHUSDT", "SOLUSDT"))

    assert alone.klines("ETHUSDT", Interval.M3) == with_others.klines("ETHUSDT", Interval.M3)


def test_history_fills_both_intervals_up_to_the_clock() -> None:
    # given the default 120 candles of 4h history ending at NOW
    market = market_with_history()

    for symbol in SYMBOLS:
        long = market.klines(symbol, Interval.H4)
        short = market.klines(symbol, Interval.M3)
        # then 120 closed 4h candles end where the current 4h bucket begins
        assert len(long) == 120
        assert long[-1].close_time == Interval.H4.open_time(NOW) - 1
        # and the 3m series holds as many as the cache keeps (500 >= 120)
        assert len(short) == 500
        assert short[-1].close_time == Interval.M3.open_time(NOW) - 1
        for interval in (Interval.M3, Interval.H4):
            forming = market.forming(symbol, interval)
            assert forming is not None
            assert not forming.closed
            assert forming.open_time == interval.open_time(NOW)
        assert market.last_update_ms(symbol) == NOW
        assert market.is_fresh(symbol, max_age_ms=0)


def test_history_starts_at_the_configured_price() -> None:
    market = market_with_history()

    assert market.klines("BTCUSDT", Interval.H4)[0].open == 95_000.0
    assert market.klines("ETHUSDT", Interval.H4)[0].open == 3_400.0


def test_every_closed_candle_passes_the_cache_validation_without_gaps() -> None:
    market = market_with_history()
    clock = ManualClock(NOW)
    fresh_cache = KlineCache(SYMBOLS, market.intervals, 500, clock)

    results = {fresh_cache.insert(kline) for kline in all_candles(market)}

    assert results == {InsertResult.ACCEPTED}
    for symbol in SYMBOLS:
        for interval in market.intervals:
            open_times = market.arrays(symbol, interval).open_time
            assert set(np.diff(open_times).tolist()) == {interval.ms}


def test_a_candle_closes_when_a_tick_crosses_its_bucket_boundary() -> None:
    # given a market at 08:53:20, whose 3m candle opened at 08:51:00 and ends at 08:54:00
    clock = ManualClock(NOW)
    market = market_with_history(clock=clock)
    boundary = Interval.M3.open_time(NOW) + Interval.M3.ms
    last_closed = market.klines("BTCUSDT", Interval.M3)[-1]

    # when a tick reaches 08:53:59.999, nothing closes
    clock.now = boundary - 1
    market.tick(clock.now)
    assert market.klines("BTCUSDT", Interval.M3)[-1] == last_closed
    still_forming = market.forming("BTCUSDT", Interval.M3)
    assert still_forming is not None

    # when the next tick lands on 08:54:00
    clock.now = boundary
    market.tick(clock.now)

    # then the forming candle closed as it stood, and the next one opens at its close
    closed = market.klines("BTCUSDT", Interval.M3)[-1]
    assert closed == replace(still_forming, closed=True)
    assert closed.close_time == boundary - 1
    assert len(market.klines("BTCUSDT", Interval.M3)) == 500
    forming = market.forming("BTCUSDT", Interval.M3)
    assert forming is not None
    assert forming.open_time == boundary
    assert forming.open == closed.close


def assert_long_candles_aggregate_short_ones(market: SimulatedMarket, symbol: str) -> int:
    """Check every long candle the short series fully covers; return how many were checked."""
    short_interval, long_interval = market.intervals
    short = market.klines(symbol, short_interval)
    per_long = long_interval.ms // short_interval.ms
    checked = 0
    for long in market.klines(symbol, long_interval):
        parts = [k for k in short if long.open_time <= k.open_time <= long.close_time]
        if len(parts) < per_long:
            continue
        assert long.open == parts[0].open
        assert long.high == max(k.high for k in parts)
        assert long.low == min(k.low for k in parts)
        assert long.close == parts[-1].close
        assert long.volume == pytest.approx(sum(k.volume for k in parts), rel=1e-9)
        checked += 1
    return checked


def test_history_long_candles_are_the_aggregate_of_the_short_ones() -> None:
    # given 610 candles of 5m: NOW is 08:53, so 10 of them (08:00 to 08:45) belong to the
    # forming hour and the other 600 cover the 50 closed hours before it
    market = market_with_history(config(short=Interval.M5, long=Interval.H1, cache_size=610))

    for symbol in SYMBOLS:
        assert assert_long_candles_aggregate_short_ones(market, symbol) == 50


def test_live_long_candles_are_the_aggregate_of_the_short_ones() -> None:
    # given a market ticking every 7 s (no divisor of a candle) from 08:53:20 to 11:53:20
    clock = ManualClock(NOW)
    market = market_with_history(
        config(short=Interval.M5, long=Interval.H1, history=60, cache_size=100), clock=clock
    )
    tick_every(market, clock, step_ms=7_000, until_ms=NOW + 3 * HOUR)

    # then the 100 kept 5m candles open from 03:30 to 11:45, so the hours 04:00 to 10:00 are
    # covered; each of the 7 equals its 5m candles, 08:00 (history, then live) included
    assert assert_long_candles_aggregate_short_ones(market, "BTCUSDT") == 7


def test_volatility_clusters_and_returns_have_fat_tails() -> None:
    # given 60 days of history, 10 000 candles of 5m kept
    market = market_with_history(
        config(short=Interval.M5, long=Interval.D1, history=60, cache_size=10_000),
        symbols=("BTCUSDT",),
    )
    returns = np.diff(np.log(market.arrays("BTCUSDT", Interval.M5).close))

    # then big moves follow big moves (i.i.d. returns would give about 0 ± 0.01)
    size = np.abs(returns) - np.abs(returns).mean()
    assert float(size[:-1] @ size[1:] / (size @ size)) > 0.1
    # and the tails are fatter than a normal distribution's (kurtosis 3)
    standard = (returns - returns.mean()) / returns.std()
    assert float(np.mean(standard**4)) > 4.0


def test_realised_volatility_is_near_the_configured_one() -> None:
    market = market_with_history(
        config(short=Interval.M5, long=Interval.D1, history=60, cache_size=10_000),
        symbols=("BTCUSDT",),
    )
    returns = np.diff(np.log(market.arrays("BTCUSDT", Interval.M5).close))

    annualised = float(returns.std() * np.sqrt(365 * 24 * 12))

    assert 0.3 < annualised < 1.2  # configured 0.6; regimes and clustering widen the spread


def test_funding_and_open_interest_look_like_a_perpetual() -> None:
    market = market_with_history()

    funding = market.funding("BTCUSDT")
    open_interest = market.open_interest("BTCUSDT")

    assert funding is not None
    assert open_interest is not None
    assert funding.mark_price == market.latest_price("BTCUSDT")
    assert abs(funding.index_price / funding.mark_price - 1) < 0.01
    assert abs(funding.funding_rate) < 0.001
    # NOW is 08:53 UTC, so the next funding is at 16:00 UTC the same day
    assert funding.next_funding_time == Interval.H8.open_time(NOW) + 8 * HOUR
    assert funding.time == NOW
    assert open_interest.open_interest > 0
    assert open_interest.time == NOW


def test_latest_price_is_the_close_of_the_forming_candle() -> None:
    market = market_with_history()

    forming = market.forming("ETHUSDT", Interval.M3)

    assert forming is not None
    assert market.latest_price("ETHUSDT") == forming.close


def test_listeners_get_every_live_update_in_a_fixed_order() -> None:
    # given a market at NOW and a listener
    clock = ManualClock(NOW)
    market = market_with_history(clock=clock)
    updates: list[Kline] = []
    market.add_listener(updates.append)

    # when one second passes (no candle closes)
    clock.now += 1_000
    market.tick(clock.now)

    # then each symbol's forming candles came, short interval first
    assert [(k.symbol, k.interval, k.closed) for k in updates] == [
        ("BTCUSDT", Interval.M3, False),
        ("BTCUSDT", Interval.H4, False),
        ("ETHUSDT", Interval.M3, False),
        ("ETHUSDT", Interval.H4, False),
    ]


def test_listeners_see_a_closed_candle_before_the_forming_one_that_follows() -> None:
    clock = ManualClock(NOW)
    market = market_with_history(symbols=("BTCUSDT",), clock=clock)
    updates: list[Kline] = []
    market.add_listener(updates.append)

    clock.now = Interval.M3.open_time(NOW) + Interval.M3.ms
    market.tick(clock.now)

    assert [(k.interval, k.closed) for k in updates] == [
        (Interval.M3, True),
        (Interval.M3, False),
        (Interval.H4, False),
    ]


def test_history_does_not_call_listeners() -> None:
    market = SimulatedMarket(SYMBOLS, config(), ManualClock(NOW))
    updates: list[Kline] = []
    market.add_listener(updates.append)

    market.load_history()

    assert updates == []


def test_a_raising_listener_is_logged_and_does_not_stop_the_feed(
    caplog: pytest.LogCaptureFixture,
) -> None:
    # given a broken listener registered before a working one
    clock = ManualClock(NOW)
    market = market_with_history(clock=clock)

    def broken(kline: Kline) -> None:
        raise RuntimeError("listener bug")

    updates: list[Kline] = []
    market.add_listener(broken)
    market.add_listener(updates.append)

    # when two ticks happen
    with caplog.at_level(logging.ERROR):
        tick_every(market, clock, step_ms=1_000, until_ms=NOW + 2_000)

    # then the working listener got all 2 x 4 updates and each failure was logged
    assert len(updates) == 8
    failures = [str(record.exc_info[1]) for record in caplog.records if record.exc_info]
    assert failures == ["listener bug"] * 8
    assert market.last_update_ms("BTCUSDT") == NOW + 2_000


def test_a_tick_at_or_before_the_market_time_changes_nothing() -> None:
    market = market_with_history()
    before = all_candles(market)

    market.tick(NOW)
    market.tick(NOW - 5 * MINUTE)

    assert all_candles(market) == before


def test_ticking_before_history_is_an_error() -> None:
    market = SimulatedMarket(SYMBOLS, config(), ManualClock(NOW))

    with pytest.raises(RuntimeError, match="load_history"):
        market.tick(NOW + 1_000)


def test_unknown_symbol_is_a_key_error() -> None:
    market = market_with_history()

    with pytest.raises(KeyError, match="DOGEUSDT"):
        market.latest_price("DOGEUSDT")
    with pytest.raises(KeyError, match="DOGEUSDT"):
        market.funding("DOGEUSDT")


def test_a_symbol_without_a_start_price_is_refused() -> None:
    with pytest.raises(ValueError, match="ADAUSDT"):
        SimulatedMarket(("BTCUSDT", "ADAUSDT"), config(), ManualClock(NOW))


def test_market_says_it_is_simulated() -> None:
    market: MarketData = SimulatedMarket(SYMBOLS, config(), ManualClock(NOW))

    assert market.is_simulated
    assert market.symbols == SYMBOLS
    assert market.intervals == (Interval.M3, Interval.H4)
    assert market.funding("BTCUSDT") is None


class SteppingClock:
    """A clock that moves one second forward each time it is read, so every tick sees news."""

    def __init__(self) -> None:
        self.now = NOW

    def now_ms(self) -> int:
        self.now += 1_000
        return self.now


async def test_start_loads_history_and_ticks_in_the_background_until_stop() -> None:
    # given a market ticking every 10 ms of wall time
    market = SimulatedMarket(SYMBOLS, config(tick_seconds=0.01), SteppingClock())
    ticked = asyncio.Event()
    updates: list[Kline] = []

    def on_update(kline: Kline) -> None:
        updates.append(kline)
        if len(updates) >= 8:
            ticked.set()

    market.add_listener(on_update)

    # when it starts (twice: the second start is a no-op) and runs for two ticks
    await market.start()
    await market.start()
    assert len(market.klines("BTCUSDT", Interval.H4)) == 120
    await asyncio.wait_for(ticked.wait(), timeout=10)

    # then stop ends the task, and a second stop is harmless
    await market.stop()
    await market.stop()
    count = len(updates)
    await asyncio.sleep(0.05)
    assert len(updates) == count
