"""Open interest files: Binance's daily metrics CSV beside the candles, read strictly (errors name
the file and the line), written atomically, found by day; absent meaning never downloaded, and
days before the first file meaning older than Binance serves."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest

from alphatransformer.market.history_files import (
    METRICS_COLUMNS,
    HistoryFileError,
    OpenInterestStat,
    open_interest_path,
    read_open_interest,
    read_open_interest_range,
    write_open_interest,
)

M5 = 300_000
DAY = 86_400_000
JAN_1 = 1_704_067_200_000  # 2024-01-01 00:00 UTC
JAN_2 = JAN_1 + DAY
JAN_3 = JAN_2 + DAY
NAME = "BTCUSDT-metrics-2024-01-01.csv"
HEADER = ",".join(METRICS_COLUMNS)
# The first rows of a Binance metrics archive, ratios and all.
ROWS = [
    "2024-01-01 00:00:00,BTCUSDT,74006.26600000,3131493738.89740000,1.37,1.20,1.52,0.97",
    "2024-01-01 00:05:00,BTCUSDT,74011.10700000,3133032617.34240000,1.37,1.20,1.52,1.13",
    "2024-01-01 00:10:00,BTCUSDT,73998.5,3132418127.1,,,,",
]
FIRST_THREE = [
    OpenInterestStat("BTCUSDT", JAN_1, 74006.266, 3131493738.8974),
    OpenInterestStat("BTCUSDT", JAN_1 + M5, 74011.107, 3133032617.3424),
    OpenInterestStat("BTCUSDT", JAN_1 + 2 * M5, 73998.5, 3132418127.1),
]


def write_text(directory: Path, lines: list[str], *, header: bool = True) -> Path:
    path = directory / NAME
    path.write_text("\n".join([HEADER, *lines] if header else lines) + "\n")
    return path


def every_5m(start_ms: int, count: int, symbol: str = "BTCUSDT") -> list[OpenInterestStat]:
    """Samples a reader can follow: the i-th 5 minutes after the previous, at 1000 + i contracts."""
    return [
        OpenInterestStat(symbol, start_ms + i * M5, 1000.0 + i, 100_000.0 + i) for i in range(count)
    ]


def write_day(root: Path, day_ms: int, label: str) -> list[OpenInterestStat]:
    """A whole day of samples under `root`, as the download writes it."""
    stats = every_5m(day_ms, 288)
    write_open_interest(open_interest_path(root, "BTCUSDT", label), stats)
    return stats


def test_open_interest_files_sit_beside_the_candles_under_binances_name() -> None:
    path = open_interest_path(Path("data/history"), "BTCUSDT", "2024-01-31")

    assert path == Path("data/history/BTCUSDT/metrics/BTCUSDT-metrics-2024-01-31.csv")
    with pytest.raises(ValueError, match="day must look like 2024-01-31"):
        open_interest_path(Path("data"), "BTCUSDT", "2024-01-1")
    with pytest.raises(ValueError, match="day must look like 2024-01-31"):
        open_interest_path(Path("data"), "BTCUSDT", "2024-01")


def test_binances_file_reads_with_or_without_its_header(tmp_path: Path) -> None:
    assert read_open_interest(write_text(tmp_path, ROWS), "BTCUSDT") == FIRST_THREE
    assert read_open_interest(write_text(tmp_path, ROWS, header=False), "BTCUSDT") == FIRST_THREE


@pytest.mark.parametrize("name", ["round-trip.csv", "round-trip.csv.gz"])
def test_write_then_read_gives_identical_open_interest(tmp_path: Path, name: str) -> None:
    awkward = [
        *FIRST_THREE,
        OpenInterestStat("BTCUSDT", JAN_2, 0.1 + 0.2, 1e-8),
        OpenInterestStat("BTCUSDT", JAN_2 + 1000, 0.0, 123456789012.34567),
    ]
    path = tmp_path / name

    write_open_interest(path, awkward)

    assert read_open_interest(path, "BTCUSDT") == awkward


def test_written_file_is_binance_format_with_the_ratios_left_empty(tmp_path: Path) -> None:
    path = tmp_path / NAME

    write_open_interest(path, [*FIRST_THREE[:2], OpenInterestStat("BTCUSDT", JAN_2, 1e-05, 5.0)])

    assert path.read_text().splitlines() == [
        HEADER,
        "2024-01-01 00:00:00,BTCUSDT,74006.266,3131493738.8974,,,,",
        "2024-01-01 00:05:00,BTCUSDT,74011.107,3133032617.3424,,,,",
        "2024-01-02 00:00:00,BTCUSDT,0.00001,5.0,,,,",
    ]


def test_a_failed_write_leaves_the_old_file_and_no_temporary(tmp_path: Path) -> None:
    path = tmp_path / NAME
    write_open_interest(path, FIRST_THREE)

    with pytest.raises(ValueError, match=r"\.csv or \.csv\.gz"):
        write_open_interest(tmp_path / "metrics.txt", FIRST_THREE)
    with pytest.raises(ValueError, match="1704067200001 ms is not one"):
        write_open_interest(path, [OpenInterestStat("BTCUSDT", JAN_1 + 1, 1.0, 1.0)])

    assert read_open_interest(path, "BTCUSDT") == FIRST_THREE
    assert sorted(p.name for p in tmp_path.iterdir()) == [NAME]


DAMAGED = {
    "too few columns": (
        ["2024-01-01 00:00:00,BTCUSDT,74006.266,3131493738.8974"],
        f"{NAME}, line 2: expected 8 columns, got 4",
    ),
    "time in milliseconds": (
        ["1704067200000,BTCUSDT,1,1,,,,"],
        f"{NAME}, line 2: create_time '1704067200000' is not a UTC time like 2024-01-01 00:05:00",
    ),
    "time with a T": (
        ["2024-01-01T00:00:00,BTCUSDT,1,1,,,,"],
        f"{NAME}, line 2: create_time '2024-01-01T00:00:00' is not a UTC time like "
        "2024-01-01 00:05:00",
    ),
    "time with an offset": (
        ["2024-01-01 00:00+01,BTCUSDT,1,1,,,,"],
        f"{NAME}, line 2: create_time '2024-01-01 00:00+01' is not a UTC time like "
        "2024-01-01 00:05:00",
    ),
    "time that does not exist": (
        ["2024-02-30 00:00:00,BTCUSDT,1,1,,,,"],
        f"{NAME}, line 2: create_time '2024-02-30 00:00:00' is not a UTC time like "
        "2024-01-01 00:05:00",
    ),
    "another symbol": (
        [ROWS[0], ROWS[1].replace("BTCUSDT", "ETHUSDT")],
        f"{NAME}, line 3: symbol 'ETHUSDT' in a file of BTCUSDT",
    ),
    "open interest not a number": (
        ["2024-01-01 00:00:00,BTCUSDT,abc,1,,,,"],
        f"{NAME}, line 2: sum_open_interest 'abc' is not a number",
    ),
    "value not finite": (
        ["2024-01-01 00:00:00,BTCUSDT,1,inf,,,,"],
        f"{NAME}, line 2: sum_open_interest_value 'inf' is not a finite number",
    ),
    "negative open interest": (
        ["2024-01-01 00:00:00,BTCUSDT,-1.5,10,,,,"],
        f"{NAME}, line 2: negative open interest: -1.5 contracts worth 10",
    ),
    "time repeated": (
        [ROWS[0], ROWS[0]],
        f"{NAME}, line 3: create_time 1704067200000 (2024-01-01 00:00:00 UTC) does not come "
        "after the previous row's 1704067200000 (2024-01-01 00:00:00 UTC)",
    ),
    "time going back": (
        [ROWS[1], ROWS[0]],
        f"{NAME}, line 3: create_time 1704067200000 (2024-01-01 00:00:00 UTC) does not come "
        "after the previous row's 1704067500000 (2024-01-01 00:05:00 UTC)",
    ),
    "empty line": ([ROWS[0], "", ROWS[1]], f"{NAME}, line 3: empty line"),
}


@pytest.mark.parametrize(("rows", "message"), DAMAGED.values(), ids=DAMAGED.keys())
def test_a_damaged_row_is_an_error_naming_file_and_line(
    tmp_path: Path, rows: list[str], message: str
) -> None:
    path = write_text(tmp_path, rows)

    with pytest.raises(HistoryFileError) as caught:
        read_open_interest(path, "BTCUSDT")

    assert str(caught.value) == message
    assert caught.value.path == path


def test_a_sample_binance_left_blank_is_passed_over(tmp_path: Path) -> None:
    blank = ["2024-01-01 00:05:00,BTCUSDT,,,,,,", "2024-01-01 00:10:00,BTCUSDT,1,,,,,"]
    path = write_text(tmp_path, [ROWS[0], *blank, "2024-01-01 00:15:00,BTCUSDT,2,3,,,,"])

    stats = read_open_interest(path, "BTCUSDT")

    assert [(s.time - JAN_1) // M5 for s in stats] == [0, 3]


def test_a_funding_file_is_not_taken_for_a_metrics_file(tmp_path: Path) -> None:
    path = write_text(
        tmp_path, ["calc_time,funding_interval_hours,last_funding_rate"], header=False
    )

    with pytest.raises(HistoryFileError, match=rf"^{NAME}, line 1: not a Binance metrics header"):
        read_open_interest(path, "BTCUSDT")


def test_a_range_joins_days_and_keeps_only_the_range(tmp_path: Path) -> None:
    first = write_day(tmp_path, JAN_1, "2024-01-01")
    second = write_day(tmp_path, JAN_2, "2024-01-02")

    joined = read_open_interest_range(tmp_path, "BTCUSDT", JAN_2 - 2 * M5, JAN_2 + 2 * M5)

    assert joined == [*first[-2:], *second[:2]]


def test_a_range_reads_binances_archive_in_place_of_a_csv(tmp_path: Path) -> None:
    saved = open_interest_path(tmp_path, "BTCUSDT", "2024-01-01")
    saved.parent.mkdir(parents=True)
    with zipfile.ZipFile(saved.with_suffix(".zip"), "w") as bundle:
        bundle.writestr(NAME, "\n".join([HEADER, *ROWS]) + "\n")

    assert read_open_interest_range(tmp_path, "BTCUSDT", JAN_1, JAN_2) == FIRST_THREE


def test_a_range_never_downloaded_is_none(tmp_path: Path) -> None:
    write_open_interest(open_interest_path(tmp_path, "ETHUSDT", "2024-01-01"), FIRST_THREE)

    assert read_open_interest_range(tmp_path, "BTCUSDT", JAN_1, JAN_3) is None


def test_a_range_starts_where_its_first_file_starts(tmp_path: Path) -> None:
    # 1 January is older than Binance serves and was never dropped in.
    second = write_day(tmp_path, JAN_2, "2024-01-02")

    assert read_open_interest_range(tmp_path, "BTCUSDT", JAN_1, JAN_3) == second


def test_a_day_missing_after_the_first_file_says_which(tmp_path: Path) -> None:
    write_day(tmp_path, JAN_1, "2024-01-01")
    write_day(tmp_path, JAN_3, "2024-01-03")

    with pytest.raises(HistoryFileError, match=r"^BTCUSDT-metrics-2024-01-02.csv: missing from"):
        read_open_interest_range(tmp_path, "BTCUSDT", JAN_1, JAN_3 + DAY)
    # At the end too: the replay would show the last value of the day before as current.
    with pytest.raises(HistoryFileError, match=r"^BTCUSDT-metrics-2024-01-02.csv: missing from"):
        read_open_interest_range(tmp_path, "BTCUSDT", JAN_1, JAN_2 + M5)


def test_an_archive_running_to_the_next_midnight_is_read_for_its_own_day_only(
    tmp_path: Path,
) -> None:
    """Binance's older archives run from 00:05 to the next day's 00:00, which the next day's
    file (an archive of the newer kind, or a download) holds too: each sample is taken once,
    from the file of its own day."""
    older = every_5m(JAN_1 + M5, 288)  # 00:05 on the 1st to 00:00 on the 2nd
    older[-1] = OpenInterestStat("BTCUSDT", JAN_2, 1.0, 1.0)  # the 2nd's own file says otherwise
    write_open_interest(open_interest_path(tmp_path, "BTCUSDT", "2024-01-01"), older)
    second = write_day(tmp_path, JAN_2, "2024-01-02")

    stats = read_open_interest_range(tmp_path, "BTCUSDT", JAN_1, JAN_3)

    assert stats == older[:-1] + second
