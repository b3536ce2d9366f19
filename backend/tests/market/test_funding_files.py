"""Funding rate files: Binance's fundingRate CSV beside the candles, read strictly (errors name
the file and the line), written atomically, found by month, absent meaning never downloaded."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest

from alphatransformer.market.history_files import (
    FUNDING_COLUMNS,
    HistoryFileError,
    SettledFunding,
    funding_path,
    read_funding,
    read_funding_range,
    write_funding,
)

HOUR = 3_600_000
JAN_1 = 1_704_067_200_000  # 2024-01-01 00:00 UTC
FEB_1 = 1_706_745_600_000  # 2024-02-01 00:00 UTC
NAME = "BTCUSDT-fundingRate-2024-01.csv"
HEADER = ",".join(FUNDING_COLUMNS)
# The first three fundings of 2024 as Binance's monthly archive lists them (the third stamped
# 1 ms late, as some are).
ROWS = ["1704067200000,8,0.00037409", "1704096000000,8,0.00031200", "1704124800001,8,-0.0000125"]
FIRST_THREE = [
    SettledFunding(JAN_1, 8, 0.00037409),
    SettledFunding(JAN_1 + 8 * HOUR, 8, 0.000312),
    SettledFunding(JAN_1 + 16 * HOUR + 1, 8, -0.0000125),
]


def write_text(directory: Path, lines: list[str], *, header: bool = True) -> Path:
    path = directory / NAME
    path.write_text("\n".join([HEADER, *lines] if header else lines) + "\n")
    return path


def every_8h(start_ms: int, count: int) -> list[SettledFunding]:
    """Fundings a reader can follow: the i-th settles 8 h after the previous at i basis points."""
    return [SettledFunding(start_ms + i * 8 * HOUR, 8, i / 10_000) for i in range(count)]


def test_funding_files_sit_beside_the_candles_under_binances_name() -> None:
    path = funding_path(Path("data/history"), "BTCUSDT", "2024-01")

    assert path == Path("data/history/BTCUSDT/fundingRate/BTCUSDT-fundingRate-2024-01.csv")
    with pytest.raises(ValueError, match="month must look like 2024-01"):
        funding_path(Path("data"), "BTCUSDT", "2024-1")


def test_binances_file_reads_with_or_without_its_header(tmp_path: Path) -> None:
    assert read_funding(write_text(tmp_path, ROWS)) == FIRST_THREE
    assert read_funding(write_text(tmp_path, ROWS, header=False)) == FIRST_THREE


@pytest.mark.parametrize("name", ["round-trip.csv", "round-trip.csv.gz"])
def test_write_then_read_gives_identical_fundings(tmp_path: Path, name: str) -> None:
    awkward = [
        *FIRST_THREE,
        SettledFunding(FEB_1, 4, 0.1 + 0.2),
        SettledFunding(FEB_1 + 1, 1, -1e-8),
    ]
    path = tmp_path / name

    write_funding(path, awkward)

    assert read_funding(path) == awkward


def test_written_file_is_binance_format_in_plain_decimals(tmp_path: Path) -> None:
    path = tmp_path / NAME

    write_funding(path, [*FIRST_THREE, SettledFunding(JAN_1 + 24 * HOUR, 8, 1e-05)])

    assert path.read_text().splitlines() == [
        HEADER,
        "1704067200000,8,0.00037409",
        "1704096000000,8,0.000312",
        "1704124800001,8,-0.0000125",
        "1704153600000,8,0.00001",
    ]


def test_a_failed_write_leaves_the_old_file_and_no_temporary(tmp_path: Path) -> None:
    path = tmp_path / NAME
    write_funding(path, FIRST_THREE)

    with pytest.raises(ValueError, match=r"\.csv or \.csv\.gz"):
        write_funding(tmp_path / "funding.txt", FIRST_THREE)
    with pytest.raises(AttributeError):
        write_funding(path, [*FIRST_THREE, None])  # type: ignore[list-item]

    assert read_funding(path) == FIRST_THREE
    assert sorted(p.name for p in tmp_path.iterdir()) == [NAME]


DAMAGED = {
    "too few columns": (["1704067200000,8"], f"{NAME}, line 2: expected 3 columns, got 2"),
    "rate not a number": (
        [ROWS[0], "1704096000000,8,abc"],
        f"{NAME}, line 3: last_funding_rate 'abc' is not a number",
    ),
    "rate not finite": (
        ["1704067200000,8,nan"],
        f"{NAME}, line 2: last_funding_rate 'nan' is not a finite number",
    ),
    "interval not an integer": (
        ["1704067200000,8.5,0.0001"],
        f"{NAME}, line 2: funding_interval_hours '8.5' is not an integer",
    ),
    "interval of zero hours": (
        ["1704067200000,0,0.0001"],
        f"{NAME}, line 2: funding_interval_hours 0 is under one hour",
    ),
    "time repeated": (
        [ROWS[0], ROWS[0]],
        f"{NAME}, line 3: calc_time 1704067200000 (2024-01-01 00:00:00 UTC) does not come after "
        "the previous row's 1704067200000 (2024-01-01 00:00:00 UTC)",
    ),
    "empty line": ([ROWS[0], "", ROWS[1]], f"{NAME}, line 3: empty line"),
}


@pytest.mark.parametrize(("rows", "message"), DAMAGED.values(), ids=DAMAGED.keys())
def test_a_damaged_row_is_an_error_naming_file_and_line(
    tmp_path: Path, rows: list[str], message: str
) -> None:
    path = write_text(tmp_path, rows)

    with pytest.raises(HistoryFileError) as caught:
        read_funding(path)

    assert str(caught.value) == message
    assert caught.value.path == path


def test_a_kline_file_is_not_taken_for_a_funding_file(tmp_path: Path) -> None:
    path = write_text(tmp_path, ["open_time,open,high,low,close", ROWS[0]], header=False)

    with pytest.raises(HistoryFileError, match=rf"^{NAME}, line 1: not a Binance fundingRate"):
        read_funding(path)


def test_a_range_joins_months_and_keeps_only_the_range(tmp_path: Path) -> None:
    # The last day of January and the first of February, in two monthly files.
    fundings = every_8h(FEB_1 - 24 * HOUR, 6)
    write_funding(funding_path(tmp_path, "BTCUSDT", "2024-01"), fundings[:3])
    write_funding(funding_path(tmp_path, "BTCUSDT", "2024-02"), fundings[3:])

    joined = read_funding_range(tmp_path, "BTCUSDT", FEB_1 - 16 * HOUR, FEB_1 + 16 * HOUR)

    assert joined == fundings[1:5]


def test_a_range_reads_binances_archive_in_place_of_a_csv(tmp_path: Path) -> None:
    saved = funding_path(tmp_path, "BTCUSDT", "2024-01")
    write_funding(saved, FIRST_THREE)
    with zipfile.ZipFile(saved.with_suffix(".zip"), "w") as bundle:
        bundle.write(saved, NAME)
    saved.unlink()

    assert read_funding_range(tmp_path, "BTCUSDT", JAN_1, FEB_1) == FIRST_THREE


def test_a_range_never_downloaded_is_none(tmp_path: Path) -> None:
    write_funding(funding_path(tmp_path, "ETHUSDT", "2024-01"), FIRST_THREE)

    assert read_funding_range(tmp_path, "BTCUSDT", JAN_1, FEB_1 + HOUR) is None


def test_a_range_with_one_month_missing_says_which(tmp_path: Path) -> None:
    write_funding(funding_path(tmp_path, "BTCUSDT", "2024-01"), FIRST_THREE)

    with pytest.raises(HistoryFileError, match=r"^BTCUSDT-fundingRate-2024-02.csv: missing from"):
        read_funding_range(tmp_path, "BTCUSDT", JAN_1, FEB_1 + HOUR)


def test_fundings_out_of_order_across_months_are_refused(tmp_path: Path) -> None:
    write_funding(funding_path(tmp_path, "BTCUSDT", "2024-01"), every_8h(FEB_1 - 8 * HOUR, 1))
    write_funding(funding_path(tmp_path, "BTCUSDT", "2024-02"), every_8h(FEB_1 - 8 * HOUR, 1))

    with pytest.raises(HistoryFileError, match=r"^BTCUSDT-fundingRate-2024-02.csv, line 2: "):
        read_funding_range(tmp_path, "BTCUSDT", JAN_1, FEB_1 + HOUR)
