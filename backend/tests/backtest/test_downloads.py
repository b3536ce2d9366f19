"""History downloads against the fake Binance: whole months of candles and funding rates, and
days of open interest, into the replay's files, resumable, with the month or day still running
fetched again next time, and the open interest days Binance no longer serves reported."""

from __future__ import annotations

import zipfile
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest
from fakes.binance_server import (
    FakeBinance,
    generate_funding_rates,
    generate_klines,
    generate_open_interest,
)

from alphatransformer.backtest.downloads import (
    Downloads,
    Outcome,
    download_all,
    is_complete,
    is_funding_complete,
    is_open_interest_complete,
    open_interest_served_from,
    settled_fundings,
)
from alphatransformer.market.binance.schemas import (
    FundingRate,
    parse_funding_rates,
    parse_open_interest_history,
)
from alphatransformer.market.history_files import (
    OpenInterestStat,
    SettledFunding,
    days,
    funding_path,
    history_path,
    months,
    open_interest_path,
    read_funding,
    read_funding_range,
    read_open_interest,
    read_open_interest_range,
    read_range,
)
from alphatransformer.market.types import Interval, Kline
from alphatransformer.utils.clock import ManualClock, to_datetime

H1 = Interval.H1
JAN = 1_704_067_200_000  # 2024-01-01 00:00 UTC
FEB = 1_706_745_600_000
MAR = 1_709_251_200_000
MID_FEB = FEB + 14 * 24 * H1.ms
HOUR = H1.ms
DAY = 24 * HOUR
M5 = Interval.M5.ms
KLINES = "/fapi/v1/klines"
FUNDING_RATE = "/fapi/v1/fundingRate"
OPEN_INTEREST_HIST = "/futures/data/openInterestHist"
SERVED = {
    symbol: generate_klines(symbol, H1, JAN, (MAR - JAN) // H1.ms, seed=seed)
    for seed, symbol in enumerate(("BTCUSDT", "ETHUSDT"))
}
# Every 8 h through January and February (93 + 87), each 16:00 one stamped 1 ms late.
FUNDING = {
    symbol: generate_funding_rates(symbol, JAN, 180, seed=seed)
    for seed, symbol in enumerate(SERVED)
}
# Every 5 minutes through January and February; Binance serves the last 30 days of it.
OPEN_INTEREST = {
    symbol: generate_open_interest(symbol, JAN, (MAR - JAN) // M5, seed=seed)
    for seed, symbol in enumerate(SERVED)
}


@pytest.fixture
async def binance() -> AsyncIterator[FakeBinance]:
    async with FakeBinance(clock=ManualClock(MAR)) as fake:
        for klines in SERVED.values():
            fake.set_klines(klines)
        fake.funding_rates.update(FUNDING)
        fake.open_interest_history.update(OPEN_INTEREST)
        yield fake


async def download(
    fake: FakeBinance,
    root: Path,
    now_ms: int = MAR,
    progress: Callable[[int, int], None] | None = None,
) -> Downloads:
    """Download January and February of both symbols as of `now_ms`, Binance's time too (it
    serves the 30 days of open interest before it)."""
    fake.clock = ManualClock(now_ms)
    return await download_all(
        fake.rest_url, root, list(SERVED), H1, (JAN, MAR), now_ms=now_ms, progress=progress
    )


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
    with pytest.raises(ValueError, match="empty range"):
        months(FEB, JAN)


async def test_months_are_saved_whole_as_served_with_progress_to_the_end(
    binance: FakeBinance, tmp_path: Path
) -> None:
    progress: list[tuple[int, int]] = []
    await download(binance, tmp_path, progress=lambda *seen: progress.append(seen))

    for symbol, served in SERVED.items():
        assert saved(tmp_path, symbol) == served
    assert progress[-1] == (2 * 1440, 2 * 1440)  # 744 + 696 hourly candles per symbol
    assert binance.requests[KLINES] == 4  # one page per month and symbol


async def test_a_second_download_skips_the_complete_months(
    binance: FakeBinance, tmp_path: Path
) -> None:
    await download(binance, tmp_path)
    calls = binance.requests[KLINES]

    progress: list[tuple[int, int]] = []
    await download(binance, tmp_path, progress=lambda *seen: progress.append(seen))

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


def served_open_interest(symbol: str, start_ms: int, end_ms: int) -> list[OpenInterestStat]:
    stats = parse_open_interest_history(OPEN_INTEREST[symbol])
    return [stat for stat in stats if start_ms <= stat.time < end_ms]


def outcomes(done: Downloads, symbol: str) -> dict[str, list[str]]:
    """The open interest days of `symbol` by what the download did about them."""
    found: dict[str, list[str]] = {}
    for file in done.open_interest[symbol]:
        found.setdefault(file.outcome, []).append(file.span.label)
    return found


def labels(start_ms: int, end_ms: int) -> list[str]:
    return [day.label for day in days(start_ms, end_ms)]


def to_text(time_ms: int) -> str:
    """A time as a metrics file's create_time."""
    return f"{to_datetime(time_ms):%Y-%m-%d %H:%M:%S}"


def test_binance_serves_open_interest_from_the_first_whole_day_of_its_last_30() -> None:
    # 30 days before 1 March is 31 January: asked for with an hour to spare, or not at all.
    assert open_interest_served_from(MAR - HOUR) == JAN + 30 * DAY
    assert open_interest_served_from(MAR) == FEB
    assert open_interest_served_from(MAR + 23 * HOUR) == FEB
    assert open_interest_served_from(MAR + 23 * HOUR + 1) == FEB + DAY


async def test_open_interest_days_served_are_saved_as_served_and_older_ones_reported(
    binance: FakeBinance, tmp_path: Path
) -> None:
    done = await download(binance, tmp_path)

    for symbol in SERVED:
        saved_stats = read_open_interest_range(tmp_path, symbol, JAN, MAR)
        assert saved_stats == served_open_interest(symbol, FEB, MAR)
        assert outcomes(done, symbol) == {
            Outcome.UNSERVED: labels(JAN, FEB),  # never asked for: Binance would refuse them
            Outcome.FETCHED: labels(FEB, MAR),
        }
    february_2 = read_open_interest(
        open_interest_path(tmp_path, "ETHUSDT", "2024-02-02"), "ETHUSDT"
    )
    assert len(february_2) == 288
    # 29 days of 288 samples in windows of 500 per symbol: ceil(8352 / 500) = 17.
    assert binance.requests[OPEN_INTEREST_HIST] == 2 * 17


async def test_a_second_download_skips_the_complete_open_interest_days(
    binance: FakeBinance, tmp_path: Path
) -> None:
    await download(binance, tmp_path)

    done = await download(binance, tmp_path)

    assert binance.requests[OPEN_INTEREST_HIST] == 2 * 17
    assert outcomes(done, "BTCUSDT") == {
        Outcome.UNSERVED: labels(JAN, FEB),
        Outcome.SKIPPED: labels(FEB, MAR),
    }


async def test_the_open_interest_day_still_running_is_fetched_again_and_old_days_kept(
    binance: FakeBinance, tmp_path: Path
) -> None:
    noon = MID_FEB + 12 * HOUR  # 15 February, 12:00
    await download(binance, tmp_path, now_ms=noon)
    today = open_interest_path(tmp_path, "BTCUSDT", "2024-02-15")
    # Served then: 17 January (the first whole day of the 30) to noon on the 15th.
    served_then = JAN + 16 * DAY
    assert read_open_interest_range(tmp_path, "BTCUSDT", JAN, noon) == served_open_interest(
        "BTCUSDT", served_then, noon
    )
    assert len(read_open_interest(today, "BTCUSDT")) == 144
    assert not is_open_interest_complete(today, "BTCUSDT", days(MID_FEB, noon)[0])

    done = await download(binance, tmp_path)

    # 17 to 31 January are no longer served, but are complete on disk: skipped, not reported.
    assert outcomes(done, "BTCUSDT") == {
        Outcome.UNSERVED: labels(JAN, served_then),
        Outcome.SKIPPED: labels(served_then, MID_FEB),
        Outcome.FETCHED: labels(MID_FEB, MAR),
    }
    assert read_open_interest_range(tmp_path, "BTCUSDT", JAN, MAR) == served_open_interest(
        "BTCUSDT", served_then, MAR
    )


async def test_a_damaged_open_interest_day_is_fetched_again(
    binance: FakeBinance, tmp_path: Path
) -> None:
    await download(binance, tmp_path)
    day = open_interest_path(tmp_path, "ETHUSDT", "2024-02-10")
    day.write_text(day.read_text().replace(",ETHUSDT,", ",", 1))  # a row lost a column

    done = await download(binance, tmp_path)

    assert outcomes(done, "ETHUSDT")[Outcome.FETCHED] == ["2024-02-10"]
    assert read_open_interest(day, "ETHUSDT") == served_open_interest(
        "ETHUSDT", FEB + 9 * DAY, FEB + 10 * DAY
    )
    assert binance.requests[OPEN_INTEREST_HIST] == 2 * 17 + 1  # one window holds the day


async def test_binances_archive_of_an_old_day_is_taken_as_complete(
    binance: FakeBinance, tmp_path: Path
) -> None:
    """Days Binance no longer serves over REST come from its daily metrics archives, dropped
    in under their own name: the download counts them complete and the replay reads them."""
    archived = served_open_interest("BTCUSDT", JAN + 30 * DAY, FEB)  # 31 January
    header = "create_time,symbol,sum_open_interest,sum_open_interest_value,"
    header += "count_toptrader_long_short_ratio,sum_toptrader_long_short_ratio,"
    header += "count_long_short_ratio,sum_taker_long_short_vol_ratio"
    rows = [
        f"{to_text(stat.time)},BTCUSDT,{stat.open_interest:.8f},"
        f"{stat.open_interest_value:.8f},1.5,1.2,1.1,0.9"
        for stat in archived
    ]
    csv_path = open_interest_path(tmp_path, "BTCUSDT", "2024-01-31")
    csv_path.parent.mkdir(parents=True)
    with zipfile.ZipFile(csv_path.with_suffix(".zip"), "w") as bundle:
        bundle.writestr(csv_path.name, "\n".join([header, *rows]) + "\n")

    done = await download(binance, tmp_path)

    assert outcomes(done, "BTCUSDT") == {
        Outcome.UNSERVED: labels(JAN, JAN + 30 * DAY),
        Outcome.SKIPPED: ["2024-01-31"],
        Outcome.FETCHED: labels(FEB, MAR),
    }
    assert read_open_interest_range(tmp_path, "BTCUSDT", JAN, MAR) == served_open_interest(
        "BTCUSDT", JAN + 30 * DAY, MAR
    )
