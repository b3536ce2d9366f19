"""History downloads against the fake Binance: whole months of candles and funding rates into
the replay's files, resumable, with the month still running fetched again next time."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from fakes.binance_server import FakeBinance, generate_funding_rates, generate_klines

from alphatransformer.backtest.downloads import (
    download_all,
    is_complete,
    is_funding_complete,
    months,
    settled_fundings,
)
from alphatransformer.market.binance.schemas import FundingRate, parse_funding_rates
from alphatransformer.market.history_files import (
    SettledFunding,
    funding_path,
    history_path,
    read_funding,
    read_funding_range,
    read_range,
)
from alphatransformer.market.types import Interval, Kline

H1 = Interval.H1
JAN = 1_704_067_200_000  # 2024-01-01 00:00 UTC
FEB = 1_706_745_600_000
MAR = 1_709_251_200_000
MID_FEB = FEB + 14 * 24 * H1.ms
HOUR = H1.ms
KLINES = "/fapi/v1/klines"
FUNDING_RATE = "/fapi/v1/fundingRate"
SERVED = {
    symbol: generate_klines(symbol, H1, JAN, (MAR - JAN) // H1.ms, seed=seed)
    for seed, symbol in enumerate(("BTCUSDT", "ETHUSDT"))
}
# Every 8 h through January and February (93 + 87), each 16:00 one stamped 1 ms late.
FUNDING = {
    symbol: generate_funding_rates(symbol, JAN, 180, seed=seed)
    for seed, symbol in enumerate(SERVED)
}


@pytest.fixture
async def binance() -> AsyncIterator[FakeBinance]:
    async with FakeBinance() as fake:
        for klines in SERVED.values():
            fake.set_klines(klines)
        fake.funding_rates.update(FUNDING)
        yield fake


async def download(fake: FakeBinance, root: Path, now_ms: int = MAR) -> list[tuple[int, int]]:
    """Download January and February of both symbols as of `now_ms`; return the progress."""
    seen: list[tuple[int, int]] = []
    await download_all(
        fake.rest_url,
        root,
        list(SERVED),
        H1,
        (JAN, MAR),
        now_ms=now_ms,
        progress=lambda done, total: seen.append((done, total)),
    )
    return seen


def saved(root: Path, symbol: str, end_ms: int = MAR) -> list[Kline]:
    return read_range(root, symbol, H1, JAN, end_ms)


def saved_funding(root: Path, symbol: str) -> list[tuple[int, float]]:
    fundings = read_funding_range(root, symbol, JAN, MAR)
    assert fundings is not None
    return [(funding.calc_time, funding.rate) for funding in fundings]


def served_funding(symbol: str, count: int = 180) -> list[tuple[int, float]]:
    rates = parse_funding_rates(FUNDING[symbol])[:count]
    return [(rate.funding_time, rate.funding_rate) for rate in rates]


def test_a_range_touches_whole_calendar_months() -> None:
    assert [m.label for m in months(JAN + 5 * H1.ms, FEB + 1)] == ["2024-01", "2024-02"]
    assert [m.label for m in months(JAN, FEB)] == ["2024-01"]
    with pytest.raises(ValueError, match="end after"):
        months(FEB, JAN)


async def test_months_are_saved_whole_as_served_with_progress_to_the_end(
    binance: FakeBinance, tmp_path: Path
) -> None:
    progress = await download(binance, tmp_path)

    for symbol, served in SERVED.items():
        assert saved(tmp_path, symbol) == served
    assert progress[-1] == (2 * 1440, 2 * 1440)  # 744 + 696 hourly candles per symbol
    assert binance.requests[KLINES] == 4  # one page per month and symbol


async def test_a_second_download_skips_the_complete_months(
    binance: FakeBinance, tmp_path: Path
) -> None:
    await download(binance, tmp_path)
    calls = binance.requests[KLINES]

    progress = await download(binance, tmp_path)

    assert binance.requests[KLINES] == calls
    assert progress[-1] == (2 * 1440, 2 * 1440)


async def test_the_month_still_running_is_fetched_again_whole(
    binance: FakeBinance, tmp_path: Path
) -> None:
    await download(binance, tmp_path, now_ms=MID_FEB)
    february = history_path(tmp_path, "BTCUSDT", H1, "2024-02")
    assert saved(tmp_path, "BTCUSDT", MID_FEB) == SERVED["BTCUSDT"][: (MID_FEB - JAN) // H1.ms]
    assert not is_complete(february, "BTCUSDT", H1, months(FEB, MAR)[0])

    await download(binance, tmp_path)

    assert saved(tmp_path, "BTCUSDT") == SERVED["BTCUSDT"]
    assert binance.requests[KLINES] == 4 + 2  # January was complete, February came again


async def test_a_damaged_month_is_fetched_again(binance: FakeBinance, tmp_path: Path) -> None:
    await download(binance, tmp_path)
    january = history_path(tmp_path, "ETHUSDT", H1, "2024-01")
    january.write_text(january.read_text()[:-40])  # a line cut short

    await download(binance, tmp_path)

    assert saved(tmp_path, "ETHUSDT") == SERVED["ETHUSDT"]
    assert binance.requests[KLINES] == 4 + 1


async def test_funding_months_are_saved_beside_the_candles_as_served(
    binance: FakeBinance, tmp_path: Path
) -> None:
    await download(binance, tmp_path)

    for symbol in SERVED:
        assert saved_funding(tmp_path, symbol) == served_funding(symbol)
    january = read_funding(funding_path(tmp_path, "BTCUSDT", "2024-01"))
    assert len(january) == 93
    assert {funding.interval_hours for funding in january} == {8}
    assert binance.requests[FUNDING_RATE] == 2  # one page of both months per symbol


async def test_a_second_download_skips_the_complete_funding_months(
    binance: FakeBinance, tmp_path: Path
) -> None:
    await download(binance, tmp_path)

    await download(binance, tmp_path)

    assert binance.requests[FUNDING_RATE] == 2


async def test_the_funding_month_still_running_is_fetched_again_whole(
    binance: FakeBinance, tmp_path: Path
) -> None:
    await download(binance, tmp_path, now_ms=MID_FEB)
    february = funding_path(tmp_path, "BTCUSDT", "2024-02")
    # 1 to 14 February, three a day: the funding at MID_FEB itself is not settled yet.
    assert saved_funding(tmp_path, "BTCUSDT") == served_funding("BTCUSDT", 93 + 14 * 3)
    assert not is_funding_complete(february, months(FEB, MAR)[0])

    await download(binance, tmp_path)

    assert saved_funding(tmp_path, "BTCUSDT") == served_funding("BTCUSDT")
    assert binance.requests[FUNDING_RATE] == 2 + 2  # January was complete, February came again


async def test_a_damaged_funding_month_is_fetched_again(
    binance: FakeBinance, tmp_path: Path
) -> None:
    await download(binance, tmp_path)
    january = funding_path(tmp_path, "ETHUSDT", "2024-01")
    january.write_text(january.read_text().replace(",8,", ",", 1))  # a row lost a column

    await download(binance, tmp_path)

    assert saved_funding(tmp_path, "ETHUSDT") == served_funding("ETHUSDT")
    assert binance.requests[FUNDING_RATE] == 2 + 1


def test_the_funding_interval_is_the_time_since_the_previous_funding() -> None:
    def rate(time_ms: int) -> FundingRate:
        return FundingRate("BTCUSDT", 0.0001, time_ms, None)

    # 8-hourly, then 4-hourly from 08:00; the first takes its successor's interval.
    times = [JAN, JAN + 8 * HOUR, JAN + 12 * HOUR + 1, JAN + 16 * HOUR]

    assert [f.interval_hours for f in settled_fundings([rate(t) for t in times])] == [8, 8, 4, 4]
    assert settled_fundings([rate(JAN)]) == [SettledFunding(JAN, 8, 0.0001)]
    assert settled_fundings([]) == []


async def test_hourly_funding_over_two_months_comes_in_two_pages_of_1000(
    binance: FakeBinance, tmp_path: Path
) -> None:
    hourly = generate_funding_rates("BTCUSDT", JAN, (MAR - JAN) // HOUR, every_hours=1)
    binance.funding_rates["BTCUSDT"] = hourly  # 744 + 696 = 1,440 rates

    await download(binance, tmp_path)

    january = read_funding(funding_path(tmp_path, "BTCUSDT", "2024-01"))
    february = read_funding(funding_path(tmp_path, "BTCUSDT", "2024-02"))
    assert (len(january), len(february)) == (744, 696)
    assert {f.interval_hours for f in january + february} == {1}
    assert saved_funding(tmp_path, "BTCUSDT") == [
        (rate.funding_time, rate.funding_rate) for rate in parse_funding_rates(hourly)
    ]
    assert binance.requests[FUNDING_RATE] == 2 + 1  # BTCUSDT: 1,000 + 440; ETHUSDT: 180
