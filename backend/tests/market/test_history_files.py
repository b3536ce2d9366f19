"""Candle history files: Binance's kline CSV read strictly, written atomically, found by month."""

from __future__ import annotations

import gzip
import os
import zipfile
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from alphatransformer.market.history_files import (
    COLUMNS,
    HistoryFileError,
    history_path,
    read_klines,
    read_range,
    write_klines,
)
from alphatransformer.market.types import Interval, Kline

M3 = Interval.M3
STEP = M3.ms
JAN_1 = 1_704_067_200_000  # 2024-01-01 00:00 UTC
FEB_1 = 1_706_745_600_000  # 2024-02-01 00:00 UTC
NAME = "BTCUSDT-3m-2024-01.csv"
HEADER = ",".join(COLUMNS)
SAMPLE = Path(__file__).parent / "samples" / "BTCUSDT-3m-2024-01-01.csv"

# Four consecutive 3m candles from 2024-01-01 00:00 UTC, in Binance's format.
ROWS = [
    "1704067200000,42314.0,42335.7,42293.0,42327.6,375.488,1704067379999,"
    "15888498.5389,4058,192.962,8165211.7476,0",
    "1704067380000,42327.6,42350.0,42310.1,42345.2,210.25,1704067559999,"
    "8901234.5,2100,100.5,4255000.25,0",
    "1704067560000,42345.2,42345.2,42280.0,42290.3,512.0,1704067739999,"
    "21668000.0,5120,200.0,8470000.0,0",
    "1704067740000,42290.3,42301.0,42250.5,42260.0,98.75,1704067919999,"
    "4174000.0,980,40.25,1701000.0,0",
]
FIRST = Kline(
    symbol="BTCUSDT",
    interval=M3,
    open_time=1_704_067_200_000,
    open=42314.0,
    high=42335.7,
    low=42293.0,
    close=42327.6,
    volume=375.488,
    close_time=1_704_067_379_999,
    quote_volume=15888498.5389,
    trades=4058,
    taker_buy_volume=192.962,
    taker_buy_quote_volume=8165211.7476,
)


def write_text(directory: Path, lines: list[str], *, header: bool = True, name: str = NAME) -> Path:
    path = directory / name
    path.write_text("\n".join([HEADER, *lines] if header else lines) + "\n")
    return path


def read(path: Path) -> list[Kline]:
    return read_klines(path, "BTCUSDT", M3)


def candles(start_ms: int, count: int) -> list[Kline]:
    """Consecutive 3m candles with prices a reader can follow: candle i closes at 100 + i."""
    return [
        Kline(
            symbol="BTCUSDT",
            interval=M3,
            open_time=start_ms + i * STEP,
            open=99.0 + i,
            high=100.5 + i,
            low=98.5 + i,
            close=100.0 + i,
            volume=1.0 + i,
            close_time=start_ms + (i + 1) * STEP - 1,
            quote_volume=100.0 * (1 + i),
            trades=10 + i,
            taker_buy_volume=0.5 + i,
            taker_buy_quote_volume=50.0 * (1 + i),
        )
        for i in range(count)
    ]


def test_headered_file_reads_every_row_as_a_closed_candle(tmp_path: Path) -> None:
    klines = read(write_text(tmp_path, ROWS))

    assert klines[0] == FIRST
    assert [kline.open_time for kline in klines] == [JAN_1 + i * STEP for i in range(4)]
    assert [kline.close for kline in klines] == [42327.6, 42345.2, 42290.3, 42260.0]
    assert all(kline.closed for kline in klines)


def test_headerless_file_reads_the_same_candles(tmp_path: Path) -> None:
    headered = read(write_text(tmp_path, ROWS))

    headerless = read(write_text(tmp_path, ROWS, header=False, name="old.csv"))

    assert headerless == headered


def test_windows_line_endings_read_the_same(tmp_path: Path) -> None:
    path = tmp_path / NAME
    path.write_bytes(("\r\n".join([HEADER, *ROWS]) + "\r\n").encode())

    assert read(path) == read(write_text(tmp_path, ROWS, name="unix.csv"))


@pytest.mark.parametrize("archive", ["gz", "zip"])
def test_binance_archives_read_like_the_plain_csv(tmp_path: Path, archive: str) -> None:
    text = "\n".join(ROWS) + "\n"  # Binance's older archives have no header
    if archive == "gz":
        path = tmp_path / f"{NAME}.gz"
        path.write_bytes(gzip.compress(text.encode()))
    else:
        path = tmp_path / "BTCUSDT-3m-2024-01.zip"
        with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as bundle:
            bundle.writestr(NAME, text)

    assert read(path) == read(write_text(tmp_path, ROWS))


def test_microsecond_timestamps_are_read_as_milliseconds(tmp_path: Path) -> None:
    in_microseconds = [
        f"{JAN_1 * 1000},1.0,2.0,0.5,1.5,10.0,{(JAN_1 + STEP) * 1000 - 1},15.0,3,5.0,7.5,0"
    ]

    [kline] = read(write_text(tmp_path, in_microseconds))

    assert (kline.open_time, kline.close_time) == (JAN_1, JAN_1 + STEP - 1)


def test_sample_file_reads_a_day_of_contiguous_candles() -> None:
    klines = read_klines(SAMPLE, "BTCUSDT", M3)

    assert len(klines) == 480
    assert klines[0].open_time == JAN_1
    assert klines[-1].close_time == JAN_1 + 24 * 3_600_000 - 1


# Each case: the rows as they stand in the file (after the header, which is line 1), and the
# exact error message, with the line the damage is on.
DAMAGED = {
    "truncated last line": (
        [*ROWS[:3], ROWS[3][:40]],
        f"{NAME}, line 5: expected 12 columns, got 5",
    ),
    "line cut after its last comma": (
        [*ROWS[:3], ROWS[3][:-1]],
        f"{NAME}, line 5: ignore '' is not a number",
    ),
    "extra column": (
        [ROWS[0], ROWS[1] + ",7", *ROWS[2:]],
        f"{NAME}, line 3: expected 12 columns, got 13",
    ),
    "empty line": (
        [ROWS[0], "", *ROWS[1:]],
        f"{NAME}, line 3: empty line",
    ),
    "letter in a price": (
        [ROWS[0], ROWS[1], ROWS[2].replace("42280.0", "4228O.0"), ROWS[3]],
        f"{NAME}, line 4: low '4228O.0' is not a number",
    ),
    "fraction in the trade count": (
        [ROWS[0], ROWS[1].replace(",2100,", ",2100.5,")],
        f"{NAME}, line 3: count '2100.5' is not an integer",
    ),
    "nan price": (
        [ROWS[0].replace("42335.7", "nan")],
        f"{NAME}, line 2: high 'nan' is not a finite number",
    ),
    "row out of order": (
        [ROWS[0], ROWS[1], ROWS[2], ROWS[1]],
        f"{NAME}, line 5: open time 1704067380000 (2024-01-01 00:03:00 UTC) comes before "
        "the previous candle's 1704067560000 (2024-01-01 00:06:00 UTC)",
    ),
    "duplicated open time": (
        [ROWS[0], ROWS[1], ROWS[1], ROWS[2]],
        f"{NAME}, line 4: open time 1704067380000 (2024-01-01 00:03:00 UTC) repeats the "
        "previous candle's",
    ),
    "open time off the grid": (
        [ROWS[0], ROWS[1].replace("1704067380000", "1704067381000")],
        f"{NAME}, line 3: open time 1704067381000 (2024-01-01 00:03:01 UTC) is not on the 3m grid",
    ),
    "gap": (
        [ROWS[0], ROWS[1], ROWS[3]],
        f"{NAME}, line 4: 1 missing 3m candle between 1704067380000 (2024-01-01 00:03:00 UTC) "
        "and 1704067740000 (2024-01-01 00:09:00 UTC) (allow_gaps=True accepts gaps)",
    ),
    "close time of another interval": (
        [ROWS[0].replace("1704067379999", "1704067259999")],
        f"{NAME}, line 2: close time 1704067259999 does not end a 3m candle opening at "
        "1704067200000 (2024-01-01 00:00:00 UTC) (expected 1704067379999)",
    ),
    "high below low": (
        [ROWS[0].replace("42335.7", "42200.0")],
        f"{NAME}, line 2: rejected by the K-line cache (high_below_low): open 42314.0, "
        "high 42200.0, low 42293.0, close 42327.6, volume 375.488",
    ),
}


@pytest.mark.parametrize(("rows", "message"), DAMAGED.values(), ids=DAMAGED.keys())
def test_damaged_row_is_an_error_naming_file_and_line(
    tmp_path: Path, rows: list[str], message: str
) -> None:
    path = write_text(tmp_path, rows)

    with pytest.raises(HistoryFileError) as caught:
        read(path)

    assert str(caught.value) == message
    assert caught.value.path == path


def test_line_numbers_count_from_the_first_line_of_a_headerless_file(tmp_path: Path) -> None:
    path = write_text(tmp_path, [ROWS[0], ROWS[0]], header=False)

    with pytest.raises(HistoryFileError) as caught:
        read(path)

    assert caught.value.line_number == 2


def test_gaps_are_read_when_allowed(tmp_path: Path) -> None:
    path = write_text(tmp_path, [ROWS[0], ROWS[3]])

    klines = read_klines(path, "BTCUSDT", M3, allow_gaps=True)

    assert [kline.open_time for kline in klines] == [JAN_1, JAN_1 + 3 * STEP]


def test_unknown_header_is_refused(tmp_path: Path) -> None:
    path = write_text(tmp_path, [HEADER.replace("count", "trades"), *ROWS], header=False)

    with pytest.raises(HistoryFileError, match=rf"^{NAME}, line 1: not a Binance kline header"):
        read(path)


def test_truncated_gzip_is_an_error_naming_the_file(tmp_path: Path) -> None:
    whole = gzip.compress(("\n".join([HEADER, *ROWS]) + "\n").encode())
    path = tmp_path / f"{NAME}.gz"
    path.write_bytes(whole[: len(whole) - 12])

    with pytest.raises(HistoryFileError, match=rf"^{NAME}\.gz.*: cannot be read"):
        read(path)


def test_zip_without_exactly_one_csv_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "BTCUSDT-3m-2024-01.zip"
    with zipfile.ZipFile(path, "w") as bundle:
        bundle.writestr("a.csv", ROWS[0])
        bundle.writestr("b.csv", ROWS[1])

    with pytest.raises(HistoryFileError, match="expected one CSV in the archive"):
        read(path)


@pytest.mark.parametrize("name", ["round-trip.csv", "round-trip.csv.gz"])
def test_write_then_read_gives_identical_candles(tmp_path: Path, name: str) -> None:
    awkward = [
        FIRST,
        *candles(JAN_1 + STEP, 2),
        Kline(
            symbol="BTCUSDT",
            interval=M3,
            open_time=JAN_1 + 3 * STEP,
            open=0.1 + 0.2,  # 0.30000000000000004: only an exact writer brings it back
            high=1e-8 + 0.5,
            low=1e-8,
            close=0.3,
            volume=1 / 3,
            close_time=JAN_1 + 4 * STEP - 1,
        ),
    ]
    path = tmp_path / name

    write_klines(path, awkward)

    assert read(path) == awkward


def test_written_file_is_binance_format_with_header(tmp_path: Path) -> None:
    path = tmp_path / NAME

    write_klines(path, read(write_text(tmp_path, ROWS[:1], name="source.csv")))

    assert path.read_text().splitlines() == [HEADER, ROWS[0]]


def test_failed_write_leaves_no_file_at_the_target(tmp_path: Path) -> None:
    def broken_download() -> Iterator[Kline]:
        yield from candles(JAN_1, 3)
        raise ConnectionError("connection reset")

    target = tmp_path / NAME

    with pytest.raises(ConnectionError):
        write_klines(target, broken_download())

    assert list(tmp_path.iterdir()) == []


def test_failure_while_writing_to_disk_keeps_the_old_file_and_no_temp(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / NAME
    write_klines(target, candles(JAN_1, 2))
    before = target.read_bytes()

    def disk_full(descriptor: int) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", disk_full)
    with pytest.raises(OSError, match="No space left"):
        write_klines(target, candles(JAN_1, 5))

    assert target.read_bytes() == before
    assert [path.name for path in tmp_path.iterdir()] == [NAME]


def test_forming_candle_is_not_saved(tmp_path: Path) -> None:
    forming = replace(FIRST, closed=False)

    with pytest.raises(ValueError, match="forming"):
        write_klines(tmp_path / NAME, [forming])

    assert not (tmp_path / NAME).exists()


def test_history_path_follows_binance_file_names() -> None:
    path = history_path(Path("data/history"), "BTCUSDT", M3, "2024-01")

    assert path == Path("data/history/BTCUSDT/3m/BTCUSDT-3m-2024-01.csv")


@pytest.mark.parametrize("month", ["2024-1", "2024-13", "Jan 2024"])
def test_history_path_refuses_a_malformed_month(month: str) -> None:
    with pytest.raises(ValueError, match="month must look like 2024-01"):
        history_path(Path("data"), "BTCUSDT", M3, month)


def test_read_range_joins_months_and_keeps_only_the_range(tmp_path: Path) -> None:
    # The last hour of January and the first hour of February, in two monthly files.
    klines = candles(FEB_1 - 20 * STEP, 40)
    write_klines(history_path(tmp_path, "BTCUSDT", M3, "2024-01"), klines[:20])
    write_klines(history_path(tmp_path, "BTCUSDT", M3, "2024-02"), klines[20:])

    joined = read_range(tmp_path, "BTCUSDT", M3, FEB_1 - 5 * STEP, FEB_1 + 5 * STEP)

    assert joined == klines[15:25]


def test_read_range_sees_a_gap_between_two_months(tmp_path: Path) -> None:
    klines = candles(FEB_1 - 20 * STEP, 40)
    write_klines(history_path(tmp_path, "BTCUSDT", M3, "2024-01"), klines[:20])
    write_klines(history_path(tmp_path, "BTCUSDT", M3, "2024-02"), klines[21:])

    with pytest.raises(HistoryFileError, match=r"^BTCUSDT-3m-2024-02.csv, line 2: 1 missing"):
        read_range(tmp_path, "BTCUSDT", M3, FEB_1 - STEP, FEB_1 + STEP)


def test_read_range_reads_a_binance_archive_in_place_of_a_csv(tmp_path: Path) -> None:
    klines = candles(FEB_1 - 20 * STEP, 20)
    saved = history_path(tmp_path, "BTCUSDT", M3, "2024-01")
    write_klines(saved, klines)
    with zipfile.ZipFile(saved.with_suffix(".zip"), "w") as bundle:
        bundle.write(saved, NAME)
    saved.unlink()

    assert read_range(tmp_path, "BTCUSDT", M3, JAN_1, FEB_1) == klines


def test_read_range_with_a_month_missing_says_which(tmp_path: Path) -> None:
    write_klines(history_path(tmp_path, "BTCUSDT", M3, "2024-01"), candles(FEB_1 - STEP, 1))

    with pytest.raises(HistoryFileError, match=r"^BTCUSDT-3m-2024-02.csv: missing from"):
        read_range(tmp_path, "BTCUSDT", M3, FEB_1 - STEP, FEB_1 + STEP)
