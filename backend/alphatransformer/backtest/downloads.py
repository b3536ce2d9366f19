"""History for backtests: Binance candles and funding rates fetched over REST into the monthly
files the replay reads (`history_files.history_path`, `funding_path`), one whole calendar month
per file.

Downloads resume: a month already complete on disk (it reads cleanly and ends with the month's
last candle) is skipped; a partial one (the month still running at the last download, or a
file cut short) is fetched again whole. Only closed candles are saved, and each file appears
complete or not at all (`write_klines`), so an interrupted download loses at most the month in
progress. Funding months resume the same way: one is complete when its last funding closes
the month (the next one, an interval later, falls in the month after).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from itertools import groupby, pairwise
from pathlib import Path

from alphatransformer.market.binance.http import BinanceHttp
from alphatransformer.market.binance.rest import BinanceMarketRest
from alphatransformer.market.binance.schemas import FundingRate
from alphatransformer.market.history_files import (
    HistoryFileError,
    SettledFunding,
    funding_path,
    history_path,
    read_funding,
    read_klines,
    write_funding,
    write_klines,
)
from alphatransformer.market.types import Interval, Kline
from alphatransformer.utils.clock import to_datetime

Advance = Callable[[int], None]
"""Told how many more candles of the expected total are done (fetched, or found on disk)."""

_PROGRESS_BATCH = 1000
_HOUR_MS = 3_600_000
# Binance's funding interval unless a symbol's was changed; used for a month with one funding.
_DEFAULT_FUNDING_HOURS = 8


@dataclass(frozen=True, slots=True)
class Month:
    """One calendar month (UTC): its label (`2024-01`, as in file names) and its bounds
    [start_ms, end_ms)."""

    label: str
    start_ms: int
    end_ms: int


@dataclass(frozen=True, slots=True)
class MonthDownload:
    """What happened to one month's file: `saved` candles or funding rates (0 when skipped or
    nothing was there)."""

    month: Month
    path: Path
    saved: int
    skipped: bool


@dataclass(frozen=True, slots=True)
class Downloads:
    """What `download_all` did, per symbol: each month of candles, each month of funding."""

    candles: dict[str, list[MonthDownload]]
    funding: dict[str, list[MonthDownload]]


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


async def download_funding(
    rest: BinanceMarketRest, root: Path, symbol: str, period: tuple[int, int], *, now_ms: int
) -> list[MonthDownload]:
    """Fetch the funding rates of every month of `symbol` touched by `period` into `root`.

    Funding is sparse (93 rates in a month of 8-hourly funding), so the months not complete yet
    come in one paged sweep, 1,000 rates a page, rather than a request each: Binance paces this
    endpoint by its own small pool (500 requests per 5 minutes). A month that has begun is saved
    even with no funding in it (before the symbol's first), so the replay knows there was none.
    """
    begun = [month for month in months(*period) if month.start_ms < now_ms]
    paths = {month: funding_path(root, symbol, month.label) for month in begun}
    missing = [month for month in begun if not is_funding_complete(paths[month], month)]
    fetched: list[FundingRate] = []
    if missing:
        # `funding_rates_range` takes an inclusive end.
        end_ms = min(missing[-1].end_ms, now_ms) - 1
        fetched = [r async for r in rest.funding_rates_range(symbol, missing[0].start_ms, end_ms)]
    fundings = settled_fundings(fetched)
    done: list[MonthDownload] = []
    for month in begun:
        if month not in missing:
            done.append(MonthDownload(month, paths[month], 0, skipped=True))
            continue
        inside = [f for f in fundings if month.start_ms <= f.calc_time < month.end_ms]
        write_funding(paths[month], inside)
        done.append(MonthDownload(month, paths[month], len(inside), skipped=False))
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
) -> Downloads:
    """`download_history` and `download_funding` for each symbol from the Binance REST API at
    `base_url`; `progress` is told (candles done, candles expected) over all of them."""
    total = len(symbols) * sum(expected_candles(m, interval, now_ms) for m in months(*period))
    done = 0

    def advance(count: int) -> None:
        nonlocal done
        done += count
        if progress is not None:
            progress(done, total)

    downloads = Downloads({}, {})
    async with BinanceHttp(base_url) as http:
        rest = BinanceMarketRest(http)
        for symbol in symbols:
            downloads.candles[symbol] = await download_history(
                rest, root, symbol, interval, period, now_ms=now_ms, advance=advance
            )
            downloads.funding[symbol] = await download_funding(
                rest, root, symbol, period, now_ms=now_ms
            )
    return downloads


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


def is_funding_complete(path: Path, month: Month) -> bool:
    """Whether the month's funding file reads cleanly and its last funding closes the month:
    the next one, an interval later, is due in the next month."""
    if not path.exists():
        return False
    try:
        fundings = read_funding(path)
    except HistoryFileError:
        return False
    if not fundings:
        return False
    last = fundings[-1]
    return last.calc_time + last.interval_hours * _HOUR_MS >= month.end_ms


def settled_fundings(rates: Sequence[FundingRate]) -> list[SettledFunding]:
    """`/fapi/v1/fundingRate` rows as fundingRate file rows, times and rates as Binance sent them.

    The API does not give the funding interval: it is taken as the hours since the previous
    funding, rounded (Binance stamps some a millisecond late), the first row of a download
    taking the next row's (or the usual 8 h when it is alone). The mark price is left out, as in
    Binance's files.
    """
    if not rates:
        return []
    gaps = [round((b.funding_time - a.funding_time) / _HOUR_MS) for a, b in pairwise(rates)]
    hours = [gaps[0] if gaps else _DEFAULT_FUNDING_HOURS, *gaps]
    return [
        SettledFunding(rate.funding_time, max(1, interval), rate.funding_rate)
        for rate, interval in zip(rates, hours, strict=True)
    ]


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
