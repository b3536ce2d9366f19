"""Technical indicators over one candle series, computed with TA-Lib, NaN-free for callers.

`compute_indicators` gives the standard set an Alpha Arena prompt carries (EMA 20/50, MACD
12/26/9, RSI 7/14, ATR 3/14, Bollinger 20/2, volume and its 20-period average) as full arrays
aligned with the candles. TA-Lib marks warm-up values as NaN; `latest` and `tail` turn them
into None, so a prompt or a strategy never sees a NaN. The small functions (`ema`, `rsi`,
`atr`, ...) take any period, so the rules strategy computes its configured periods the same way.

Every function hands TA-Lib the cache's contiguous views as they are: no copies, no Python
loops over candles (this runs every cycle for every symbol and timeframe). A series shorter than
a period is not an error: its values stay NaN, that is None.
"""

from __future__ import annotations

import math
from collections import OrderedDict
from functools import cached_property
from typing import NamedTuple

import talib

from alphatransformer.market.market_data import FloatArray, KlineArrays

MACD_FAST = 12
MACD_SLOW = 26
MACD_SIGNAL = 9
BOLLINGER_PERIOD = 20
BOLLINGER_DEVIATIONS = 2.0
VOLUME_AVERAGE_PERIOD = 20


class Macd(NamedTuple):
    line: FloatArray
    signal: FloatArray
    histogram: FloatArray


class BollingerBands(NamedTuple):
    upper: FloatArray
    middle: FloatArray
    lower: FloatArray


def sma(values: FloatArray, period: int) -> FloatArray:
    """Simple moving average; NaN for the first `period - 1` values."""
    return talib.SMA(values, timeperiod=period)


def ema(values: FloatArray, period: int) -> FloatArray:
    """Exponential moving average seeded with the SMA of the first `period` values.

    NaN for the first `period - 1` values; leading NaNs in `values` are skipped, so an EMA of
    another indicator starts where that indicator does.
    """
    return talib.EMA(values, timeperiod=period)


def rsi(close: FloatArray, period: int) -> FloatArray:
    """Wilder's relative strength index in [0, 100]; NaN for the first `period` values."""
    return talib.RSI(close, timeperiod=period)


def atr(klines: KlineArrays, period: int) -> FloatArray:
    """Wilder's average true range; NaN for the first `period` candles.

    The first true range needs a previous close, so the first average covers candles 1..period.
    """
    return talib.ATR(klines.high, klines.low, klines.close, timeperiod=period)


def macd(
    close: FloatArray, fast: int = MACD_FAST, slow: int = MACD_SLOW, signal: int = MACD_SIGNAL
) -> Macd:
    """MACD by its textbook definition: EMA(fast) - EMA(slow), signal = EMA(signal) of the line.

    Built from `ema` rather than `talib.MACD`, because TA-Lib's MACD seeds the fast EMA where the
    slow one starts instead of at its own start, and hides the line until the signal exists: its
    numbers then differ from EMA12 - EMA26 for the first fifty or so candles. Here the line
    starts at candle `slow - 1`, the signal and histogram `signal - 1` candles later.
    """
    line = ema(close, fast) - ema(close, slow)
    signal_line = ema(line, signal)
    return Macd(line, signal_line, line - signal_line)


def bollinger(
    close: FloatArray, period: int = BOLLINGER_PERIOD, deviations: float = BOLLINGER_DEVIATIONS
) -> BollingerBands:
    """SMA(period) plus and minus `deviations` population standard deviations of the window.

    TA-Lib's default moving average for the bands is the SMA, as Bollinger defined them.
    """
    upper, middle, lower = talib.BBANDS(
        close, timeperiod=period, nbdevup=deviations, nbdevdn=deviations
    )
    return BollingerBands(upper, middle, lower)


INDICATOR_NAMES = (
    "ema20",
    "ema50",
    "macd",
    "macd_signal",
    "macd_histogram",
    "rsi7",
    "rsi14",
    "atr3",
    "atr14",
    "bollinger_upper",
    "bollinger_middle",
    "bollinger_lower",
    "volume",
    "volume_average20",
)
"""The standard set, in the order the `get_indicators` tool lists it."""


class IndicatorSeries:
    """The standard indicator set of one candle series, each array aligned with the candles.

    Each indicator is computed when first read and then kept: the prompt reads a third of the
    set every cycle, the `get_indicators` tool all of it now and then. Arrays are read-only,
    since one series is shared by all its readers (see `compute_indicators`), and hold NaN
    during warm-up: read them through `latest` and `tail`.
    """

    def __init__(self, klines: KlineArrays) -> None:
        self._klines = klines

    def values(self) -> dict[str, FloatArray]:
        """Every indicator of the set by name (computing those not read yet)."""
        return {name: getattr(self, name) for name in INDICATOR_NAMES}

    @cached_property
    def ema20(self) -> FloatArray:
        return _shared(ema(self._klines.close, 20))

    @cached_property
    def ema50(self) -> FloatArray:
        return _shared(ema(self._klines.close, 50))

    @cached_property
    def _macd(self) -> Macd:
        return Macd(*(_shared(values) for values in macd(self._klines.close)))

    @property
    def macd(self) -> FloatArray:
        return self._macd.line

    @property
    def macd_signal(self) -> FloatArray:
        return self._macd.signal

    @property
    def macd_histogram(self) -> FloatArray:
        return self._macd.histogram

    @cached_property
    def rsi7(self) -> FloatArray:
        return _shared(rsi(self._klines.close, 7))

    @cached_property
    def rsi14(self) -> FloatArray:
        return _shared(rsi(self._klines.close, 14))

    @cached_property
    def atr3(self) -> FloatArray:
        return _shared(atr(self._klines, 3))

    @cached_property
    def atr14(self) -> FloatArray:
        return _shared(atr(self._klines, 14))

    @cached_property
    def _bollinger(self) -> BollingerBands:
        return BollingerBands(*(_shared(values) for values in bollinger(self._klines.close)))

    @property
    def bollinger_upper(self) -> FloatArray:
        return self._bollinger.upper

    @property
    def bollinger_middle(self) -> FloatArray:
        return self._bollinger.middle

    @property
    def bollinger_lower(self) -> FloatArray:
        return self._bollinger.lower

    @property
    def volume(self) -> FloatArray:
        return self._klines.volume

    @cached_property
    def volume_average20(self) -> FloatArray:
        return _shared(sma(self._klines.volume, VOLUME_AVERAGE_PERIOD))


def _shared(values: FloatArray) -> FloatArray:
    values.flags.writeable = False
    return values


_MEMO_SIZE = 32
_memo: OrderedDict[int, tuple[KlineArrays, IndicatorSeries]] = OrderedDict()


def compute_indicators(klines: KlineArrays) -> IndicatorSeries:
    """The standard indicator set of one series (computed as it is read).

    Remembered for the last few series: the cache hands out one `KlineArrays` per state of a
    series (a new one after every insert), so the same object means the same candles, and the
    long timeframe's indicators, which change once per long candle, are not recomputed by the
    prompt, the tools and the next cycles in between.
    """
    hit = _memo.get(id(klines))
    if hit is not None and hit[0] is klines:
        _memo.move_to_end(id(klines))
        return hit[1]
    series = IndicatorSeries(klines)
    _memo[id(klines)] = (klines, series)  # holding `klines` keeps its id from being reused
    if len(_memo) > _MEMO_SIZE:
        _memo.popitem(last=False)
    return series


def _finite_or_none(value: float) -> float | None:
    return value if math.isfinite(value) else None


def latest(values: FloatArray) -> float | None:
    """The newest value; None while it is warming up (NaN, or inf from bad input) or absent."""
    if len(values) == 0:
        return None
    return _finite_or_none(float(values[-1]))


def tail(values: FloatArray, n: int) -> list[float | None]:
    """The newest `n` values (fewer if the series is shorter), oldest first, None for warm-up."""
    if n < 0:
        raise ValueError(f"n must be >= 0, got {n}")
    return [_finite_or_none(value) for value in values[max(len(values) - n, 0) :].tolist()]
