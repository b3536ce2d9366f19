"""History for backtests: Binance candles, funding rates and open interest fetched over REST
into the files the replay reads (`history_files.history_path`, `funding_path`,
`open_interest_path`): candles and funding rates one calendar month per file, open interest one
day per file, as Binance's archives hold them.

Downloads resume: a month already complete on disk (it reads cleanly and ends with the month's
last candle) is skipped; a partial one (the month still running at the last download, or a
file cut short) is fetched again whole. Only closed candles are saved, and each file appears
complete or not at all (`write_klines`), so an interrupted download loses at most the month in
progress. Funding months and open interest days resume the same way: a month is complete when
its last funding closes it (the next one, an interval later, falls in the month after), a day
when it holds the day's last 5-minute sample.

Binance serves open interest for the last 30 days only. Older days are not asked for; those
without a complete file on disk are reported (`Outcome.UNSERVED`) for Binance's daily metrics
archives to fill.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from itertools import groupby, pairwise
from pathlib import Path
from typing import TypeVar

from alphatransformer.market.binance.http import BinanceHttp
from alphatransformer.market.binance.rest import OPEN_INTEREST_HIST_DAYS, BinanceMarketRest
from alphatransformer.market.binance.schemas import FundingRate
from alphatransformer.market.history_files import (
    METRICS_PERIOD,
    HistoryFileError,
    OpenInterestStat,
    SettledFunding,
    Span,
    days,
    find_history_file,
    funding_path,
    history_path,
    months,
    open_interest_path,
    read_funding,
    read_klines,
    read_open_interest,
    write_funding,
    write_klines,
    write_open_interest,
)
from alphatransformer.market.types import Interval, Kline
from alphatransformer.utils.clock import to_datetime

Advance = Callable[[int], None]
"""Told how many more candles of the expected total are done (fetched, or found on disk)."""

_PROGRESS_BATCH = 1000
_HOUR_MS = 3_600_000
_DAY_MS = 24 * _HOUR_MS
# Binance's funding interval unless a symbol's was changed; used for a month with one funding.
_DEFAULT_FUNDING_HOURS = 8
# Binance's 30 days of open interest move on while a download runs, and a start before them is
# refused: the first day asked for starts at least this long after their start.
_SERVED_MARGIN_MS = _HOUR_MS
_Row = TypeVar("_Row")


class Outcome(StrEnum):
    """What a download did about one file."""

    FETCHED = "fetched"
    SKIPPED = "already complete"
    UNSERVED = "not served over REST"


@dataclass(frozen=True, slots=True)
class FileDownload:
    """What happened to one month's or day's file: `saved` candles, funding rates or open
    interest samples (0 unless fetched, or when nothing was there)."""

    span: Span
    path: Path
    saved: int
    outcome: Outcome


@dataclass(frozen=True, slots=True)
class Downloads:
    """What `download_all` did, per symbol: each month of candles and of funding, each day of
    open interest."""

    candles: dict[str, list[FileDownload]]
    funding: dict[str, list[FileDownload]]
    open_interest: dict[str, list[FileDownload]]


def expected_candles(month: Span, interval: Interval, now_ms: int) -> int:
    """Candles of `month` closed by `now_ms`: all of them for a month in the past."""
    return max(0, (min(month.end_ms, now_ms) - month.start_ms) // interval.ms)


def open_interest_served_from(now_ms: int) -> int:
    """The start of the oldest day whose open interest Binance serves at `now_ms`: the first
    whole day of its last 30, with `_SERVED_MARGIN_MS` to spare."""
    oldest = now_ms - OPEN_INTEREST_HIST_DAYS * _DAY_MS + _SERVED_MARGIN_MS
    return -(-oldest // _DAY_MS) * _DAY_MS


async def download_history(
    rest: BinanceMarketRest,
    root: Path,
    symbol: str,
    interval: Interval,
    period: tuple[int, int],
    *,
    now_ms: int,
    advance: Advance | None = None,
) -> list[FileDownload]:
    """Fetch every month of `symbol` touched by `period` (start, end in ms) into `root`."""
    report = advance or (lambda _count: None)
    done: list[FileDownload] = []
    for month in months(*period):
        path = history_path(root, symbol, interval, month.label)
        if is_complete(path, symbol, interval, month):
            report(expected_candles(month, interval, now_ms))
            done.append(FileDownload(month, path, 0, Outcome.SKIPPED))
            continue
        klines = await _fetch(rest, symbol, interval, month, now_ms, report)
        write_history(root, klines)
        done.append(FileDownload(month, path, len(klines), Outcome.FETCHED))
    return done


async def download_funding(
    rest: BinanceMarketRest, root: Path, symbol: str, period: tuple[int, int], *, now_ms: int
) -> list[FileDownload]:
    """Fetch the funding rates of every month of `symbol` touched by `period` into `root`.

    Funding is sparse (93 rates in a month of 8-hourly funding), so the months not complete yet
    come in one paged sweep, 1,000 rates a page (see `_download_sweep`): Binance paces this
    endpoint by its own small pool (500 requests per 5 minutes).
    """

    async def fetch(start_ms: int, end_ms: int) -> list[SettledFunding]:
        # `funding_rates_range` takes an inclusive end.
        rates = [r async for r in rest.funding_rates_range(symbol, start_ms, end_ms - 1)]
        return settled_fundings(rates)

    return await _download_sweep(
        months(*period),
        lambda month: funding_path(root, symbol, month.label),
        is_funding_complete,
        fetch,
        lambda funding: funding.calc_time,
        write_funding,
        now_ms=now_ms,
    )


async def download_open_interest(
    rest: BinanceMarketRest, root: Path, symbol: str, period: tuple[int, int], *, now_ms: int
) -> list[FileDownload]:
    """Fetch the open interest of every day of `symbol` touched by `period` into `root`, a
    sample every 5 minutes as in Binance's metrics files, the days not complete yet in one sweep
    of 500-sample pages (see `_download_sweep`). Days older than Binance serves
    (`open_interest_served_from`) are not asked for."""

    async def fetch(start_ms: int, end_ms: int) -> list[OpenInterestStat]:
        # `open_interest_history_range` takes an inclusive end.
        stats = rest.open_interest_history_range(symbol, METRICS_PERIOD, start_ms, end_ms - 1)
        return [stat async for stat in stats]

    return await _download_sweep(
        days(*period),
        lambda day: open_interest_path(root, symbol, day.label),
        lambda path, day: is_open_interest_complete(path, symbol, day),
        fetch,
        lambda stat: stat.time,
        write_open_interest,
        now_ms=now_ms,
        served_from_ms=open_interest_served_from(now_ms),
    )


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
    """`download_history`, `download_funding` and `download_open_interest` for each symbol from
    the Binance REST API at `base_url`; `progress` is told (candles done, candles expected) over
    all of them."""
    total = len(symbols) * sum(expected_candles(m, interval, now_ms) for m in months(*period))
    done = 0

    def advance(count: int) -> None:
        nonlocal done
        done += count
        if progress is not None:
            progress(done, total)

    downloads = Downloads({}, {}, {})
    async with BinanceHttp(base_url) as http:
        rest = BinanceMarketRest(http)
        for symbol in symbols:
            downloads.candles[symbol] = await download_history(
                rest, root, symbol, interval, period, now_ms=now_ms, advance=advance
            )
            downloads.funding[symbol] = await download_funding(
                rest, root, symbol, period, now_ms=now_ms
            )
            downloads.open_interest[symbol] = await download_open_interest(
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


def is_complete(path: Path, symbol: str, interval: Interval, month: Span) -> bool:
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


def is_funding_complete(path: Path, month: Span) -> bool:
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


def is_open_interest_complete(path: Path, symbol: str, day: Span) -> bool:
    """Whether the day's open interest file reads cleanly and holds the day's last 5-minute
    sample (or a later one, for an archive that ends at the next midnight). Holes inside are
    accepted, as for candles: fetching the day again would not fill them."""
    if not path.exists():
        return False
    try:
        stats = read_open_interest(path, symbol)
    except HistoryFileError:
        return False
    return bool(stats) and stats[-1].time >= day.end_ms - METRICS_PERIOD.ms


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
    month: Span,
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


async def _download_sweep(
    spans: Sequence[Span],
    path_of: Callable[[Span], Path],
    is_complete: Callable[[Path, Span], bool],
    fetch: Callable[[int, int], Awaitable[list[_Row]]],
    time_of: Callable[[_Row], int],
    write: Callable[[Path, list[_Row]], None],
    *,
    now_ms: int,
    served_from_ms: int | None = None,
) -> list[FileDownload]:
    """One file per span of a sparse series (funding rates, open interest), resumably.

    A span complete on disk (the project's file or Binance's archive of the same name) is
    skipped. The others come in one sweep, `fetch(start, end)` from the first of them to the
    last (or now), rather than a request each: the series are thin, and their endpoints are paced
    by small pools of their own. A span that has begun is saved even with nothing in it (before
    the symbol's first row), so the replay knows there was none. Spans starting before
    `served_from_ms` are not asked for: the API no longer has them.
    """
    begun = [span for span in spans if span.start_ms < now_ms]
    paths = {span: path_of(span) for span in begun}

    def known(span: Span) -> Outcome | None:
        """The span's outcome when there is nothing to fetch, else None."""
        found = find_history_file(paths[span])
        if found is not None and is_complete(found, span):
            return Outcome.SKIPPED
        if served_from_ms is not None and span.start_ms < served_from_ms:
            return Outcome.UNSERVED
        return None

    outcomes = {span: known(span) for span in begun}
    missing = [span for span in begun if outcomes[span] is None]
    rows = await fetch(missing[0].start_ms, min(missing[-1].end_ms, now_ms)) if missing else []
    done: list[FileDownload] = []
    for span in begun:
        outcome = outcomes[span]
        if outcome is not None:
            done.append(FileDownload(span, paths[span], 0, outcome))
            continue
        inside = [row for row in rows if span.start_ms <= time_of(row) < span.end_ms]
        write(paths[span], inside)
        done.append(FileDownload(span, paths[span], len(inside), Outcome.FETCHED))
    return done
