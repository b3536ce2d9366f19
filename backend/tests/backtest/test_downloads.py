"""History downloads against the fake Binance: whole months into the replay's files, resumable,
with the month still running fetched again next time."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from fakes.binance_server import FakeBinance, generate_klines

from alphatransformer.backtest.downloads import download_all, is_complete, months
from alphatransformer.market.history_files import history_path, read_range
from alphatransformer.market.types import Interval, Kline

H1 = Interval.H1
JAN = 1_704_067_200_000  # 2024-01-01 00:00 UTC
FEB = 1_706_745_600_000
MAR = 1_709_251_200_000
MID_FEB = FEB + 14 * 24 * H1.ms
KLINES = "/fapi/v1/klines"
SERVED = {
    symbol: generate_klines(symbol, H1, JAN, (MAR - JAN) // H1.ms, seed=seed)
    for seed, symbol in enumerate(("BTCUSDT", "ETHUSDT"))
}


@pytest.fixture
async def binance() -> AsyncIterator[FakeBinance]:
    async with FakeBinance() as fake:
        for klines in SERVED.values():
            fake.set_klines(klines)
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
