"""Historical replay: the candles of the files, in time order, and nothing before its time."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from alphatransformer.config.schema import MarketConfig
from alphatransformer.market.history_files import history_path, read_klines, write_klines
from alphatransformer.market.market_data import MarketData
from alphatransformer.market.replay import ReplayMarket, aggregate, fill_gaps
from alphatransformer.market.types import Interval, Kline
from alphatransformer.utils.clock import ManualClock

M3, H4 = Interval.M3, Interval.H4
MINUTE = 60_000
HOUR = 60 * MINUTE
DAY = 24 * HOUR
START = 1_704_067_200_000  # 2024-01-01 00:00 UTC: the data begins here
REPLAY_START = START + 11 * DAY  # 66 four-hour candles of data before it, 60 of them warm-up
SYMBOLS = ("BTCUSDT", "ETHUSDT")
SAMPLE = Path(__file__).parent / "samples" / "BTCUSDT-3m-2024-01-01.csv"
CONFIG = MarketConfig(short_interval=M3, long_interval=H4, history_candles=60, cache_size=500)


def candles(symbol: str, start_ms: int, count: int, interval: Interval = M3) -> list[Kline]:
    """Consecutive candles whose prices cycle through ten levels, so every one is distinct in
    time but a reader can still work out any of them: candle i opens at base + i % 10."""
    base = 100.0 if symbol == "BTCUSDT" else 10.0
    klines = []
    for i in range(count):
        open_, close = base + i % 10, base + (i + 3) % 10
        open_time = start_ms + i * interval.ms
        klines.append(
            Kline(
                symbol=symbol,
                interval=interval,
                open_time=open_time,
                open=open_,
                high=max(open_, close) + 0.5,
                low=min(open_, close) - 0.5,
                close=close,
                volume=1.0 + i % 7,
                close_time=open_time + interval.ms - 1,
                trades=i % 5,
            )
        )
    return klines


DATA = {(symbol, M3): candles(symbol, START, 12 * DAY // M3.ms) for symbol in SYMBOLS}


def replay(
    now_ms: int = REPLAY_START,
    data: dict[tuple[str, Interval], list[Kline]] | None = None,
    symbols: tuple[str, ...] = SYMBOLS,
) -> tuple[ReplayMarket, ManualClock]:
    clock = ManualClock(now_ms)
    market = ReplayMarket(symbols, CONFIG, clock, DATA if data is None else data)
    market.load_history()
    return market, clock


def move(market: ReplayMarket, clock: ManualClock, now_ms: int) -> None:
    clock.now = now_ms
    market.tick(now_ms)


def record(market: ReplayMarket) -> list[Kline]:
    received: list[Kline] = []
    market.add_listener(received.append)
    return received


def test_replay_is_real_data_not_live() -> None:
    market: MarketData = replay()[0]

    assert market.is_simulated is False
    assert isinstance(market, ReplayMarket)
    assert market.is_replay is True


def test_candle_becomes_visible_once_its_close_time_is_before_now() -> None:
    market, clock = replay()
    boundary = REPLAY_START + 3 * M3.ms

    move(market, clock, boundary - 1)  # the candle ending at the boundary has close_time == now
    assert market.klines("BTCUSDT", M3)[-1].close_time == boundary - M3.ms - 1

    move(market, clock, boundary)
    assert market.klines("BTCUSDT", M3)[-1].close_time == boundary - 1


def test_nothing_after_now_is_visible() -> None:
    market, clock = replay()
    now = REPLAY_START + 2 * HOUR + 4 * MINUTE  # inside the 3m candle opening at 02:03
    last_closed = DATA[("BTCUSDT", M3)][(now - START) // M3.ms - 1]  # the one opening at 02:00

    move(market, clock, now)

    short, long = market.klines("BTCUSDT", M3), market.klines("BTCUSDT", H4)
    assert short[-1] == last_closed
    assert long[-1].close_time == REPLAY_START - 1  # the 4h candle of 00:00-04:00 is forming
    assert market.arrays("BTCUSDT", M3).open_time[-1] == last_closed.open_time
    assert np.max(market.arrays("BTCUSDT", H4).open_time) < now
    assert market.latest_price("BTCUSDT") == last_closed.close
    assert market.forming("BTCUSDT", M3) is None  # its inside is unknown until it closes
    forming = market.forming("BTCUSDT", H4)
    assert forming is not None
    # Built from the 41 visible 3m candles of 00:00-02:03 only.
    visible = DATA[("BTCUSDT", M3)][(REPLAY_START - START) // M3.ms :][:41]
    assert forming.open_time == REPLAY_START
    assert forming.close == last_closed.close
    assert forming.high == max(kline.high for kline in visible)
    assert forming.volume == sum(kline.volume for kline in visible)
    assert not forming.closed


def test_forming_long_candle_disappears_when_it_closes() -> None:
    market, clock = replay()

    move(market, clock, REPLAY_START + 4 * HOUR)

    assert market.forming("BTCUSDT", H4) is None
    assert market.klines("BTCUSDT", H4)[-1].open_time == REPLAY_START


def test_warm_up_makes_the_last_history_candles_of_each_interval_visible() -> None:
    clock = ManualClock(REPLAY_START + MINUTE)
    market = ReplayMarket(SYMBOLS, CONFIG, clock, DATA)
    received = record(market)

    market.load_history()

    for interval in (M3, H4):
        klines = market.klines("ETHUSDT", interval)
        assert len(klines) == 60
        assert klines[-1].close_time == REPLAY_START - 1
    assert received == []  # history is a backfill, not news


def test_listeners_receive_each_closed_candle_once_in_time_order() -> None:
    market, clock = replay()
    received = record(market)
    end = REPLAY_START + 9 * HOUR

    # Irregular steps, a clock standing still and one going back deliver nothing twice.
    for now in (REPLAY_START + 7 * MINUTE, REPLAY_START + 7 * MINUTE, REPLAY_START, end):
        move(market, clock, now)

    expected_short = {
        symbol: [k for k in DATA[(symbol, M3)] if REPLAY_START <= k.close_time < end]
        for symbol in SYMBOLS
    }
    for symbol in SYMBOLS:
        short = [k for k in received if k.symbol == symbol and k.interval is M3]
        long = [k for k in received if k.symbol == symbol and k.interval is H4]
        assert short == expected_short[symbol]
        assert [k.open_time for k in long] == [REPLAY_START, REPLAY_START + 4 * HOUR]
    close_times = [kline.close_time for kline in received]
    assert close_times == sorted(close_times)


def test_at_one_time_symbols_come_in_order_and_short_before_long() -> None:
    market, clock = replay(REPLAY_START + 4 * HOUR - MINUTE)
    received = record(market)

    move(market, clock, REPLAY_START + 4 * HOUR)

    assert [(k.symbol, k.interval) for k in received] == [
        ("BTCUSDT", M3),
        ("BTCUSDT", H4),
        ("ETHUSDT", M3),
        ("ETHUSDT", H4),
    ]


def test_a_listener_sees_every_candle_of_its_moment_but_none_later() -> None:
    """On BTC's candle the paper exchange reads ETH's price of the same moment (funding and
    margin of every position are settled on the first candle heard), never a later one."""
    market, clock = replay()
    seen: list[tuple[int, float]] = []

    def on_btc(kline: Kline) -> None:
        if kline.symbol == "BTCUSDT" and kline.interval is M3:
            seen.append((kline.close_time, market.latest_price("ETHUSDT")))

    market.add_listener(on_btc)
    move(market, clock, REPLAY_START + 9 * MINUTE)  # three candles of each symbol at once

    eth = {k.close_time: k.close for k in DATA[("ETHUSDT", M3)]}
    assert len(seen) == 3
    assert seen == [(close_time, eth[close_time]) for close_time, _ in seen]


def test_same_replay_twice_gives_identical_sequences() -> None:
    runs = []
    for _ in range(2):
        market, clock = replay()
        received = record(market)
        for step in range(1, 200):
            move(market, clock, REPLAY_START + step * 90_000)
        runs.append((received, market.klines("ETHUSDT", H4), market.latest_price("BTCUSDT")))

    assert runs[0] == runs[1]


def four_hours_by_hand() -> list[Kline]:
    """80 3m candles (00:00-04:00) with a spike up in the 18th and down in the 43rd."""
    klines = []
    for i in range(80):
        high = 250.0 if i == 17 else 101.5 + i
        low = 50.0 if i == 42 else 99.5 + i
        klines.append(
            Kline(
                symbol="BTCUSDT",
                interval=M3,
                open_time=START + i * M3.ms,
                open=100.0 + i,
                high=high,
                low=low,
                close=101.0 + i,
                volume=1.0 + i,
                close_time=START + (i + 1) * M3.ms - 1,
                quote_volume=10.0 * (1 + i),
                trades=2,
                taker_buy_volume=0.5 * (1 + i),
                taker_buy_quote_volume=5.0 * (1 + i),
            )
        )
    return klines


def test_aggregating_3m_to_4h_matches_hand_computed_values() -> None:
    klines = four_hours_by_hand()
    next_bucket_start = replace(
        klines[0], open_time=START + 4 * HOUR, close_time=START + 243 * MINUTE - 1
    )

    [four_hours] = aggregate([*klines, next_bucket_start], H4)

    assert four_hours == Kline(
        symbol="BTCUSDT",
        interval=H4,
        open_time=START,
        open=100.0,  # the first candle's open
        high=250.0,  # the spike
        low=50.0,  # the dip
        close=180.0,  # the 80th candle's close, 101 + 79
        volume=3240.0,  # 1 + 2 + ... + 80
        close_time=START + 4 * HOUR - 1,
        quote_volume=32400.0,
        trades=160,
        taker_buy_volume=1620.0,
        taker_buy_quote_volume=16200.0,
    )


def test_aggregation_leaves_out_a_bucket_with_a_candle_missing() -> None:
    klines = four_hours_by_hand()

    assert aggregate(klines[:40] + klines[41:], H4) == []


def test_aggregation_refuses_what_it_cannot_build_exactly() -> None:
    klines = four_hours_by_hand()

    with pytest.raises(ValueError, match="cannot be built"):
        aggregate(klines, Interval.M5)
    with pytest.raises(ValueError, match="oldest first"):
        aggregate([klines[1], klines[0]], H4)


def test_replay_of_a_binance_csv_gives_exactly_the_candles_in_the_file() -> None:
    in_file = read_klines(SAMPLE, "BTCUSDT", M3)
    market, clock = replay(START, {("BTCUSDT", M3): in_file}, symbols=("BTCUSDT",))
    received = record(market)

    for step in range(1, 481):
        move(market, clock, START + step * M3.ms)

    assert [k for k in received if k.interval is M3] == in_file
    assert market.klines("BTCUSDT", M3) == in_file
    assert market.klines("BTCUSDT", H4) == aggregate(in_file, H4)
    assert len(market.klines("BTCUSDT", H4)) == 6


def test_gaps_are_filled_with_flat_zero_volume_candles() -> None:
    klines = candles("BTCUSDT", START, 5)
    with_gap = [klines[0], klines[1], klines[4]]

    filled = fill_gaps(with_gap)

    assert [k.open_time for k in filled] == [k.open_time for k in klines]
    for flat in filled[2:4]:
        assert (flat.open, flat.high, flat.low, flat.close) == (klines[1].close,) * 4
        assert flat.volume == 0.0
        assert flat.close_time == flat.open_time + M3.ms - 1


def test_replay_fills_gaps_so_the_cache_takes_every_candle() -> None:
    data = {("BTCUSDT", M3): DATA[("BTCUSDT", M3)][:100] + DATA[("BTCUSDT", M3)][103:]}
    market, clock = replay(START + 90 * M3.ms, data, symbols=("BTCUSDT",))

    move(market, clock, START + 110 * M3.ms)

    assert [k.volume for k in market.klines("BTCUSDT", M3)[-10:-7]] == [0.0, 0.0, 0.0]
    assert market.cache.rejections().total() == 0


def test_bad_input_candles_are_refused_before_the_replay_starts() -> None:
    klines = DATA[("BTCUSDT", M3)][:10]
    swapped = [*klines[:5], klines[6], klines[5], *klines[7:]]

    with pytest.raises(ValueError, match=r"BTCUSDT 3m candle #6: open time .* comes before"):
        ReplayMarket(("BTCUSDT",), CONFIG, ManualClock(START), {("BTCUSDT", M3): swapped})


def test_missing_short_candles_are_refused() -> None:
    with pytest.raises(ValueError, match="no 3m candles for ETHUSDT"):
        ReplayMarket(SYMBOLS, CONFIG, ManualClock(START), {("BTCUSDT", M3): []})


def test_funding_and_open_interest_are_known_only_from_their_time() -> None:
    clock = ManualClock(REPLAY_START)
    settled = REPLAY_START + 8 * HOUR
    market = ReplayMarket(
        SYMBOLS,
        CONFIG,
        clock,
        DATA,
        funding_rates={"BTCUSDT": [(REPLAY_START, 0.0001), (settled, -0.0002)]},
        open_interest={"BTCUSDT": [(settled, 1234.5)]},
    )
    market.load_history()

    move(market, clock, settled - 1)
    before = market.funding("BTCUSDT")
    assert before is not None
    assert (before.funding_rate, before.next_funding_time) == (0.0001, settled)
    assert market.open_interest("BTCUSDT") is None

    move(market, clock, settled)
    after = market.funding("BTCUSDT")
    assert after is not None
    assert after.funding_rate == -0.0002
    assert after.next_funding_time == settled + 8 * HOUR  # no later entry: as it went
    assert after.interval_hours == 8
    assert after.mark_price == market.latest_price("BTCUSDT")
    open_interest = market.open_interest("BTCUSDT")
    assert open_interest is not None
    assert (open_interest.open_interest, open_interest.time) == (1234.5, settled)
    assert market.funding("ETHUSDT") is None  # no series given
    assert market.open_interest("ETHUSDT") is None


def test_the_funding_schedule_is_read_from_the_gaps_between_settlements() -> None:
    """A symbol Binance moved from 8 h to 4 h funding, then to 1 h: the interval reported is
    the one to the next settlement (the longest of 8, 4 and 1 h dividing the gap), and after the
    last one, the last gap."""
    clock = ManualClock(REPLAY_START)
    # The settlement at 08:00 is missing from the history: a 16 h gap, not a 16 h schedule.
    times = [REPLAY_START + hours * HOUR for hours in (0, 16, 20, 24, 25)]
    market = ReplayMarket(
        SYMBOLS,
        CONFIG,
        clock,
        DATA,
        funding_rates={"BTCUSDT": [(t, 0.0001) for t in times], "ETHUSDT": [(times[0], 0.0)]},
    )
    market.load_history()
    seen = []
    for hours in (1, 17, 21, 24, 26):
        move(market, clock, REPLAY_START + hours * HOUR)
        info = market.funding("BTCUSDT")
        assert info is not None
        seen.append((info.interval_hours, (info.next_funding_time - REPLAY_START) // HOUR))
    assert seen == [(8, 8), (4, 20), (4, 24), (1, 25), (1, 26)]
    lone = market.funding("ETHUSDT")
    assert lone is not None
    assert lone.interval_hours == 8  # a single settlement: Binance's usual schedule


def test_open_interest_older_than_three_samples_is_shown_as_none() -> None:
    """A hole in Binance's metrics (a day that stops early): no value, rather than the last
    one for hours."""
    clock = ManualClock(REPLAY_START)
    minute = 60_000
    market = ReplayMarket(
        SYMBOLS,
        CONFIG,
        clock,
        DATA,
        open_interest={"BTCUSDT": [(REPLAY_START + m * minute, 100.0 + m) for m in (0, 5, 10)]},
    )
    market.load_history()
    shown = []
    for minutes in (12, 25, 26, 60):
        move(market, clock, REPLAY_START + minutes * minute)
        point = market.open_interest("BTCUSDT")
        shown.append(None if point is None else point.open_interest)
    assert shown == [110.0, 110.0, None, None]


def test_data_is_fresh_while_the_newest_due_candle_is_visible() -> None:
    last_close = START + 12 * DAY  # the data ends here
    market, clock = replay(last_close - MINUTE)

    assert market.is_fresh("BTCUSDT", max_age_ms=30_000)  # the 3m candle due by now is there
    move(market, clock, last_close + 3 * MINUTE - 1)
    assert market.is_fresh("BTCUSDT", max_age_ms=30_000)
    move(market, clock, last_close + 3 * MINUTE)  # another candle was due: the data ran out
    assert not market.is_fresh("BTCUSDT", max_age_ms=30_000)


def test_before_any_visible_candle_there_is_no_price() -> None:
    market, _ = replay(START)

    with pytest.raises(RuntimeError, match="no BTCUSDT candle is visible yet"):
        market.latest_price("BTCUSDT")
    assert not market.is_fresh("BTCUSDT", max_age_ms=30_000)
    with pytest.raises(KeyError, match="unknown symbol"):
        market.latest_price("DOGEUSDT")


def test_tick_before_load_history_is_an_error() -> None:
    market = ReplayMarket(SYMBOLS, CONFIG, ManualClock(REPLAY_START), DATA)

    with pytest.raises(RuntimeError, match="load_history"):
        market.tick(REPLAY_START + MINUTE)


def test_replay_from_history_files_reads_the_warm_up_months(tmp_path: Path) -> None:
    # 2023-12-20 to 2024-01-03 in two monthly files; the replay starts 2024-01-02 00:00.
    klines = candles("BTCUSDT", START - 12 * DAY, 14 * DAY // M3.ms)
    january = next(i for i, k in enumerate(klines) if k.open_time == START)
    write_klines(history_path(tmp_path, "BTCUSDT", M3, "2023-12"), klines[:january])
    write_klines(history_path(tmp_path, "BTCUSDT", M3, "2024-01"), klines[january:])
    clock = ManualClock(START + DAY)

    market = ReplayMarket.from_history_files(
        tmp_path, ("BTCUSDT",), CONFIG, clock, end_ms=START + 2 * DAY
    )
    market.load_history()
    move(market, clock, START + 2 * DAY)

    assert len(market.klines("BTCUSDT", H4)) == 66  # 60 warm-up candles and a day of six
    assert market.klines("BTCUSDT", M3)[-1] == klines[january + 2 * DAY // M3.ms - 1]
