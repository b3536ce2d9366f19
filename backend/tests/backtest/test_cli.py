"""`alphatransformer backtest`, `arena` and `data download` as a person runs them: real
processes, exit codes, the files they leave behind."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from pathlib import Path

from backtest.test_arena import script
from fakes.binance_server import FakeBinance, generate_funding_rates, generate_klines
from fakes.openai_server import FakeOpenAIServer

from alphatransformer.backtest.arena import LEADERBOARD_JSON
from alphatransformer.backtest.report import PLOT_FILE, REPORT_FILE, TRADES_FILE
from alphatransformer.market.types import Interval

JANUARY = 1_704_067_200_000  # 2024-01-01 00:00 UTC


async def cli(*args: str, cwd: Path) -> tuple[int, str, str]:
    """Run the command in a child process without blocking this loop (fake servers run on it)."""
    environment = {k: v for k, v in os.environ.items() if not k.startswith(("ALPHA_", "BINANCE_"))}
    environment["COLUMNS"] = "200"
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "alphatransformer",
        *args,
        cwd=cwd,
        env=environment,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(), timeout=300)
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()


def write_config(folder: Path, extra: str = "") -> Path:
    """Ten days of warm-up (the least allowed) and a database of the test's own."""
    path = folder / "agent.yaml"
    path.write_text(
        "market:\n  history_candles: 60\n"
        f"database:\n  url: sqlite+aiosqlite:///{folder}/cli.db\n{extra}",
        encoding="utf-8",
    )
    return path


def the_report(folder: Path) -> dict[str, object]:
    [run] = (folder / "reports").iterdir()
    assert (run / PLOT_FILE).read_bytes().startswith(b"\x89PNG")
    assert (run / TRADES_FILE).exists()
    report: dict[str, object] = json.loads((run / REPORT_FILE).read_text())
    return report


async def test_a_month_of_three_minute_candles_backtests_from_the_cli_and_repeats_exactly(
    tmp_path: Path, history: Path
) -> None:
    config = write_config(tmp_path)
    runs = [tmp_path / "first", tmp_path / "second"]
    checksums = []
    for folder in runs:
        code, out, err = await cli(
            "backtest",
            *("--config", str(config), "--history", str(history)),
            *("--start", "2024-01-11", "--end", "2024-02-10", "--every", "4h"),
            *("--reports", str(folder / "reports")),
            cwd=tmp_path,
        )
        assert code == 0, err
        report = the_report(folder)
        assert report["cycles"] == 180
        assert str(report["trades_csv_sha256"]) in out
        checksums.append(report["trades_csv_sha256"])

    assert checksums[0] == checksums[1]
    assert "100%" in err


async def test_a_bad_flag_is_a_configuration_error_with_exit_code_2(
    tmp_path: Path, history: Path
) -> None:
    code, _, err = await cli(
        "backtest",
        *("--config", str(write_config(tmp_path)), "--history", str(history)),
        *("--start", "2024-01-11", "--end", "2024-01-12", "--symbol", "btcusdt"),
        cwd=tmp_path,
    )

    assert code == 2
    assert "symbols" in err
    assert "Traceback" not in err


async def test_missing_history_says_what_to_download_with_exit_code_1(tmp_path: Path) -> None:
    code, _, err = await cli(
        "backtest",
        *("--config", str(write_config(tmp_path)), "--history", str(tmp_path / "none")),
        *("--start", "2024-01-11", "--end", "2024-01-12"),
        cwd=tmp_path,
    )

    assert code == 1
    assert "download it first" in err
    assert "Traceback" not in err


async def test_an_arena_from_the_cli_reruns_from_the_model_cache(
    tmp_path: Path, history: Path
) -> None:
    config = write_config(tmp_path)
    outputs = []
    for run in ("first", "second"):
        async with FakeOpenAIServer() as server:
            server.script(*(script() if run == "first" else ()))
            entrant = tmp_path / f"{run}-gpt.yaml"
            entrant.write_text(
                "agent:\n  provider: openai\n  llm:\n    model: fake-gpt\n"
                f"    base_url: {server.base_url}\n    api_key: sk-test\n    max_retries: 0\n",
                encoding="utf-8",
            )
            code, out, err = await cli(
                "arena",
                *("--config", str(config), "--history", str(history)),
                *("--start", "2024-01-11", "--end", "2024-01-12", "--every", "6h"),
                *("--entrant", f"gpt={entrant}", "--reports", str(tmp_path / run)),
                *("--model-cache", str(tmp_path / "cache.sqlite")),
                cwd=tmp_path,
            )
            assert code == 0, err
            outputs.append((len(server.requests), out))

    assert [calls for calls, _ in outputs] == [5, 0]
    [arena] = (tmp_path / "second").iterdir()
    standings = json.loads((arena / LEADERBOARD_JSON).read_text())
    assert {row["name"] for row in standings} == {"rules", "buy-and-hold", "gpt"}
    assert "buy-and-hold" in outputs[1][1]
    assert (arena / PLOT_FILE).read_bytes().startswith(b"\x89PNG")


async def test_an_arena_whose_llm_never_answered_ranks_it_last_and_exits_with_1(
    tmp_path: Path, history: Path
) -> None:
    async with FakeOpenAIServer() as server:  # nothing scripted: every call fails with a 500
        entrant = tmp_path / "mute.yaml"
        entrant.write_text(
            "agent:\n  provider: openai\n  llm:\n    model: fake-gpt\n"
            f"    base_url: {server.base_url}\n    api_key: sk-test\n    max_retries: 0\n",
            encoding="utf-8",
        )
        code, out, err = await cli(
            "arena",
            *("--config", str(write_config(tmp_path)), "--history", str(history)),
            *("--start", "2024-01-11", "--end", "2024-01-12", "--every", "6h"),
            *("--entrant", f"mute={entrant}", "--reports", str(tmp_path / "reports")),
            "--no-model-cache",
            cwd=tmp_path,
        )

    assert code == 1
    assert "never decided, every model call failed: mute (4 cycles)" in err
    assert "Traceback" not in err
    table = out.splitlines()
    [mute] = [line for line in table if " mute " in line]
    assert mute.split()[1] == "3", "ranked third of three"
    assert "4/4" in mute, "four model errors in four cycles"
    [arena] = (tmp_path / "reports").iterdir()
    report = json.loads((arena / "mute" / REPORT_FILE).read_text())
    assert (report["model_usage"]["cycles"], report["model_usage"]["model_errors"]) == (4, 4)


async def test_data_download_fetches_months_then_skips_them(tmp_path: Path) -> None:
    async with FakeBinance() as fake:
        fake.set_klines(generate_klines("BTCUSDT", Interval.H1, JANUARY, 31 * 24))
        fake.funding_rates["BTCUSDT"] = generate_funding_rates("BTCUSDT", JANUARY, 31 * 3)
        args = (
            "data",
            "download",
            *("--symbol", "BTCUSDT", "--interval", "1h"),
            *("--start", "2024-01-01", "--end", "2024-02-01"),
            *("--root", str(tmp_path / "history"), "--base-url", fake.rest_url),
        )
        first = await cli(*args, cwd=tmp_path)
        second = await cli(*args, cwd=tmp_path)

    assert first[0] == 0, first[2]
    assert "BTCUSDT candles: fetched 2024-01 (744)" in first[1]
    assert "BTCUSDT funding rates: fetched 2024-01 (93)" in first[1]
    # Binance serves the last 30 days of open interest only: January 2024 is left to its archives.
    assert (
        "BTCUSDT open interest: nothing fetched; not served over REST: 31 from 2024-01-01 to "
        "2024-01-31" in first[1]
    )
    assert "to replay the days before 2024-02-01, drop Binance Vision's daily metrics" in first[1]
    assert second[0] == 0, second[2]
    assert "BTCUSDT candles: nothing fetched; already complete: 2024-01" in second[1]
    assert "BTCUSDT funding rates: nothing fetched; already complete: 2024-01" in second[1]
    assert (tmp_path / "history" / "BTCUSDT" / "1h" / "BTCUSDT-1h-2024-01.csv").exists()
    funding = tmp_path / "history" / "BTCUSDT" / "fundingRate" / "BTCUSDT-fundingRate-2024-01.csv"
    assert funding.read_text().startswith("calc_time,funding_interval_hours,last_funding_rate\n")
