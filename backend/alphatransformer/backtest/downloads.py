"""History for backtests: Binance candles fetched over REST into the monthly files the replay
reads (`history_files.history_path`), one whole calendar month per file.

Downloads resume: a month already complete on disk (it reads cleanly and ends with the month's
last candle) is skipped; a partial one (the month still running at the last download, or a
file cut short) is fetched again whole. Only closed candles are saved, and each file appears
complete or not at all (`write_klines`), so an interrupted download loses at most the month in
progress.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from itertools import groupby
from pathlib import Path

from alphatransformer.market.binance.http import BinanceHttp
from alphatransformer.market.binance.rest import BinanceMarketRest
from alphatransformer.market.history_files import (
    HistoryFileError,
    history_path,
    read_klines,
    write_klines,
)
from alphatransformer.market.types import Interval, Kline
from alphatransformer.utils.clock import to_datetime

Advance = Callable[[int], None]
"""Told how many more candles of the expected total are done (fetched, or found on disk)."""

_PROGRESS_BATCH = 1000


@dataclass(frozen=True, slots=True)
class Month:
    """One calendar month (UTC): its label (`2024-01`, as in file names) and its bounds
    [start_ms, end_ms)."""

    label: str
    start_ms: int
    end_ms: int


@dataclass(frozen=True, slots=True)
class MonthDownload:
    """What happened to one month: `candles` saved (0 when skipped or nothing was there)."""

    month: Month
    path: Path
    candles: int
    skipped: bool


def months(start_ms: int, end_ms: int) -> list[Month]:
    """The calendar months that [start_ms, end_ms) touches, whole, oldest first."""
    if end_ms <= start_ms:
        raise ValueError("the download must end after it starts")
    first = to_datetime(start_ms)
    year, month = first.year, first.month
    found: list[Month] = []
    while True:
        begin = datetime(year, month, 1, tzinfo=UTC)
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
        end = datetime(year, month, 1, tzinfo=UTC)
        found.append(Month(f"{begin:%Y-%m}", _ms(begin), _ms(end)))
        if _ms(end) >= end_ms:
            return found


def expected_candles(month: Month, interval: Interval, now_ms: int) -> int:
    """Candles of `month` closed by `now_ms`: all of them for a month in the past."""
    return max(0, (min(month.end_ms, now_ms) - month.start_ms) // interval.ms)


async def download_history(
    rest: BinanceMarketRest,
    root: Path,
    symbol: str,
    interval: Interval,
    period: tuple[int, int],
    *,
    now_ms: int,
    advance: Advance | None = None,
) -> list[MonthDownload]:
    """Fetch every month of `symbol` touched by `period` (start, end in ms) into `root`."""
    report = advance or (lambda _count: None)
    done: list[MonthDownload] = []
    for month in months(*period):
        path = history_path(root, symbol, interval, month.label)
        if is_complete(path, symbol, interval, month):
            report(expected_candles(month, interval, now_ms))
            done.append(MonthDownload(month, path, 0, skipped=True))
            continue
        klines = await _fetch(rest, symbol, interval, month, now_ms, report)
        write_history(root, klines)
        done.append(MonthDownload(month, path, len(klines), skipped=False))
    return done


async def download_all(
    base_url: str,
    root: Path,
    symbols: Sequence[str],
    interval: Interval,
    period: tuple[int, int],
    *,
    now_ms: int,
    progress: Callable[[int, int], None] | None = None,
) -> dict[str, list[MonthDownload]]:
    """`download_history` for each symbol from the Binance REST API at `base_url`; `progress`
    is told (candles done, candles expected) over all of them."""
    total = len(symbols) * sum(expected_candles(m, interval, now_ms) for m in months(*period))
    done = 0

    def advance(count: int) -> None:
        nonlocal done
        done += count
        if progress is not None:
            progress(done, total)

    async with BinanceHttp(base_url) as http:
        rest = BinanceMarketRest(http)
        return {
            symbol: await download_history(
                rest, root, symbol, interval, period, now_ms=now_ms, advance=advance
            )
            for symbol in symbols
        }


def write_history(root: Path, klines: Sequence[Kline]) -> list[Path]:
    """Save closed candles of one series into their monthly files under `root`, replacing
    what those files held; return the files written."""
    written: list[Path] = []
    for label, month in groupby(klines, key=lambda kline: f"{to_datetime(kline.open_time):%Y-%m}"):
        candles = list(month)
        path = history_path(root, candles[0].symbol, candles[0].interval, label)
        write_klines(path, candles)
        written.append(path)
    return written


def is_complete(path: Path, symbol: str, interval: Interval, month: Month) -> bool:
    """Whether the month's file reads cleanly and ends with the month's last candle.

    Holes inside the month are accepted (Binance's history has a few outages): fetching the
    month again would not fill them.
    """
    if not path.exists():
        return False
    try:
        klines = read_klines(path, symbol, interval, allow_gaps=True)
    except HistoryFileError:
        return False
    return bool(klines) and klines[-1].open_time == month.end_ms - interval.ms


async def _fetch(
    rest: BinanceMarketRest,
    symbol: str,
    interval: Interval,
    month: Month,
    now_ms: int,
    advance: Advance,
) -> list[Kline]:
    """The month's closed candles up to now, progress reported in batches and trued up to the
    expected count at the end (a month with holes has fewer candles than expected)."""
    end_ms = min(month.end_ms, now_ms)
    klines: list[Kline] = []
    if end_ms > month.start_ms:
        # `klines_range` takes an inclusive end: the last open time wanted.
        async for kline in rest.klines_range(symbol, interval, month.start_ms, end_ms - 1):
            if kline.closed:
                klines.append(kline)
                if len(klines) % _PROGRESS_BATCH == 0:
                    advance(_PROGRESS_BATCH)
    reported = len(klines) - len(klines) % _PROGRESS_BATCH
    advance(max(0, expected_candles(month, interval, now_ms) - reported))
    return klines


def _ms(moment: datetime) -> int:
    return int(moment.timestamp()) * 1000
