"""The arena: the rules model, buy-and-hold and a scripted LLM (the real `ChatOpenAI` against the
fake OpenAI-compatible server, through the cache) trade one replayed market side by side."""

from __future__ import annotations

import json
from dataclasses import replace
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from backtest.replay_data import DATA_START, SEEDS, START, SYMBOLS, config_for, period, series
from fakes.openai_server import FakeOpenAIServer, Reply, tool_calls_reply
from pydantic import SecretStr

from alphatransformer.agent.llm_agent import ANSWER_TOOL
from alphatransformer.backtest.arena import (
    BASELINES,
    LEADERBOARD_CSV,
    LEADERBOARD_JSON,
    ArenaOutcome,
    Standing,
    arena_entrants,
    ranked,
    run_arena,
    standing,
)
from alphatransformer.backtest.model_cache import ModelCache
from alphatransformer.backtest.report import PLOT_FILE, RunRecord
from alphatransformer.backtest.runner import ModelOptions
from alphatransformer.config.schema import AgentConfig, AppConfig, LLMConfig
from alphatransformer.database.repositories import UsageTotals
from alphatransformer.market.types import Interval
from alphatransformer.trading.performance import LlmUsage, performance

INPUT_PRICE, OUTPUT_PRICE = Decimal("0.15"), Decimal("0.60")  # USD per million tokens


def scripted_llm(server: FakeOpenAIServer) -> AppConfig:
    llm = LLMConfig(
        model="fake-gpt",
        base_url=server.base_url,
        api_key=SecretStr("sk-test"),
        max_retries=0,
        input_price_per_mtok=INPUT_PRICE,
        output_price_per_mtok=OUTPUT_PRICE,
    )
    return AppConfig(agent=AgentConfig(provider="openai", llm=llm))


def answer(*decisions: dict[str, Any]) -> Reply:
    return tool_calls_reply((ANSWER_TOOL, {"decisions": list(decisions)}), prompt_tokens=2000)


def script() -> list[Reply]:
    """Look at BTC's indicators, go long BTC (stop 3 % below, target 3 % above), then hold."""
    price = series("BTCUSDT", DATA_START, START, SEEDS["BTCUSDT"])[-1].close
    holds = [{"symbol": symbol, "action": "hold", "confidence": 0.5} for symbol in SYMBOLS]
    long_btc = {
        "symbol": "BTCUSDT",
        "action": "open_long",
        "notional_usd": 2000.0,
        "leverage": 2,
        "stop_loss": round(price * 0.97, 1),
        "take_profit": round(price * 1.03, 1),
        "invalidation_condition": "4h close below EMA50",
        "confidence": 0.8,
        "reasoning": "scripted",
    }
    return [
        tool_calls_reply(
            ("get_indicators", {"symbol": "BTCUSDT", "interval": "4h"}), prompt_tokens=2000
        ),
        answer(long_btc, *holds[1:]),
        *(answer(*holds) for _ in range(3)),
    ]


async def arena(
    tmp_path: Path, history: Path, server: FakeOpenAIServer, cache: Path, arena_id: str
) -> ArenaOutcome:
    replay = period(history, days=1, every=Interval.H6)  # four cycles
    options = ModelOptions(cache=ModelCache(cache))
    try:
        return await run_arena(
            config_for(tmp_path),
            [("scripted", scripted_llm(server))],
            replay,
            options,
            arena_id=arena_id,
            reports=tmp_path / "reports",
        )
    finally:
        assert options.cache is not None
        options.cache.close()


def without_run_id(rows: list[Standing]) -> list[Standing]:
    return [replace(row, run_id="") for row in rows]


async def test_an_arena_ranks_the_baselines_and_an_llm_and_reruns_without_model_calls(
    tmp_path: Path, history: Path
) -> None:
    cache = tmp_path / "model_cache.sqlite"
    async with FakeOpenAIServer() as server:
        server.script(*script())
        first = await arena(tmp_path, history, server, cache, "arena-first")
        calls_first_run = len(server.requests)
    async with FakeOpenAIServer() as offline:  # an empty script: any call would fail
        second = await arena(tmp_path, history, offline, cache, "arena-second")

    assert calls_first_run == 5
    assert offline.requests == []
    assert {row.name for row in first.standings} == {*BASELINES, "scripted"}
    assert without_run_id(first.standings) == without_run_id(second.standings)
    assert [r.checksum for r in first.runs] == [r.checksum for r in second.runs]
    by_name = {row.name: row for row in first.standings}
    assert by_name["scripted"].model == "fake-gpt"
    assert by_name["scripted"].trades == 1, "the long BTC, closed when the replay ends"
    assert (
        by_name["scripted"].cost_usd == (5 * 2000 * INPUT_PRICE + 5 * 80 * OUTPUT_PRICE) / 1_000_000
    )
    assert by_name["buy-and-hold"].trades == len(SYMBOLS)
    assert by_name["rules"].cost_usd == 0
    scripted = {r.result.name: r.result for r in second.runs}["scripted"]
    assert scripted.cache_stats is not None
    assert (scripted.cache_stats.hits, scripted.cache_stats.misses) == (5, 0)


async def test_the_leaderboard_is_written_best_first(tmp_path: Path, history: Path) -> None:
    async with FakeOpenAIServer() as server:
        server.script(*script())
        outcome = await arena(tmp_path, history, server, tmp_path / "cache.sqlite", "arena-1")

    rows = json.loads((outcome.folder / LEADERBOARD_JSON).read_text())
    returns = [row["total_return"] for row in rows]
    assert returns == sorted(returns, reverse=True)
    assert [row["name"] for row in rows] == [row.name for row in outcome.standings]
    csv_lines = (outcome.folder / LEADERBOARD_CSV).read_text().splitlines()
    assert csv_lines[0].startswith("name,model,run_id,total_return,sharpe,max_drawdown")
    assert len(csv_lines) == 4
    for name in (*BASELINES, "scripted"):
        assert (outcome.folder / name / "trades.csv").exists()
    assert (outcome.folder / PLOT_FILE).read_bytes().startswith(b"\x89PNG")


def run_with(cycles: int, errors: int) -> RunRecord:
    usage = UsageTotals(cycles, 0, 0, Decimal(0), 0.0, errors)
    return RunRecord(performance([], [], Decimal(0), LlmUsage(0, 0, Decimal(0))), [], [], usage)


@pytest.mark.parametrize(
    ("cycles", "errors", "never_decided"),
    [(4, 4, True), (4, 3, False), (5, 4, False), (0, 0, False)],
    ids=["every-cycle-failed", "one-answer", "answers-then-a-close", "no-cycles"],
)
def test_an_entrant_never_decided_when_its_model_failed_in_every_cycle(
    cycles: int, errors: int, never_decided: bool
) -> None:
    row = standing("gpt", "fake-gpt", "arena-x-gpt", run_with(cycles, errors))

    assert (row.cycles, row.model_errors, row.never_decided) == (cycles, errors, never_decided)


def test_an_entrant_that_never_decided_ranks_after_every_entrant_that_did() -> None:
    def row(name: str, total_return: float | None, cycles: int, errors: int) -> Standing:
        placed = standing(name, None, name, run_with(cycles, errors))
        return replace(placed, total_return=total_return)

    rows = [
        row("mute", 0.0, 10, 10),  # held cash throughout: +0.00 %
        row("flat", None, 10, 0),  # a run without a return
        row("loser", -0.02, 10, 0),
        row("shaky", 0.005, 10, 3),  # three failed calls, ranked by its return
        row("winner", 0.01, 10, 0),
    ]

    assert [r.name for r in ranked(rows)] == ["winner", "shaky", "loser", "flat", "mute"]


@pytest.mark.parametrize(
    ("name", "message"),
    [("Big Model", "1 to 24"), ("rules", "baseline"), ("x" * 25, "1 to 24")],
    ids=["spaces", "baseline-name", "too-long"],
)
def test_an_entrant_needs_a_name_fit_for_a_run_id(tmp_path: Path, name: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        arena_entrants(config_for(tmp_path), [(name, AppConfig())], ModelOptions())


def test_two_entrants_cannot_share_a_name(tmp_path: Path) -> None:
    challengers = [("gpt", AppConfig()), ("gpt", AppConfig())]
    with pytest.raises(ValueError, match="used twice"):
        arena_entrants(config_for(tmp_path), challengers, ModelOptions())
