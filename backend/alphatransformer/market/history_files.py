"""Candle, funding and open interest history files in Binance's public CSV formats, read
strictly and written atomically.

The format is the one data.binance.vision publishes: twelve columns (`open_time, open, high,
low, close, volume, close_time, quote_volume, count, taker_buy_volume, taker_buy_quote_volume,
ignore`), with a header line in newer files and without one in older files, as `.csv`,
`.csv.gz` or a `.zip` holding one CSV. The project saves downloads in the same format (with the
header), so its own files and Binance's read through one path.

Reading is strict because a backtest on a silently damaged file is worse than no backtest:
every row is checked with the K-line cache's own rules (`KlineSequenceCheck`), so a file that
reads is a file the cache accepts in replay, and any problem raises one `HistoryFileError`
naming the file and the line. Missing candles (gaps) are an error too unless the caller passes
`allow_gaps=True`: exchange outages do leave holes in Binance's own files, but whoever accepts
them should say so (`ReplayMarket` then fills them with flat candles).

Funding rates live next to the candles, one file a month, in Binance's public fundingRate
format (data.binance.vision `futures/um/monthly/fundingRate`): three columns (`calc_time,
funding_interval_hours, last_funding_rate`), the settlement time in ms, the hours of the
interval it closed and the rate, read as strictly (`read_funding`) and written as atomically
(`write_funding`) as the candles. No mark price is stored, as in Binance's files: a replay
pays funding on the last candle close it shows at the funding time (`ReplayMarket.funding`),
which differs from Binance's mark price by the basis, a few basis points of the funding paid.

Open interest lives beside them too, one file a day, in Binance's USDⓈ-M "metrics" format
(data.binance.vision `futures/um/daily/metrics`): eight columns (`create_time, symbol,
sum_open_interest, sum_open_interest_value` and four long/short ratios), a row every 5 minutes,
`create_time` as UTC text (`2024-01-01 00:05:00`). The replay needs the open interest only, so
the reader checks the first four columns strictly (`read_open_interest`) and leaves the ratios
alone, and the project writes them empty (`write_open_interest`). Binance's REST API serves only
the last 30 days of it, so older days come from Binance's own archives, dropped in as they are;
a range therefore starts where its first file starts (`read_open_interest_range`).
"""

from __future__ import annotations

import contextlib
import csv
import gzip
import io
import math
import os
import tempfile
import zipfile
import zlib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from operator import attrgetter
from pathlib import Path
from typing import TextIO, TypeVar

from alphatransformer.market.kline_cache import InsertResult, KlineSeries
from alphatransformer.market.types import Interval, Kline
from alphatransformer.utils.clock import ManualClock, to_datetime

COLUMNS = (
    "open_time",
    "open",
    "high",
    "low",
    "close",
    "volume",
    "close_time",
    "quote_volume",
    "count",
    "taker_buy_volume",
    "taker_buy_quote_volume",
    "ignore",
)
FUNDING_COLUMNS = ("calc_time", "funding_interval_hours", "last_funding_rate")
FUNDING_FOLDER = "fundingRate"
"""The folder beside a symbol's interval folders, and the middle of the file names, as Binance's."""
METRICS_COLUMNS = (
    "create_time",
    "symbol",
    "sum_open_interest",
    "sum_open_interest_value",
    "count_toptrader_long_short_ratio",
    "sum_toptrader_long_short_ratio",
    "count_long_short_ratio",
    "sum_taker_long_short_vol_ratio",
)
METRICS_FOLDER = "metrics"
"""Where open interest lives beside the candles, and the middle of its file names, as Binance's."""
METRICS_PERIOD = Interval.M5
"""How often Binance's metrics files (and the REST history saved into them) sample."""
_LINE_END = "\r\n"
_CONVERTERS: tuple[type[int] | type[float], ...] = (
    int,
    float,
    float,
    float,
    float,
    float,
    int,
    float,
    int,
    float,
    float,
    float,
)
_FUNDING_CONVERTERS: tuple[type[int] | type[float], ...] = (int, int, float)
# The metrics columns the replay reads besides `create_time` and `symbol`; the ratios after them
# it neither reads nor writes.
_OPEN_INTEREST_COLUMNS = METRICS_COLUMNS[2:4]
_RATIO_COLUMNS = METRICS_COLUMNS[4:]
_CREATE_TIME = "%Y-%m-%d %H:%M:%S"
_CREATE_TIME_EXAMPLE = "2024-01-01 00:05:00"
# Millisecond timestamps stay below 1e14 until the year 5138, microsecond ones (Binance spot
# files since 2025) are above it since 1973, so the magnitude tells them apart.
_MICROSECONDS_FROM = 10**14
# Scratch series for checks need no more room than a few rows; a larger buffer only makes the
# cache compact it less often.
_CHECK_CAPACITY = 1024
_SEQUENCE_RESULTS = frozenset(
    {InsertResult.DUPLICATE, InsertResult.CONFLICT, InsertResult.OUT_OF_ORDER, InsertResult.GAP}
)
# Where the readers look for a month's or a day's file, in order: the project's own, then
# Binance's.
_FILE_SUFFIXES = (".csv", ".csv.gz", ".zip")
# What a damaged archive or text raises while it is being read.
_UNREADABLE = (EOFError, OSError, zlib.error, zipfile.BadZipFile, UnicodeDecodeError)
_T = TypeVar("_T")


class HistoryFileError(ValueError):
    """A history file that cannot be trusted, with the file and (when known) the line."""

    def __init__(self, path: Path, line_number: int | None, reason: str) -> None:
        where = path.name if line_number is None else f"{path.name}, line {line_number}"
        super().__init__(f"{where}: {reason}")
        self.path = path
        self.line_number = line_number
        self.reason = reason


class _RowError(ValueError):
    """A row that does not parse; the reader adds the file and line."""


class KlineSequenceCheck:
    """The K-line cache's rules for one series, applied to candles in order, with reasons a
    person can act on.

    Checking through a scratch `KlineSeries` rather than a second set of rules means a file (or
    a candle list) that passes here is one the live cache accepts in replay. On top of the
    cache's rules it requires Binance's close time (open time + interval - 1 ms), which also
    catches a file of another interval.
    """

    def __init__(self, symbol: str, interval: Interval, *, allow_gaps: bool = False) -> None:
        self._symbol = symbol
        self._interval = interval
        self._allow_gaps = allow_gaps
        self._series = self._new_series()

    def problem(self, kline: Kline) -> str | None:
        """Why `kline` cannot follow the candles checked so far, or None when it can."""
        if not kline.closed:
            return f"the candle opening at {_when(kline.open_time)} is still forming"
        previous = self._series.last_closed
        result = self._series.insert(kline)
        if result is InsertResult.GAP and self._allow_gaps:
            # Start over after the hole: the cache refuses a gap, a fresh series does not.
            self._series = self._new_series()
            result = self._series.insert(kline)
        if result is not InsertResult.ACCEPTED:
            return _describe(result, kline, previous, self._symbol, self._interval)
        expected_close = kline.open_time + self._interval.ms - 1
        if kline.close_time != expected_close:
            return (
                f"close time {kline.close_time} does not end a {self._interval} candle opening "
                f"at {_when(kline.open_time)} (expected {expected_close})"
            )
        return None

    def _new_series(self) -> KlineSeries:
        return KlineSeries(self._symbol, self._interval, _CHECK_CAPACITY, ManualClock())


def read_klines(
    path: Path, symbol: str, interval: Interval, *, allow_gaps: bool = False
) -> list[Kline]:
    """Every candle of a Binance kline file (`.csv`, `.csv.gz` or `.zip`), oldest first.

    Raises `HistoryFileError` on the first row that is truncated, has the wrong number of
    columns or a non-numeric field, is out of order, repeats an open time, is off the interval
    grid, fails the cache's price checks, or (unless `allow_gaps`) leaves candles missing.
    """
    check = KlineSequenceCheck(symbol, interval, allow_gaps=allow_gaps)
    return list(_read(path, symbol, interval, check))


def read_range(
    root: Path,
    symbol: str,
    interval: Interval,
    start_ms: int,
    end_ms: int,
    *,
    allow_gaps: bool = False,
) -> list[Kline]:
    """The candles opening in [start_ms, end_ms) from the monthly files under `root`.

    Each month is read from the project's `.csv`, else Binance's `.csv.gz` or `.zip` of the
    same name; the months are checked as one series, so a hole between two files is a gap like
    any other. A missing month is an error: silently skipping it would skip a month of trading.
    """
    check = KlineSequenceCheck(symbol, interval, allow_gaps=allow_gaps)
    klines: list[Kline] = []
    for month in months(start_ms, end_ms):
        path = _required_file(history_path(root, symbol, interval, month.label))
        klines.extend(
            kline
            for kline in _read(path, symbol, interval, check)
            if start_ms <= kline.open_time < end_ms
        )
    return klines


def write_klines(path: Path, klines: Iterable[Kline]) -> None:
    """Save closed candles as a Binance kline CSV with header (`.csv`, or gzipped `.csv.gz`).

    The file appears complete or not at all: rows go to a temporary file in the same folder,
    which is synced and then renamed over `path`, so a killed download never leaves a half
    file that reads like a short month.
    """
    _check_writable(path)
    # csv writes floats with repr, the shortest text that reads back as the same float.
    _write_csv(path, COLUMNS, (_row(kline) for kline in klines))


def history_path(root: Path, symbol: str, interval: Interval, month: str) -> Path:
    """Where a month of candles lives: `root/BTCUSDT/3m/BTCUSDT-3m-2024-01.csv`.

    The file name is Binance's, so a downloaded archive sits next to it under the same stem.
    """
    _check_month(month)
    return root / symbol / interval.value / f"{symbol}-{interval.value}-{month}.csv"


@dataclass(frozen=True, slots=True)
class Span:
    """The stretch of time one history file holds, a calendar month or a day (UTC): its label as
    in the file's name (`2024-01`, `2024-01-31`) and its bounds [start_ms, end_ms)."""

    label: str
    start_ms: int
    end_ms: int


def months(start_ms: int, end_ms: int) -> list[Span]:
    """The calendar months (UTC) that [start_ms, end_ms) touches, whole, oldest first."""
    return _spans(start_ms, end_ms, _month_start, _next_month, "%Y-%m")


def days(start_ms: int, end_ms: int) -> list[Span]:
    """The days (UTC) that [start_ms, end_ms) touches, whole, oldest first."""
    return _spans(start_ms, end_ms, _day_start, _next_day, "%Y-%m-%d")


@dataclass(frozen=True, slots=True)
class SettledFunding:
    """One row of a fundingRate file: the funding settled at `calc_time` (ms), the length of
    the interval it closed, and its rate (longs pay `rate` x notional when it is positive)."""

    calc_time: int
    interval_hours: int
    rate: float


def funding_path(root: Path, symbol: str, month: str) -> Path:
    """Where a month of funding rates lives, beside the candles:
    `root/BTCUSDT/fundingRate/BTCUSDT-fundingRate-2024-01.csv` (Binance's file name)."""
    _check_month(month)
    return root / symbol / FUNDING_FOLDER / f"{symbol}-{FUNDING_FOLDER}-{month}.csv"


def read_funding(path: Path) -> list[SettledFunding]:
    """Every funding of a Binance fundingRate file (`.csv`, `.csv.gz` or `.zip`), oldest first.

    Raises `HistoryFileError` on the first row with the wrong number of columns, a field that is
    not a finite number, an interval under one hour, or a time not after the previous row's.
    """
    return list(_read_funding(path, _TimeOrder(FUNDING_COLUMNS[0])))


def read_funding_range(
    root: Path, symbol: str, start_ms: int, end_ms: int
) -> list[SettledFunding] | None:
    """The fundings settled in [start_ms, end_ms) from the monthly files under `root`, or None
    when no month of the range has a file (funding was never downloaded).

    Once one month is there, a missing one is an error, as for candles: replaying funding for
    part of the period only would be wrong without saying so.
    """
    paths = [funding_path(root, symbol, month.label) for month in months(start_ms, end_ms)]
    if all(find_history_file(path) is None for path in paths):
        return None
    order = _TimeOrder(FUNDING_COLUMNS[0])
    return [
        funding
        for path in paths
        for funding in _read_funding(_required_file(path), order)
        if start_ms <= funding.calc_time < end_ms
    ]


def write_funding(path: Path, fundings: Iterable[SettledFunding]) -> None:
    """Save fundings as a Binance fundingRate CSV with header (`.csv` or `.csv.gz`), atomically
    like `write_klines`; rates in plain decimals (0.00001, never 1e-05) for people to read."""
    _check_writable(path)
    rows = ((f.calc_time, f.interval_hours, _plain(f.rate)) for f in fundings)
    _write_csv(path, FUNDING_COLUMNS, rows)


@dataclass(frozen=True, slots=True)
class OpenInterestStat:
    """Open interest of `symbol` at `time` (ms): `open_interest` contracts, worth
    `open_interest_value` USDT. One row of a metrics file, and of Binance's
    `/futures/data/openInterestHist`, which the metrics files are saved from."""

    symbol: str
    time: int
    open_interest: float
    open_interest_value: float


def open_interest_path(root: Path, symbol: str, day: str) -> Path:
    """Where a day of open interest lives, beside the candles:
    `root/BTCUSDT/metrics/BTCUSDT-metrics-2024-01-31.csv` (Binance's file name)."""
    _check_label(day, "%Y-%m-%d", "2024-01-31", "day")
    return root / symbol / METRICS_FOLDER / f"{symbol}-{METRICS_FOLDER}-{day}.csv"


def read_open_interest(path: Path, symbol: str) -> list[OpenInterestStat]:
    """The open interest of a Binance metrics file (`.csv`, `.csv.gz` or `.zip`) of `symbol`,
    oldest first.

    Raises `HistoryFileError` on the first row with the wrong number of columns, a create_time
    that is not `YYYY-MM-DD HH:MM:SS`, another symbol, an open interest that is not a finite
    number or is negative, or a time not after the previous row's. The ratio columns are not
    replayed and not checked.
    """
    return list(_read_open_interest(path, symbol, _TimeOrder(METRICS_COLUMNS[0])))


def read_open_interest_range(
    root: Path, symbol: str, start_ms: int, end_ms: int
) -> list[OpenInterestStat] | None:
    """The open interest sampled in [start_ms, end_ms) from the daily files under `root`, or
    None when no day of the range has a file (open interest was never downloaded).

    Days before the first file are left out: Binance serves only recent days over REST, so the
    history of most ranges starts where the files start, and the replay shows no open interest
    before it. From the first file on a missing day is an error: the replay would go on showing
    the last value of the day before as current.

    Each file is read for its own day only: Binance's older archives run from 00:05 to the
    next day's 00:00, which the next day's file holds too.
    """
    spans = days(start_ms, end_ms)
    paths = [open_interest_path(root, symbol, day.label) for day in spans]
    first = next((index for index, path in enumerate(paths) if find_history_file(path)), None)
    if first is None:
        return None
    return [
        stat
        for day, path in zip(spans[first:], paths[first:], strict=True)
        for stat in read_open_interest(_required_file(path), symbol)
        if max(start_ms, day.start_ms) <= stat.time < min(end_ms, day.end_ms)
    ]


def write_open_interest(path: Path, stats: Iterable[OpenInterestStat]) -> None:
    """Save open interest as a Binance metrics CSV with header (`.csv` or `.csv.gz`), atomically
    like `write_klines`, the ratio columns left empty (they are not replayed). Times must fall on
    whole seconds, all `create_time` holds."""
    _check_writable(path)
    blank = ("",) * len(_RATIO_COLUMNS)
    rows = (
        (
            _create_time(stat.time),
            stat.symbol,
            _plain(stat.open_interest),
            _plain(stat.open_interest_value),
            *blank,
        )
        for stat in stats
    )
    _write_csv(path, METRICS_COLUMNS, rows)


class _TimeOrder:
    """Row times must increase, across the files of a range as within one."""

    def __init__(self, column: str) -> None:
        self._column = column
        self._last_ms: int | None = None

    def problem(self, time_ms: int) -> str | None:
        last, self._last_ms = self._last_ms, time_ms
        if last is not None and time_ms <= last:
            return (
                f"{self._column} {_when(time_ms)} does not come after the previous row's "
                f"{_when(last)}"
            )
        return None


def _read_funding(path: Path, order: _TimeOrder) -> Iterator[SettledFunding]:
    return _read_timed(
        path, FUNDING_COLUMNS, FUNDING_FOLDER, _parse_funding, attrgetter("calc_time"), order
    )


def _read_open_interest(path: Path, symbol: str, order: _TimeOrder) -> Iterator[OpenInterestStat]:
    """The file's samples; a row whose numbers Binance left blank is no sample and is passed
    over (its archives have some)."""

    def parse(fields: list[str]) -> OpenInterestStat | None:
        if len(fields) == len(METRICS_COLUMNS) and not (fields[2].strip() and fields[3].strip()):
            return None
        return _parse_open_interest(fields, symbol)

    return _read_timed(path, METRICS_COLUMNS, METRICS_FOLDER, parse, attrgetter("time"), order)


def _read_timed(
    path: Path,
    columns: tuple[str, ...],
    kind: str,
    parse_row: Callable[[list[str]], _T | None],
    time_of: Callable[[_T], int],
    order: _TimeOrder,
) -> Iterator[_T]:
    """The rows of a file of values stamped with times, each after the one before (`order`
    spans the files of a range); a row `parse_row` makes None of holds no value."""

    def parse(fields: list[str], line_number: int) -> _T | None:
        try:
            row = parse_row(fields)
        except _RowError as error:
            raise HistoryFileError(path, line_number, str(error)) from None
        if row is None:
            return None
        problem = order.problem(time_of(row))
        if problem is not None:
            raise HistoryFileError(path, line_number, problem)
        return row

    return (row for row in _read_rows(path, columns, kind, parse) if row is not None)


def _parse_funding(fields: list[str]) -> SettledFunding:
    if len(fields) != len(FUNDING_COLUMNS):
        raise _width_error(fields, FUNDING_COLUMNS)
    try:
        funding = SettledFunding(int(fields[0]), int(fields[1]), float(fields[2]))
    except ValueError:
        raise _RowError(_bad_field(fields, FUNDING_COLUMNS, _FUNDING_CONVERTERS)) from None
    if not math.isfinite(funding.rate):
        raise _RowError(_bad_field(fields, FUNDING_COLUMNS, _FUNDING_CONVERTERS))
    if funding.interval_hours < 1:
        raise _RowError(f"funding_interval_hours {funding.interval_hours} is under one hour")
    return funding


def _parse_open_interest(fields: list[str], symbol: str) -> OpenInterestStat:
    if len(fields) != len(METRICS_COLUMNS):
        raise _width_error(fields, METRICS_COLUMNS)
    time_ms = _create_time_ms(fields[0])
    if fields[1] != symbol:
        raise _RowError(f"symbol {fields[1]!r} in a file of {symbol}")
    numbers = fields[2:4]
    try:
        contracts, value = float(numbers[0]), float(numbers[1])
    except ValueError:
        raise _RowError(_bad_field(numbers, _OPEN_INTEREST_COLUMNS, (float, float))) from None
    if not math.isfinite(contracts + value):
        raise _RowError(_bad_field(numbers, _OPEN_INTEREST_COLUMNS, (float, float)))
    if contracts < 0 or value < 0:
        raise _RowError(f"negative open interest: {numbers[0]} contracts worth {numbers[1]}")
    return OpenInterestStat(symbol, time_ms, contracts, value)


def _create_time_ms(text: str) -> int:
    """`2024-01-01 00:05:00` (UTC) in ms. fromisoformat is forty times faster than strptime but
    takes other spellings too (a `T`, an offset), so the length, the space and the absence of an
    offset pin the one Binance writes."""
    if len(text) == len(_CREATE_TIME_EXAMPLE) and text[10] == " ":
        with contextlib.suppress(ValueError):
            moment = datetime.fromisoformat(text)
            if moment.tzinfo is None:
                return int(moment.replace(tzinfo=UTC).timestamp()) * 1000
    raise _RowError(f"create_time {text!r} is not a UTC time like {_CREATE_TIME_EXAMPLE}")


def _create_time(time_ms: int) -> str:
    if time_ms % 1000:
        raise ValueError(f"create_time holds whole seconds, and {time_ms} ms is not one")
    return f"{to_datetime(time_ms):{_CREATE_TIME}}"


def _plain(number: float) -> str:
    """A float in plain decimals (0.00001, never 1e-05) that reads back as the same float."""
    return f"{Decimal(repr(number)):f}"


def _width_error(fields: list[str], columns: tuple[str, ...]) -> _RowError:
    """Why a row with the wrong number of fields is refused (the hot loops test the count)."""
    if len(fields) == 1 and not fields[0].strip():
        return _RowError("empty line")
    return _RowError(f"expected {len(columns)} columns, got {len(fields)}")


def _check_month(month: str) -> None:
    _check_label(month, "%Y-%m", "2024-01", "month")


def _check_label(label: str, pattern: str, example: str, what: str) -> None:
    # strptime alone would take "2024-1", which names a file Binance never publishes.
    try:
        well_formed = len(label) == len(example) and bool(datetime.strptime(label, pattern))
    except ValueError:
        well_formed = False
    if not well_formed:
        raise ValueError(f"{what} must look like {example}, got {label!r}")


def _read(
    path: Path, symbol: str, interval: Interval, check: KlineSequenceCheck
) -> Iterator[Kline]:
    def parse(fields: list[str], line_number: int) -> Kline:
        return _checked(fields, symbol, interval, check, path, line_number)

    return _read_rows(path, COLUMNS, "kline", parse)


def _read_rows(
    path: Path,
    columns: tuple[str, ...],
    kind: str,
    parse: Callable[[list[str], int], _T],
) -> Iterator[_T]:
    """Each data row of a Binance CSV through `parse(fields, line number)`, the header skipped."""
    line_number = 0
    try:
        with _open_text(path) as stream:
            # Binance never quotes a field, so a plain split parses a row, twice as fast as the
            # csv module; int() and float() ignore the line ending left on the last field.
            for line_number, line in enumerate(stream, start=1):
                fields = line.split(",")
                if line_number == 1 and _is_header(fields, path, columns, kind):
                    continue
                yield parse(fields, line_number)
    except _UNREADABLE as error:
        # A damaged archive fails while a line is read: the one after the last good one.
        where = line_number + 1 if line_number else None
        raise HistoryFileError(path, where, f"cannot be read: {error}") from error


def _checked(
    fields: list[str],
    symbol: str,
    interval: Interval,
    check: KlineSequenceCheck,
    path: Path,
    line_number: int,
) -> Kline:
    try:
        kline = _parse(fields, symbol, interval)
    except _RowError as error:
        raise HistoryFileError(path, line_number, str(error)) from None
    problem = check.problem(kline)
    if problem is not None:
        raise HistoryFileError(path, line_number, problem)
    return kline


def _parse(fields: list[str], symbol: str, interval: Interval) -> Kline:
    """One row as a closed candle: the hot loop, so one `try` around all the conversions and
    one finiteness test on a sum; the slow diagnosis runs only for a bad row."""
    if len(fields) != len(COLUMNS):
        raise _width_error(fields, COLUMNS)
    try:
        open_time = int(fields[0])
        open_ = float(fields[1])
        high = float(fields[2])
        low = float(fields[3])
        close = float(fields[4])
        volume = float(fields[5])
        close_time = int(fields[6])
        quote_volume = float(fields[7])
        trades = int(fields[8])
        taker_buy_volume = float(fields[9])
        taker_buy_quote_volume = float(fields[10])
        # Never used, but requiring a number here means a line cut short after its last
        # comma is caught like any other truncated line.
        float(fields[11])
    except ValueError:
        raise _RowError(_bad_field(fields, COLUMNS, _CONVERTERS)) from None
    total = open_ + high + low + close + volume
    if not math.isfinite(total + quote_volume + taker_buy_volume + taker_buy_quote_volume):
        raise _RowError(_bad_field(fields, COLUMNS, _CONVERTERS))
    if open_time >= _MICROSECONDS_FROM:
        open_time //= 1000
        close_time //= 1000
    return Kline(
        symbol=symbol,
        interval=interval,
        open_time=open_time,
        open=open_,
        high=high,
        low=low,
        close=close,
        volume=volume,
        close_time=close_time,
        quote_volume=quote_volume,
        trades=trades,
        taker_buy_volume=taker_buy_volume,
        taker_buy_quote_volume=taker_buy_quote_volume,
    )


def _bad_field(
    fields: list[str], columns: tuple[str, ...], converters: tuple[type[int] | type[float], ...]
) -> str:
    for name, convert, value in zip(columns, converters, fields, strict=True):
        try:
            number = convert(value)
        except ValueError:
            kind = "an integer" if convert is int else "a number"
            return f"{name} {value.rstrip(_LINE_END)!r} is not {kind}"
        if not math.isfinite(number):
            return f"{name} {value.rstrip(_LINE_END)!r} is not a finite number"
    raise AssertionError(f"no bad field in {fields}")  # pragma: no cover - callers found one


def _is_header(fields: list[str], path: Path, columns: tuple[str, ...], kind: str) -> bool:
    """Whether the first row is Binance's header; a first row that is neither the header nor
    data (a first field that does not start with a digit, as every timestamp and every
    `create_time` does) is refused rather than skipped."""
    if tuple(field.strip() for field in fields) == columns:
        return True
    if not fields[0][:1].isdigit():
        expected = ",".join(columns)
        raise HistoryFileError(path, 1, f"not a Binance {kind} header, expected {expected}")
    return False


@contextlib.contextmanager
def _open_text(path: Path) -> Iterator[TextIO]:
    name = path.name
    if name.endswith(".zip"):
        with zipfile.ZipFile(path) as archive:
            member = _only_csv(archive, path)
            with archive.open(member) as raw:
                yield io.TextIOWrapper(raw, encoding="utf-8", newline="")
    elif name.endswith(".gz"):
        with gzip.open(path, "rt", encoding="utf-8", newline="") as stream:
            yield stream
    else:
        with path.open(encoding="utf-8", newline="") as stream:
            yield stream


def _only_csv(archive: zipfile.ZipFile, path: Path) -> str:
    members = [name for name in archive.namelist() if name.endswith(".csv")]
    if len(members) != 1:
        raise HistoryFileError(path, None, f"expected one CSV in the archive, found {members}")
    return members[0]


def _required_file(csv_path: Path) -> Path:
    found = find_history_file(csv_path)
    if found is not None:
        return found
    stem = csv_path.name.removesuffix(".csv")
    raise HistoryFileError(
        csv_path,
        None,
        f"missing from {csv_path.parent} (nor {stem}.csv.gz or {stem}.zip): download it first",
    )


def find_history_file(csv_path: Path) -> Path | None:
    """The project's `.csv`, else Binance's `.csv.gz` or `.zip` of the same stem, if any."""
    stem = csv_path.name.removesuffix(".csv")
    for suffix in _FILE_SUFFIXES:
        candidate = csv_path.with_name(stem + suffix)
        if candidate.exists():
            return candidate
    return None


def _spans(
    start_ms: int,
    end_ms: int,
    first: Callable[[datetime], datetime],
    after: Callable[[datetime], datetime],
    label: str,
) -> list[Span]:
    """The spans from the one holding `start_ms` (its start is `first(moment)`) to the one
    holding `end_ms - 1`, each starting where `after` puts the previous one's start."""
    if end_ms <= start_ms:
        raise ValueError(f"empty range: start {start_ms} is not before end {end_ms}")
    begin = first(to_datetime(start_ms))
    found: list[Span] = []
    while _ms(begin) < end_ms:
        end = after(begin)
        found.append(Span(f"{begin:{label}}", _ms(begin), _ms(end)))
        begin = end
    return found


def _month_start(moment: datetime) -> datetime:
    return datetime(moment.year, moment.month, 1, tzinfo=UTC)


def _next_month(start: datetime) -> datetime:
    year, month = (start.year + 1, 1) if start.month == 12 else (start.year, start.month + 1)
    return datetime(year, month, 1, tzinfo=UTC)


def _day_start(moment: datetime) -> datetime:
    return datetime(moment.year, moment.month, moment.day, tzinfo=UTC)


def _next_day(start: datetime) -> datetime:
    return start + timedelta(days=1)


def _ms(moment: datetime) -> int:
    return int(moment.timestamp()) * 1000


def _check_writable(path: Path) -> None:
    if not path.name.endswith((".csv", ".csv.gz")):
        raise ValueError(f"{path.name}: history files are written as .csv or .csv.gz")


def _write_csv(path: Path, columns: tuple[str, ...], rows: Iterable[Iterable[object]]) -> None:
    """`columns` as the header, then `rows`, into `path` (gzipped for `.csv.gz`), atomically."""
    text = io.StringIO()
    writer = csv.writer(text, lineterminator="\n")
    writer.writerow(columns)
    writer.writerows(rows)
    data = text.getvalue().encode()
    if path.name.endswith(".gz"):
        data = gzip.compress(data, mtime=0)
    _write_atomically(path, data)


def _row(kline: Kline) -> tuple[int | float, ...]:
    if not kline.closed:
        raise ValueError(f"refusing to save a forming candle: {kline}")
    return (
        kline.open_time,
        kline.open,
        kline.high,
        kline.low,
        kline.close,
        kline.volume,
        kline.close_time,
        kline.quote_volume,
        kline.trades,
        kline.taker_buy_volume,
        kline.taker_buy_quote_volume,
        0,
    )


def _write_atomically(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temp_name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".part")
    temp = Path(temp_name)
    try:
        with os.fdopen(handle, "wb") as stream:
            stream.write(data)
            stream.flush()
            os.fsync(stream.fileno())
        temp.replace(path)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise


def _describe(
    result: InsertResult, kline: Kline, previous: Kline | None, symbol: str, interval: Interval
) -> str:
    """The cache's rejection of `kline`, in words and timestamps a person can look up."""
    if previous is not None and result in _SEQUENCE_RESULTS:
        return _describe_sequence(result, kline.open_time, previous.open_time, interval)
    if result is InsertResult.UNALIGNED:
        return f"open time {_when(kline.open_time)} is not on the {interval} grid"
    if result is InsertResult.WRONG_SERIES:
        return f"a {kline.symbol} {kline.interval} candle among {symbol} {interval} candles"
    return (
        f"rejected by the K-line cache ({result}): open {kline.open}, high {kline.high}, "
        f"low {kline.low}, close {kline.close}, volume {kline.volume}"
    )


def _describe_sequence(
    result: InsertResult, open_time: int, previous_open_time: int, interval: Interval
) -> str:
    when, previous = _when(open_time), _when(previous_open_time)
    if result is InsertResult.GAP:
        missing = (open_time - previous_open_time) // interval.ms - 1
        return (
            f"{missing} missing {interval} candle{'s' if missing > 1 else ''} between "
            f"{previous} and {when} (allow_gaps=True accepts gaps)"
        )
    if result is InsertResult.OUT_OF_ORDER:
        return f"open time {when} comes before the previous candle's {previous}"
    return f"open time {when} repeats the previous candle's"


def _when(timestamp_ms: int) -> str:
    return f"{timestamp_ms} ({to_datetime(timestamp_ms):%Y-%m-%d %H:%M:%S} UTC)"
