"""Market data over REST: the real client against the fake Binance over loopback."""

from __future__ import annotations

from decimal import Decimal

import pytest
from fakes.binance_server import (
    FakeBinance,
    generate_funding_rates,
    generate_klines,
    generate_open_interest,
)
from market.binance.fake_time import START_MS, FakeTime

from alphatransformer.market.binance.errors import BinanceBadRequest, MalformedMessage
from alphatransformer.market.binance.http import BinanceHttp
from alphatransformer.market.binance.rest import (
    FUNDING_INFO,
    FUNDING_RATE,
    KLINES,
    OPEN_INTEREST_HIST,
    BinanceMarketRest,
    klines_weight,
)
from alphatransformer.market.binance.schemas import (
    FundingRate,
    parse_funding_rates,
    parse_open_interest_history,
)
from alphatransformer.market.history_files import OpenInterestStat
from alphatransformer.market.types import FundingInfo, Interval, OpenInterest
from alphatransformer.utils.clock import ManualClock

M3 = Interval.M3
M3_MS = M3.ms
# 2025-01-01 00:00 UTC, aligned to every interval up to a day.
DAY_MS = 1_735_689_600_000


@pytest.fixture
def rest(http: BinanceHttp, fake_time: FakeTime) -> BinanceMarketRest:
    return BinanceMarketRest(http, fake_time.clock)


async def test_exchange_info_gives_each_symbols_filters_as_exact_decimals(
    rest: BinanceMarketRest,
) -> None:
    filters = await rest.exchange_info()

    assert sorted(filters) == ["BTCUSDT", "ETHUSDT", "SOLUSDT"]
    btc, eth, sol = filters["BTCUSDT"], filters["ETHUSDT"], filters["SOLUSDT"]
    assert (btc.tick_size, btc.step_size, btc.min_notional) == (
        Decimal("0.10"),
        Decimal("0.001"),
        Decimal("100"),
    )
    assert (eth.tick_size, eth.market_max_qty, eth.min_notional) == (
        Decimal("0.01"),
        Decimal("2000"),
        Decimal("20"),
    )
    assert (sol.tick_size, sol.step_size, sol.min_qty, sol.min_notional) == (
        Decimal("0.0100"),
        Decimal("1"),
        Decimal("1"),
        Decimal("5"),
    )
    assert btc.round_price(Decimal("100000.04")) == Decimal("100000.00")


async def test_klines_range_over_3500_candles_returns_each_exactly_once_in_order(
    fake: FakeBinance, rest: BinanceMarketRest
) -> None:
    candles = generate_klines("BTCUSDT", M3, DAY_MS, 3500)
    fake.set_klines(candles)

    got = [k async for k in rest.klines_range("BTCUSDT", M3, DAY_MS, DAY_MS + 3499 * M3_MS)]

    assert got == candles  # 1500 + 1500 + 500: no hole, no duplicate, same values
    assert fake.requests[KLINES] == 3


async def test_klines_range_that_is_an_exact_multiple_of_the_page_ends_on_an_empty_page(
    fake: FakeBinance, rest: BinanceMarketRest
) -> None:
    candles = generate_klines("BTCUSDT", M3, DAY_MS, 3000)
    fake.set_klines(candles)

    got = [k async for k in rest.klines_range("BTCUSDT", M3, DAY_MS, DAY_MS + 5000 * M3_MS)]

    assert got == candles
    assert fake.requests[KLINES] == 3


async def test_klines_range_returns_only_the_candles_opening_inside_the_range(
    fake: FakeBinance, rest: BinanceMarketRest
) -> None:
    candles = generate_klines("BTCUSDT", M3, DAY_MS, 100)
    fake.set_klines(candles)
    start, end = DAY_MS + 10 * M3_MS, DAY_MS + 29 * M3_MS

    got = [k async for k in rest.klines_range("BTCUSDT", M3, start, end, page_limit=7)]

    assert got == candles[10:30]
    assert fake.requests[KLINES] == 3  # 7 + 7 + 6


async def test_klines_without_a_start_are_the_newest_up_to_the_end(
    fake: FakeBinance, rest: BinanceMarketRest
) -> None:
    candles = generate_klines("BTCUSDT", M3, DAY_MS, 50)
    fake.set_klines(candles)

    assert await rest.klines("BTCUSDT", M3, limit=5) == candles[-5:]
    end = candles[19].open_time
    assert await rest.klines("BTCUSDT", M3, end_ms=end, limit=5) == candles[15:20]


async def test_the_newest_candle_is_forming_until_its_close_time_passes_on_the_server(
    fake: FakeBinance, http: BinanceHttp
) -> None:
    candles = generate_klines("BTCUSDT", M3, DAY_MS, 10)
    fake.set_klines(candles)
    local = ManualClock(candles[-1].open_time + 1000)  # 1 s into the last candle
    rest = BinanceMarketRest(http, local)

    klines = await rest.klines("BTCUSDT", M3)

    assert [k.closed for k in klines] == [True] * 9 + [False]
    local.advance(M3_MS)
    assert all(k.closed for k in await rest.klines("BTCUSDT", M3))


async def test_a_klines_call_charges_its_weight_by_limit(
    fake: FakeBinance, http: BinanceHttp, rest: BinanceMarketRest
) -> None:
    fake.set_klines(generate_klines("BTCUSDT", M3, DAY_MS, 10))

    await rest.klines("BTCUSDT", M3, limit=1500)

    assert http.budget.used == 10  # the fake itself reports 1


@pytest.mark.parametrize(
    ("limit", "weight"),
    [(1, 1), (99, 1), (100, 2), (499, 2), (500, 5), (1000, 5), (1001, 10), (1500, 10)],
)
def test_klines_weight_follows_binances_tiers(limit: int, weight: int) -> None:
    assert klines_weight(limit) == weight


@pytest.mark.parametrize("limit", [0, 1501])
async def test_a_klines_limit_outside_1_to_1500_is_refused_before_any_request(
    fake: FakeBinance, rest: BinanceMarketRest, limit: int
) -> None:
    with pytest.raises(ValueError, match="limit"):
        await rest.klines("BTCUSDT", M3, limit=limit)

    assert fake.requests[KLINES] == 0


async def test_klines_that_are_not_a_list_are_malformed(
    fake: FakeBinance, rest: BinanceMarketRest
) -> None:
    fake.fail_next(status=200, body='{"rows": []}')

    with pytest.raises(MalformedMessage, match="expected a list"):
        await rest.klines("BTCUSDT", M3)


async def test_an_unknown_symbol_is_a_bad_request(rest: BinanceMarketRest) -> None:
    with pytest.raises(BinanceBadRequest) as raised:
        await rest.klines("NOPEUSDT", M3)

    assert raised.value.code == -1121


async def test_premium_index_gives_mark_price_and_funding(rest: BinanceMarketRest) -> None:
    assert await rest.premium_index("BTCUSDT") == FundingInfo(
        symbol="BTCUSDT",
        mark_price=100041.2345,
        index_price=100079.61934783,
        funding_rate=0.0001,
        next_funding_time=1736928000000,
        time=1736899745000,
    )


async def test_funding_rates_from_a_start_time(rest: BinanceMarketRest) -> None:
    rates = await rest.funding_rates("BTCUSDT", start_ms=1_736_000_000_000, limit=1)

    assert rates == [FundingRate("BTCUSDT", 0.00008173, 1736841600000, 96523.1)]


async def test_funding_rates_range_pages_through_each_funding_exactly_once_in_order(
    fake: FakeBinance, rest: BinanceMarketRest
) -> None:
    served = generate_funding_rates("BTCUSDT", DAY_MS, 30)  # ten days, some stamped 1 ms late
    fake.funding_rates["BTCUSDT"] = served
    start, end = served[2]["fundingTime"], served[26]["fundingTime"]

    got = [r async for r in rest.funding_rates_range("BTCUSDT", start, end, page_limit=10)]

    assert got == parse_funding_rates(served[2:27])  # 10 + 10 + 5, no hole, no duplicate
    assert fake.requests[FUNDING_RATE] == 3


async def test_funding_intervals_are_those_funding_info_lists_by_symbol(
    fake: FakeBinance, rest: BinanceMarketRest
) -> None:
    assert await rest.funding_intervals() == {}  # nothing adjusted: every symbol settles at 8 h
    fake.funding_info = [
        {
            "symbol": "BLZUSDT",
            "adjustedFundingRateCap": "0.02500000",
            "adjustedFundingRateFloor": "-0.02500000",
            "fundingIntervalHours": 4,
            "disclaimer": False,
        }
    ]

    assert await rest.funding_intervals() == {"BLZUSDT": 4}
    assert fake.requests[FUNDING_INFO] == 2


async def test_open_interest(rest: BinanceMarketRest) -> None:
    assert await rest.open_interest("BTCUSDT") == OpenInterest("BTCUSDT", 81205.384, 1736899744873)


async def test_the_time_offset_is_server_time_minus_local_time_and_is_remembered(
    fake: FakeBinance, http: BinanceHttp
) -> None:
    local = ManualClock(START_MS - 1500)  # the local clock is 1.5 s behind the server's
    rest = BinanceMarketRest(http, local)

    assert await rest.server_time() == START_MS
    assert await rest.time_offset_ms() == 1500
    assert rest.server_now_ms() == START_MS


async def test_open_interest_history_parses_binances_rows(
    fake: FakeBinance, rest: BinanceMarketRest
) -> None:
    fake.open_interest_history["BTCUSDT"] = [
        {
            "symbol": "BTCUSDT",
            "sumOpenInterest": "20403.63700000",
            "sumOpenInterestValue": "150570784.07809979",
            "CMCirculatingSupply": "19600000.00000000",
            "timestamp": DAY_MS,
        }
    ]

    stats = await rest.open_interest_history("BTCUSDT", Interval.M5, start_ms=DAY_MS)

    assert stats == [OpenInterestStat("BTCUSDT", DAY_MS, 20403.637, 150570784.07809979)]


async def test_open_interest_history_range_comes_in_windows_each_sample_exactly_once(
    fake: FakeBinance, rest: BinanceMarketRest
) -> None:
    served = generate_open_interest("BTCUSDT", DAY_MS, 1000)  # 3.5 days of 5-minute samples
    del served[420:460]  # a hole in Binance's history: that window's page is short
    fake.open_interest_history["BTCUSDT"] = served
    start, end = DAY_MS + 1, served[-1]["timestamp"]

    got = [
        stat
        async for stat in rest.open_interest_history_range(
            "BTCUSDT", Interval.M5, start, end, page_limit=100
        )
    ]

    assert got == parse_open_interest_history(served[1:])  # no sample lost, none twice
    assert fake.requests[OPEN_INTEREST_HIST] == 10  # 999 periods in windows of 100


async def test_open_interest_history_older_than_30_days_is_refused(
    fake: FakeBinance, rest: BinanceMarketRest
) -> None:
    month_ago = START_MS - 31 * 86_400_000
    fake.open_interest_history["BTCUSDT"] = generate_open_interest("BTCUSDT", month_ago, 10)

    with pytest.raises(BinanceBadRequest, match="startTime"):
        await rest.open_interest_history("BTCUSDT", Interval.M5, start_ms=month_ago)
    assert await rest.open_interest_history("BTCUSDT", Interval.M5) == []
    with pytest.raises(ValueError, match="no 3m period"):
        await rest.open_interest_history("BTCUSDT", Interval.M3)
    with pytest.raises(ValueError, match=r"limit must be in \[1, 500\]"):
        await rest.open_interest_history("BTCUSDT", Interval.M5, limit=501)
