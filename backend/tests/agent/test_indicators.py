"""Indicators checked against plain-Python references of the textbook definitions.

References: EMA seeded with the SMA of its first `period` values (as TA-Lib), Wilder's RSI and
ATR (first average a simple mean, then `(prev * (n - 1) + x) / n`), MACD = EMA12 - EMA26 with an
EMA9 signal, Bollinger = SMA20 +- 2 population standard deviations.
"""

from __future__ import annotations

import itertools
import math
import statistics

import numpy as np
import pytest

from alphatransformer.agent.indicators import (
    atr,
    bollinger,
    compute_indicators,
    ema,
    latest,
    macd,
    rsi,
    sma,
    tail,
)
from alphatransformer.market.market_data import FloatArray, KlineArrays

Series = list[float | None]


def frozen(values: list[float] | FloatArray) -> FloatArray:
    """A read-only contiguous float64 array, like the K-line cache's views."""
    array = np.ascontiguousarray(values, dtype=np.float64)
    array.flags.writeable = False
    return array


def klines(
    close: list[float] | FloatArray, high: list[float] | FloatArray, low: list[float] | FloatArray
) -> KlineArrays:
    close_ = frozen(close)
    open_time = np.arange(len(close_), dtype=np.int64) * 60_000
    return KlineArrays(
        open_time=open_time,
        open=close_,
        high=frozen(high),
        low=frozen(low),
        close=close_,
        volume=frozen(np.arange(1.0, len(close_) + 1)),
    )


def random_klines(n: int, seed: int = 7) -> KlineArrays:
    rng = np.random.default_rng(seed)
    close = 100 + np.cumsum(rng.normal(0, 1, n))
    return klines(close, close + rng.uniform(0.1, 2, n), close - rng.uniform(0.1, 2, n))


# --- plain-Python references -------------------------------------------------------------


def ref_ema(values: Series, period: int) -> Series:
    """EMA over the values after any leading None, seeded with the SMA of the first `period`."""
    start = next((i for i, v in enumerate(values) if v is not None), len(values))
    out: Series = [None] * len(values)
    data = [v for v in values[start:] if v is not None]
    if len(data) < period:
        return out
    k = 2 / (period + 1)
    current = sum(data[:period]) / period
    out[start + period - 1] = current
    for i, value in enumerate(data[period:], start=start + period):
        current += k * (value - current)
        out[i] = current
    return out


def wilder(values: list[float], period: int) -> list[float]:
    """Wilder smoothing: the first value a simple mean of `period` values, then recursive."""
    current = sum(values[:period]) / period
    out = [current]
    for value in values[period:]:
        current = (current * (period - 1) + value) / period
        out.append(current)
    return out


def ref_rsi(close: list[float], period: int) -> Series:
    if len(close) <= period:
        return [None] * len(close)
    changes = [b - a for a, b in itertools.pairwise(close)]
    gains = wilder([max(c, 0.0) for c in changes], period)
    losses = wilder([max(-c, 0.0) for c in changes], period)
    values = [100 * up / (up + down) for up, down in zip(gains, losses, strict=True)]
    return [None] * period + values


def ref_atr(high: list[float], low: list[float], close: list[float], period: int) -> Series:
    if len(close) <= period:
        return [None] * len(close)
    true_ranges = [
        max(high[i] - low[i], abs(high[i] - close[i - 1]), abs(low[i] - close[i - 1]))
        for i in range(1, len(close))
    ]
    return [None] * period + wilder(true_ranges, period)


def ref_macd(close: list[float]) -> tuple[Series, Series, Series]:
    fast, slow = ref_ema(list(close), 12), ref_ema(list(close), 26)
    line = [
        f - s if f is not None and s is not None else None for f, s in zip(fast, slow, strict=True)
    ]
    signal = ref_ema(line, 9)
    hist = [
        m - s if m is not None and s is not None else None
        for m, s in zip(line, signal, strict=True)
    ]
    return line, signal, hist


def ref_bollinger(close: list[float], period: int, k: float) -> tuple[Series, Series, Series]:
    upper: Series = [None] * (period - 1)
    middle: Series = [None] * (period - 1)
    lower: Series = [None] * (period - 1)
    for end in range(period, len(close) + 1):
        window = close[end - period : end]
        mean, deviation = statistics.fmean(window), statistics.pstdev(window)
        upper.append(mean + k * deviation)
        middle.append(mean)
        lower.append(mean - k * deviation)
    return upper, middle, lower


def assert_series(actual: FloatArray, expected: Series, rel: float = 1e-9) -> None:
    got = tail(actual, len(actual))
    assert [v is None for v in got] == [v is None for v in expected]
    present = [(g, e) for g, e in zip(got, expected, strict=True) if e is not None]
    assert [g for g, _ in present] == pytest.approx([e for _, e in present], rel=rel, abs=1e-9)


# --- hand-checked values -----------------------------------------------------------------


def test_ema_is_seeded_with_the_sma_then_smoothed() -> None:
    # period 3: seed (1 + 2 + 3) / 3 = 2, k = 0.5: 2 + 0.5 * (4 - 2) = 3, then 4, then 5.
    assert tail(ema(frozen([1, 2, 3, 4, 5, 6]), 3), 6) == [None, None, 2, 3, 4, 5]


def test_rsi_uses_wilder_averages() -> None:
    # period 2, changes +1 +1 -1: first averages gain 1, loss 0 -> 100;
    # then gain (1 * 1 + 0) / 2 = 0.5, loss (0 * 1 + 1) / 2 = 0.5 -> 50.
    assert tail(rsi(frozen([1, 2, 3, 2]), 2), 4) == [None, None, 100, 50]


def test_atr_starts_after_the_first_true_range() -> None:
    # true ranges from candle 1: max(12-9, |12-10|, |9-10|) = 3, then 5, then 1.
    # period 2: (3 + 5) / 2 = 4, then (4 * 1 + 1) / 2 = 2.5.
    candles = klines(close=[10, 11, 12, 11], high=[11, 12, 15, 12], low=[9, 9, 10, 11])
    assert tail(atr(candles, 2), 4) == [None, None, 4, 2.5]


def test_bollinger_uses_the_population_deviation() -> None:
    # window 1, 2, 3: mean 2, population deviation sqrt(2/3).
    upper, middle, lower = bollinger(frozen([1, 2, 3]), period=3, deviations=2)
    assert latest(middle) == pytest.approx(2)
    assert latest(upper) == pytest.approx(2 + 2 * math.sqrt(2 / 3))
    assert latest(lower) == pytest.approx(2 - 2 * math.sqrt(2 / 3))


def test_sma_averages_the_window() -> None:
    assert tail(sma(frozen([2, 4, 6, 8]), 2), 4) == [None, 3, 5, 7]


# --- against the references on a longer random series -------------------------------------


def test_standard_set_matches_the_references() -> None:
    candles = random_klines(120)
    close, high, low = (a.tolist() for a in (candles.close, candles.high, candles.low))
    series = compute_indicators(candles)
    line, signal, hist = ref_macd(close)
    upper, middle, lower = ref_bollinger(close, 20, 2)

    assert_series(series.ema20, ref_ema(list(close), 20))
    assert_series(series.ema50, ref_ema(list(close), 50))
    assert_series(series.macd, line)
    assert_series(series.macd_signal, signal)
    assert_series(series.macd_histogram, hist, rel=1e-7)
    assert_series(series.rsi7, ref_rsi(close, 7))
    assert_series(series.rsi14, ref_rsi(close, 14))
    assert_series(series.atr3, ref_atr(high, low, close, 3))
    assert_series(series.atr14, ref_atr(high, low, close, 14))
    assert_series(series.bollinger_upper, upper)
    assert_series(series.bollinger_middle, middle)
    assert_series(series.bollinger_lower, lower)
    assert_series(series.volume_average20, [None] * 19 + [i - 9.5 for i in range(20, 121)])


def test_macd_generic_periods_match_the_reference_definition() -> None:
    close = random_klines(40, seed=3).close
    result = macd(close, fast=3, slow=6, signal=4)
    expected_line = [
        f - s if f is not None and s is not None else None
        for f, s in zip(ref_ema(close.tolist(), 3), ref_ema(close.tolist(), 6), strict=True)
    ]
    assert_series(result.line, expected_line)
    assert_series(result.signal, ref_ema(expected_line, 4))


def test_warm_up_values_are_none_for_exactly_the_lookback() -> None:
    series = compute_indicators(random_klines(120))
    leading_none = {
        name: next(i for i, v in enumerate(tail(values, 120)) if v is not None)
        for name, values in series.values().items()
    }
    assert leading_none == {
        "ema20": 19,
        "ema50": 49,
        "macd": 25,
        "macd_signal": 33,
        "macd_histogram": 33,
        "rsi7": 7,
        "rsi14": 14,
        "atr3": 3,
        "atr14": 14,
        "bollinger_upper": 19,
        "bollinger_middle": 19,
        "bollinger_lower": 19,
        "volume": 0,
        "volume_average20": 19,
    }


@pytest.mark.parametrize("length", [0, 1, 7, 8, 33])
def test_series_shorter_than_a_period_give_none_not_errors(length: int) -> None:
    series = compute_indicators(random_klines(length))
    assert len(series.ema50) == length
    assert latest(series.ema50) is None
    assert tail(series.ema50, 5) == [None] * min(length, 5)
    assert latest(series.macd_histogram) is None  # needs 34 candles
    assert (latest(series.rsi7) is None) == (length <= 7)


def test_volume_is_the_input_view_not_a_copy() -> None:
    candles = random_klines(60)
    assert compute_indicators(candles).volume is candles.volume


# --- latest and tail ---------------------------------------------------------------------


def test_latest_turns_nan_and_inf_into_none() -> None:
    assert latest(frozen([1.0, math.nan])) is None
    assert latest(frozen([1.0, math.inf])) is None
    assert latest(frozen([])) is None
    assert latest(frozen([math.nan, 2.5])) == 2.5


def test_tail_gives_the_newest_values_oldest_first() -> None:
    values = frozen([math.nan, math.nan, 1.0, 2.0, 3.0])
    assert tail(values, 2) == [2.0, 3.0]
    assert tail(values, 4) == [None, 1.0, 2.0, 3.0]
    assert tail(values, 10) == [None, None, 1.0, 2.0, 3.0]
    assert tail(values, 0) == []


def test_tail_refuses_a_negative_count() -> None:
    with pytest.raises(ValueError, match="n must be >= 0"):
        tail(frozen([1.0]), -1)
