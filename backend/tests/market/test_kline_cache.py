"""The K-line cache keeps each series contiguous, valid and bounded, and says why it refuses."""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
import pytest

from alphatransformer.market.kline_cache import (
    InsertResult,
    KlineCache,
    KlineSeries,
    UnknownSeriesError,
)
from alphatransformer.market.types import Interval, Kline
from alphatransformer.utils.clock import ManualClock

MINUTE = 60_000


def candle(minute: int, *, closed: bool = True, **fields: object) -> Kline:
    """A valid BTCUSDT 1m candle opening `minute` minutes after the epoch."""
    kline = Kline(
        symbol="BTCUSDT",
        interval=Interval.M1,
        open_time=minute * MINUTE,
        open=100.0,
        high=102.0,
        low=99.0,
        close=101.0,
        volume=5.0,
        close_time=minute * MINUTE + MINUTE - 1,
        closed=closed,
    )
    return replace(kline, **fields)  # type: ignore[arg-type]


def series_with(*minutes: int, capacity: int = 10, clock: ManualClock | None = None) -> KlineSeries:
    series = KlineSeries("BTCUSDT", Interval.M1, capacity, clock or ManualClock())
    for minute in minutes:
        assert series.insert(candle(minute)) is InsertResult.ACCEPTED
    return series


def open_minutes(klines: list[Kline]) -> list[int]:
    return [kline.open_time // MINUTE for kline in klines]


def test_contiguous_closed_candles_are_accepted_and_returned_oldest_first() -> None:
    series = series_with(1, 2, 3)

    assert open_minutes(series.klines()) == [1, 2, 3]
    assert series.rejections == {}


def test_identical_repeat_of_the_last_closed_candle_is_a_harmless_duplicate() -> None:
    series = series_with(1, 2)

    result = series.insert(candle(2))

    assert result is InsertResult.DUPLICATE
    assert series.rejections == {InsertResult.DUPLICATE: 1}
    assert open_minutes(series.klines()) == [1, 2]


def test_other_values_for_an_already_closed_candle_are_a_conflict_and_the_first_stands() -> None:
    series = series_with(1, 2)

    result = series.insert(candle(2, close=100.0))

    assert result is InsertResult.CONFLICT
    assert series.rejections == {InsertResult.CONFLICT: 1}
    assert series.klines()[-1].close == 101.0


def test_candle_older_than_the_last_closed_is_out_of_order() -> None:
    series = series_with(1, 2, 3)

    assert series.insert(candle(2, close=100.0)) is InsertResult.OUT_OF_ORDER
    assert series.rejections == {InsertResult.OUT_OF_ORDER: 1}


def test_gap_is_rejected_and_counted_until_the_missing_candle_is_backfilled() -> None:
    series = series_with(1, 2)

    assert series.insert(candle(4)) is InsertResult.GAP
    assert series.rejections == {InsertResult.GAP: 1}
    assert open_minutes(series.klines()) == [1, 2]

    assert series.insert(candle(3)) is InsertResult.ACCEPTED
    assert series.insert(candle(4)) is InsertResult.ACCEPTED
    assert open_minutes(series.klines()) == [1, 2, 3, 4]


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ({"symbol": "ETHUSDT"}, InsertResult.WRONG_SERIES),
        ({"interval": Interval.M3}, InsertResult.WRONG_SERIES),
        ({"open_time": 2 * MINUTE + 1}, InsertResult.UNALIGNED),
        ({"low": 0.0}, InsertResult.BAD_PRICE),
        ({"low": -1.0}, InsertResult.BAD_PRICE),
        ({"open": math.nan}, InsertResult.BAD_PRICE),
        ({"high": math.inf}, InsertResult.BAD_PRICE),
        ({"close": -math.inf}, InsertResult.BAD_PRICE),
        ({"volume": -0.5}, InsertResult.BAD_VOLUME),
        ({"volume": math.nan}, InsertResult.BAD_VOLUME),
        ({"volume": math.inf}, InsertResult.BAD_VOLUME),
        ({"high": 98.0, "open": 98.5, "close": 98.5}, InsertResult.HIGH_BELOW_LOW),
        ({"open": 103.0}, InsertResult.OUTSIDE_RANGE),
        ({"close": 98.0}, InsertResult.OUTSIDE_RANGE),
    ],
)
@pytest.mark.parametrize("closed", [True, False], ids=["closed", "forming"])
def test_invalid_candle_is_rejected_counted_and_not_stored(
    fields: dict[str, object], expected: InsertResult, closed: bool
) -> None:
    # given a series whose last closed candle opened at minute 1
    series = series_with(1)

    # when the next candle carries one bad field
    result = series.insert(candle(2, closed=closed, **fields))

    # then it is refused for that reason and nothing changes
    assert result is expected
    assert series.rejections == {expected: 1}
    assert open_minutes(series.klines()) == [1]
    assert series.forming is None


def test_zero_volume_is_valid() -> None:
    series = series_with(1)

    assert series.insert(candle(2, volume=0.0)) is InsertResult.ACCEPTED


def test_forming_candle_is_kept_apart_from_the_closed_ones() -> None:
    series = series_with(1, 2)

    assert series.insert(candle(3, closed=False, close=100.0)) is InsertResult.ACCEPTED
    assert series.insert(candle(3, closed=False, close=101.5)) is InsertResult.ACCEPTED

    assert open_minutes(series.klines()) == [1, 2]
    assert len(series.arrays()) == 2
    forming = series.forming
    assert forming is not None
    assert (forming.open_time, forming.close) == (3 * MINUTE, 101.5)


def test_closing_a_candle_drops_the_forming_one_of_the_same_open_time() -> None:
    series = series_with(1)
    series.insert(candle(2, closed=False))

    series.insert(candle(2))

    assert series.forming is None
    assert open_minutes(series.klines()) == [1, 2]


def test_closing_an_older_candle_keeps_a_newer_forming_one() -> None:
    # given an empty series where minute 5 is forming
    series = KlineSeries("BTCUSDT", Interval.M1, 10, ManualClock())
    series.insert(candle(5, closed=False))

    # when minute 4 closes
    series.insert(candle(4))

    # then minute 5 is still forming
    forming = series.forming
    assert forming is not None
    assert forming.open_time == 5 * MINUTE


def test_forming_update_older_than_the_current_forming_candle_is_out_of_order() -> None:
    series = series_with(1)
    series.insert(candle(2, closed=False))
    series.insert(candle(2))
    series.insert(candle(3, closed=False))

    assert series.insert(candle(2, closed=False)) is InsertResult.OUT_OF_ORDER
    assert series.rejections == {InsertResult.OUT_OF_ORDER: 1}


def test_forming_update_for_an_already_closed_candle_is_out_of_order() -> None:
    series = series_with(1, 2)

    assert series.insert(candle(2, closed=False)) is InsertResult.OUT_OF_ORDER
    assert series.forming is None


def test_forming_candle_beyond_a_missing_closed_one_is_a_gap() -> None:
    # given closed candles up to minute 2, so minute 3 is still missing
    series = series_with(1, 2)

    # when minute 4 starts forming
    result = series.insert(candle(4, closed=False))

    # then it is refused so the feed backfills minute 3 first
    assert result is InsertResult.GAP
    assert series.forming is None


def test_an_empty_series_accepts_its_first_candle_at_any_aligned_time() -> None:
    closed_first = KlineSeries("BTCUSDT", Interval.M1, 10, ManualClock())
    forming_first = KlineSeries("BTCUSDT", Interval.M1, 10, ManualClock())

    assert closed_first.insert(candle(1000)) is InsertResult.ACCEPTED
    assert forming_first.insert(candle(1000, closed=False)) is InsertResult.ACCEPTED


def test_bounded_series_keeps_the_newest_capacity_candles_in_order_after_wraparound() -> None:
    # given capacity 5, so the buffer of 10 rows wraps twice over 23 inserts
    series = series_with(*range(23), capacity=5)

    assert len(series) == 5
    assert open_minutes(series.klines()) == [18, 19, 20, 21, 22]
    assert open_minutes(series.klines(limit=2)) == [21, 22]
    assert open_minutes(series.klines(limit=50)) == [18, 19, 20, 21, 22]
    assert series.klines(limit=0) == []
    arrays = series.arrays()
    assert (arrays.open_time // MINUTE).tolist() == [18, 19, 20, 21, 22]


def test_arrays_match_the_klines_field_by_field() -> None:
    series = KlineSeries("BTCUSDT", Interval.M1, 3, ManualClock())
    for minute in range(7):
        series.insert(candle(minute, close=100.0 + minute, high=110.0, volume=float(minute)))

    arrays = series.arrays()

    assert arrays.open_time.tolist() == [4 * MINUTE, 5 * MINUTE, 6 * MINUTE]
    assert arrays.close.tolist() == [104.0, 105.0, 106.0]
    assert arrays.volume.tolist() == [4.0, 5.0, 6.0]
    assert arrays.high.tolist() == [110.0] * 3
    assert arrays.low.tolist() == [99.0] * 3
    assert arrays.open.tolist() == [100.0] * 3


def test_arrays_are_contiguous_read_only_views_not_copies() -> None:
    series = series_with(1, 2, 3)

    first, second = series.arrays(), series.arrays()

    assert np.shares_memory(first.close, second.close)
    for column in (first.open_time, first.open, first.high, first.low, first.close):
        assert column.base is not None
        assert column.flags.c_contiguous
        assert not column.flags.writeable
    assert first.open_time.dtype == np.int64
    assert first.close.dtype == np.float64
    with pytest.raises(ValueError, match="read-only"):
        first.close[0] = 1.0


def test_arrays_still_share_the_buffer_after_an_insert() -> None:
    series = series_with(1, 2, 3)
    before = series.arrays()

    series.insert(candle(4))
    after = series.arrays()

    assert np.shares_memory(before.close, after.close)
    assert after.open_time.tolist() == [1 * MINUTE, 2 * MINUTE, 3 * MINUTE, 4 * MINUTE]


def test_freshness_follows_the_clock_of_the_last_accepted_insert() -> None:
    # given a series that got a candle at t = 1 000 ms
    clock = ManualClock(now_ms=1_000)
    series = KlineSeries("BTCUSDT", Interval.M1, 10, clock)
    assert series.last_update_ms is None
    assert not series.is_fresh(max_age_ms=500)
    series.insert(candle(1))

    # when 400 ms pass, then 200 more with only a rejected insert
    clock.now = 1_400
    fresh_after_400 = series.is_fresh(max_age_ms=500)
    clock.now = 1_600
    series.insert(candle(9))

    # then it was fresh at 400 ms old, is stale at 600 ms old, and the gap did not refresh it
    assert fresh_after_400
    assert series.last_update_ms == 1_000
    assert not series.is_fresh(max_age_ms=500)


def test_cache_routes_closed_and_forming_candles_to_their_series() -> None:
    cache = KlineCache(["BTCUSDT", "ETHUSDT"], [Interval.M1, Interval.M3], 10, ManualClock())

    cache.insert(candle(1))
    cache.insert(candle(2, closed=False))
    cache.insert(candle(3, symbol="ETHUSDT", interval=Interval.M3, open_time=3 * MINUTE))

    assert open_minutes(cache.klines("BTCUSDT", Interval.M1)) == [1]
    assert open_minutes(cache.klines("ETHUSDT", Interval.M3)) == [3]
    assert cache.klines("BTCUSDT", Interval.M3) == []
    forming = cache.forming("BTCUSDT", Interval.M1)
    assert forming is not None
    assert forming.open_time == 2 * MINUTE
    assert len(cache.arrays("ETHUSDT", Interval.M3)) == 1


def test_cache_refuses_and_counts_a_candle_of_an_unconfigured_series() -> None:
    cache = KlineCache(["BTCUSDT"], [Interval.M1], 10, ManualClock())

    assert cache.insert(candle(1, symbol="DOGEUSDT")) is InsertResult.WRONG_SERIES
    assert cache.rejections() == {InsertResult.WRONG_SERIES: 1}


def test_reading_an_unknown_series_names_what_the_cache_holds() -> None:
    cache = KlineCache(["BTCUSDT"], [Interval.M1], 10, ManualClock())

    with pytest.raises(UnknownSeriesError, match=r"DOGEUSDT 1m.*holds BTCUSDT at 1m"):
        cache.klines("DOGEUSDT", Interval.M1)
    with pytest.raises(KeyError):
        cache.arrays("BTCUSDT", Interval.H4)


def test_cache_rejections_add_up_over_every_series() -> None:
    cache = KlineCache(["BTCUSDT", "ETHUSDT"], [Interval.M1], 10, ManualClock())
    cache.insert(candle(1))
    cache.insert(candle(1, symbol="ETHUSDT"))

    cache.insert(candle(1))
    cache.insert(candle(1, symbol="ETHUSDT"))
    cache.insert(candle(5, symbol="ETHUSDT"))

    assert cache.rejections() == {InsertResult.DUPLICATE: 2, InsertResult.GAP: 1}


def test_cache_last_update_of_a_symbol_is_the_newest_over_its_series() -> None:
    clock = ManualClock(now_ms=1_000)
    cache = KlineCache(["BTCUSDT", "ETHUSDT"], [Interval.M1, Interval.M3], 10, clock)
    cache.insert(candle(1))
    clock.now = 2_000
    cache.insert(candle(1, interval=Interval.M3, open_time=3 * MINUTE))
    clock.now = 2_500

    assert cache.last_update_ms("BTCUSDT") == 2_000
    assert cache.last_update_ms("ETHUSDT") is None
    assert cache.is_fresh("BTCUSDT", max_age_ms=500)
    assert not cache.is_fresh("BTCUSDT", max_age_ms=499)
    assert not cache.is_fresh("ETHUSDT", max_age_ms=10_000)
