"""Open interest in backtests: samples downloaded beside the candles are replayed, the agent's
prompt at each decision shows the last one stamped at or before it (never a later one), and a
backtest without them, or with files that start late, still runs but says so in its log and its
report."""

from __future__ import annotations

import json
import logging
import re
from pathlib import Path
from typing import Any

import pytest
from backtest.replay_data import DATA_END, DATA_START, DAY, HOUR, SEEDS, START, config_for, period
from backtest.replay_data import series as candles
from fakes.openai_server import FakeOpenAIServer, tool_calls_reply
from pydantic import SecretStr

from alphatransformer.agent.llm_agent import ANSWER_TOOL
from alphatransformer.agent.prompt import OPEN_INTEREST_DIGITS, number
from alphatransformer.backtest.downloads import write_history
from alphatransformer.backtest.period import ReplayPeriod
from alphatransformer.backtest.report import REPORT_FILE, OpenInterestRecord
from alphatransformer.backtest.runner import (
    ModelOptions,
    RunResult,
    buy_and_hold_entrant,
    configured_entrant,
    run_entrants,
    save_run,
)
from alphatransformer.config.schema import AgentConfig, AppConfig, LLMConfig
from alphatransformer.market.history_files import (
    METRICS_PERIOD,
    OpenInterestStat,
    days,
    open_interest_path,
    write_open_interest,
)

BTC = "BTCUSDT"
M5 = 300_000
OI = re.compile(r"OI (\S+) \(avg")
DECISIONS = 6  # hourly, 00:00 to 05:00 on 11 January


def write_btc_market(root: Path) -> Path:
    write_history(root, candles(BTC, DATA_START, DATA_END, SEEDS[BTC]))
    return root


def contracts(time_ms: int) -> float:
    """The open interest stamped `time_ms`: one more contract every 5 minutes from 1,000, so
    each sample reads differently in the prompt's four significant digits."""
    return 1000.0 + (time_ms - DATA_START) // M5


def write_open_interest_days(root: Path, start_ms: int, end_ms: int) -> None:
    """A file a day of 5-minute samples, as `data download` saves them."""
    for day in days(start_ms, end_ms):
        stats = [
            OpenInterestStat(BTC, time, contracts(time), contracts(time) * 42_000)
            for time in range(day.start_ms, day.end_ms, M5)
        ]
        write_open_interest(open_interest_path(root, BTC, day.label), stats)


def llm_config(tmp_path: Path, server: FakeOpenAIServer) -> AppConfig:
    llm = LLMConfig(
        model="fake-gpt", base_url=server.base_url, api_key=SecretStr("sk-test"), max_retries=0
    )
    return config_for(tmp_path, symbols=[BTC], agent=AgentConfig(provider="openai", llm=llm))


def hold() -> Any:
    decision = {"symbol": BTC, "action": "hold", "confidence": 0.5}
    return tool_calls_reply((ANSWER_TOOL, {"decisions": [decision]}))


def shown_open_interest(request: dict[str, Any]) -> str:
    """What the prompt of one model call says BTC's open interest is."""
    text = "\n".join(str(message.get("content")) for message in request["messages"])
    [shown] = OI.findall(text)
    return str(shown)


async def buy_and_hold(config: AppConfig, replay: ReplayPeriod, run_id: str) -> RunResult:
    [result] = await run_entrants([buy_and_hold_entrant(run_id, config)], [run_id], replay)
    return result


def report(result: RunResult, folder: Path, config: AppConfig, replay: ReplayPeriod) -> Any:
    """The open interest part of the run's `report.json`."""
    saved = save_run(result, folder, config, replay, None)
    return json.loads((saved.folder / REPORT_FILE).read_text())["open_interest"]


def warnings(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [
        record.getMessage()
        for record in caplog.records
        if record.name == "alphatransformer.backtest.period" and record.levelno == logging.WARNING
    ]


async def test_the_prompt_shows_the_last_open_interest_whose_period_ended_by_each_decision(
    tmp_path: Path,
) -> None:
    root = write_btc_market(tmp_path / "history")
    # The warm-up's first days are older than Binance serves: no files, and none needed.
    write_open_interest_days(root, DATA_START + 3 * DAY, START + DAY)
    replay = period(root, days=DECISIONS / 24)

    async with FakeOpenAIServer() as server:
        server.script(*(hold() for _ in range(DECISIONS)))
        config = llm_config(tmp_path, server)
        entrant = configured_entrant("llm", config, ModelOptions())
        [result] = await run_entrants([entrant], ["llm-open-interest"], replay)

    # Each sample is shown from the end of its 5-minute period: at a decision at T, the one
    # stamped T - 5 min.
    times = [START + index * HOUR - METRICS_PERIOD.ms for index in range(DECISIONS)]
    assert [shown_open_interest(request) for request in server.requests] == [
        number(contracts(time), OPEN_INTEREST_DIGITS) for time in times
    ]
    # 00:00 on the 11th: sample 2,879 (23:55, 3,879 contracts); the one stamped 00:00 itself
    # (3,880) only from 00:05.
    assert shown_open_interest(server.requests[0]) == "3879"
    assert result.record.open_interest == OpenInterestRecord((), {})
    assert report(result, tmp_path / "report", config, replay) == {"replayed": True}


async def test_a_backtest_without_metrics_files_runs_and_says_open_interest_was_left_out(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    root = write_btc_market(tmp_path / "history")
    config = config_for(tmp_path, symbols=[BTC])
    replay = period(root, days=0.25)

    with caplog.at_level(logging.WARNING, logger="alphatransformer.backtest"):
        result = await buy_and_hold(config, replay, "bh-without-open-interest")

    assert result.record.open_interest == OpenInterestRecord((BTC,), {})
    assert [w for w in warnings(caplog) if "metrics" in w] == [
        f"no metrics files for BTCUSDT in {root}: open interest is not replayed for them and the "
        "agent sees none (alphatransformer data download fetches the last 30 days; Binance's "
        "daily metrics archives, in SYMBOL/metrics/, hold older ones)"
    ]
    assert report(result, tmp_path / "without", config, replay) == {
        "replayed": False,
        "not_replayed_for": [BTC],
        "note": "no metrics files for BTCUSDT: the agent was shown no open interest for them "
        "(alphatransformer data download fetches the last 30 days; Binance's daily metrics "
        "archives, in SYMBOL/metrics/, hold older ones)",
    }


async def test_files_starting_after_the_first_decision_are_replayed_from_then_and_reported(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    root = write_btc_market(tmp_path / "history")
    write_open_interest_days(root, START + DAY, START + 2 * DAY)
    config = config_for(tmp_path, symbols=[BTC])
    replay = period(root, days=1.5)  # into the 12th, where the files start

    with caplog.at_level(logging.WARNING, logger="alphatransformer.backtest"):
        result = await buy_and_hold(config, replay, "bh-late-open-interest")

    # The first sample, stamped at midnight, is shown from the end of its period.
    assert result.record.open_interest == OpenInterestRecord((), {BTC: START + DAY + 300_000})
    assert [w for w in warnings(caplog) if "open interest" in w] == [
        "open interest files for BTCUSDT (from 2024-01-12 00:05:00+00:00) start after the first "
        "decision at 2024-01-11 00:00:00+00:00: the agent sees no open interest for them before"
    ]
    assert report(result, tmp_path / "late", config, replay) == {
        "replayed": True,
        "starts_after_the_first_decision": {BTC: "2024-01-12T00:05:00.000+00:00"},
    }
