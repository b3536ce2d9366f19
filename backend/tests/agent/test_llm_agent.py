"""The LLM agent end to end: the real `ChatOpenAI` client against a fake OpenAI-compatible server
on loopback. Whatever the model sends, each symbol ends with a decision or a HOLD saying why."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Sequence
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
from fakes.openai_server import (
    ErrorReply,
    FakeOpenAIServer,
    Reply,
    StallReply,
    text_reply,
    tool_calls_reply,
)
from pydantic import SecretStr

from alphatransformer.agent.answer import ModelAnswer, complete_answer
from alphatransformer.agent.decision import Action, TradeDecision
from alphatransformer.agent.decision_maker import DecisionRequest
from alphatransformer.agent.llm_agent import ANSWER_TOOL
from alphatransformer.agent.llm_factory import build_decision_maker
from alphatransformer.agent.prompt import prompt_hash
from alphatransformer.config.schema import AgentConfig, AppConfig, LLMConfig
from alphatransformer.database.models import Decision
from alphatransformer.database.repositories import DecisionFilter
from alphatransformer.market.simulated import SimulatedMarket
from alphatransformer.trading.models import Account, MarginType, Position
from alphatransformer.utils.clock import ManualClock

NOW = 1_767_225_600_000  # 2026-01-01 00:00 UTC
SYMBOLS = ("BTCUSDT", "ETHUSDT", "SOLUSDT")
INPUT_PRICE, OUTPUT_PRICE = Decimal("0.15"), Decimal("0.60")  # USD per million tokens

OPEN_BTC: dict[str, Any] = {
    "symbol": "BTCUSDT",
    "action": "open_long",
    "quantity": 0.01,
    "leverage": 3,
    "stop_loss": 93000.0,
    "take_profit": 105000.0,
    "invalidation_condition": "4h close below EMA50",
    "confidence": 0.72,
    "risk_usd": 42.0,
    "reasoning": "4h trend up, 3m momentum turning.",
}
SHORT_ETH: dict[str, Any] = {
    "symbol": "ETHUSDT",
    "action": "open_short",
    "notional_usd": 1500.0,
    "leverage": 2,
    "stop_loss": 4800.0,
    "take_profit": 4300.0,
    "confidence": 0.61,
    "reasoning": "stretched RSI.",
}
HOLD_SOL: dict[str, Any] = {"symbol": "SOLUSDT", "action": "hold", "confidence": 0.5}


def answer_reply(
    *items: dict[str, Any], prompt_tokens: int = 1900, completion_tokens: int = 350
) -> Reply:
    return tool_calls_reply(
        (ANSWER_TOOL, {"decisions": list(items)}),
        prompt_tokens=prompt_tokens,
        completion_tokens=completion_tokens,
    )


@pytest.fixture
async def server() -> AsyncIterator[FakeOpenAIServer]:
    async with FakeOpenAIServer() as server:
        yield server


@pytest.fixture
def market() -> SimulatedMarket:
    market = SimulatedMarket(SYMBOLS, AppConfig().market, ManualClock(NOW))
    market.load_history()
    return market


def _config(server: FakeOpenAIServer, timeout: float = 30.0, **agent: Any) -> AppConfig:
    llm = LLMConfig(
        model="fake-gpt",
        base_url=server.base_url,
        api_key=SecretStr("sk-test"),
        timeout_seconds=timeout,
        max_retries=0,
        input_price_per_mtok=INPUT_PRICE,
        output_price_per_mtok=OUTPUT_PRICE,
    )
    return AppConfig(symbols=SYMBOLS, agent=AgentConfig(provider="openai", llm=llm, **agent))


def _request(market: SimulatedMarket, *positions: Position) -> DecisionRequest:
    account = Account(
        "USDT", Decimal("10000"), Decimal("0"), Decimal("10000"), Decimal("0"), positions
    )
    return DecisionRequest("cycle-1", NOW, SYMBOLS, market, account)


async def _decide(
    server: FakeOpenAIServer, market: SimulatedMarket, *replies: Reply, **config: Any
) -> ModelAnswer:
    server.script(*replies)
    return await build_decision_maker(_config(server, **config)).decide(_request(market))


def _by_symbol(decisions: Sequence[TradeDecision]) -> dict[str, TradeDecision]:
    return {d.symbol: d for d in decisions}


async def test_agent_calls_a_tool_then_decides_and_sums_token_usage(
    server: FakeOpenAIServer, market: SimulatedMarket
) -> None:
    look = tool_calls_reply(
        ("get_indicators", {"symbol": "BTCUSDT", "interval": "4h"}),
        prompt_tokens=1500,
        completion_tokens=40,
    )
    answer = await _decide(server, market, look, answer_reply(OPEN_BTC, SHORT_ETH, HOLD_SOL))

    assert answer.error is None
    assert answer.decisions == [TradeDecision.model_validate(d) for d in (OPEN_BTC, SHORT_ETH)] + [
        TradeDecision(symbol="SOLUSDT", action=Action.HOLD, confidence=0.5)
    ]
    assert answer.model == "fake-gpt"
    assert (answer.input_tokens, answer.output_tokens) == (1500 + 1900, 40 + 350)
    assert answer.cost_usd == (3400 * INPUT_PRICE + 390 * OUTPUT_PRICE) / 1_000_000
    first, second = server.requests
    system, user = (m["content"] for m in first["messages"])
    assert answer.prompt_hash == prompt_hash(system, user)
    assert first["model"] == "fake-gpt"
    assert first["tool_choice"] == "required"
    assert {t["function"]["name"] for t in first["tools"]} >= {
        "get_klines",
        "get_indicators",
        "get_account",
        "get_positions",
        ANSWER_TOOL,
    }
    tool_result = second["messages"][-1]
    assert tool_result["role"] == "tool"
    assert json.loads(tool_result["content"])["interval"] == "4h"
    assert answer.transcript is not None
    assert [m["type"] for m in answer.transcript] == ["system", "human", "ai", "tool", "ai", "tool"]
    json.dumps(answer.transcript, allow_nan=False)


@pytest.mark.parametrize(
    ("bad_fields", "reason"),
    [
        ({"confidence": 7}, "confidence: Input should be less than or equal to 1 (got 7"),
        ({"leverage": 500}, "leverage: Input should be less than or equal to 125 (got 500)"),
        ({"quantity": float("nan")}, "quantity: Input should be a finite number"),
        ({"action": "buy"}, "action: Input should be 'open_long', 'open_short', 'close' or"),
        ({"quantity": None}, "open_long needs quantity or notional_usd"),
        ({"confidence": None}, "confidence: Field required"),
    ],
)
async def test_an_invalid_decision_holds_its_symbol_and_keeps_the_others(
    server: FakeOpenAIServer,
    market: SimulatedMarket,
    bad_fields: dict[str, Any],
    reason: str,
) -> None:
    answer = await _decide(server, market, answer_reply({**OPEN_BTC, **bad_fields}, SHORT_ETH))

    decisions = _by_symbol(answer.decisions)
    assert decisions["BTCUSDT"].action is Action.HOLD
    assert decisions["BTCUSDT"].confidence == 0
    assert reason in decisions["BTCUSDT"].reasoning
    assert decisions["ETHUSDT"] == TradeDecision.model_validate(SHORT_ETH)
    assert answer.error is None
    assert len(answer.notes) == 1
    assert answer.notes[0].startswith("BTCUSDT: invalid decision from the model")
    json.dumps(answer.transcript, allow_nan=False)  # a NaN from the model is stored as null


async def test_unknown_symbol_is_passed_through_for_the_risk_gate(
    server: FakeOpenAIServer, market: SimulatedMarket
) -> None:
    invented = {**OPEN_BTC, "symbol": "FOOUSDT"}
    answer = await _decide(server, market, answer_reply(OPEN_BTC, invented, SHORT_ETH))

    completed = complete_answer(answer, SYMBOLS)
    assert [d.symbol for d in completed] == ["BTCUSDT", "ETHUSDT", "SOLUSDT", "FOOUSDT"]
    assert completed[3].action is Action.OPEN_LONG
    assert completed[2].action is Action.HOLD
    assert completed[2].reasoning == "the model gave no decision for this symbol"


async def test_a_schema_error_is_handed_back_once_and_the_fix_is_used(
    server: FakeOpenAIServer, market: SimulatedMarket
) -> None:
    wrong = tool_calls_reply((ANSWER_TOOL, {"orders": [OPEN_BTC]}), prompt_tokens=1800)
    answer = await _decide(server, market, wrong, answer_reply(OPEN_BTC, SHORT_ETH, HOLD_SOL))

    assert answer.error is None
    assert _by_symbol(answer.decisions)["BTCUSDT"].action is Action.OPEN_LONG
    feedback = server.requests[1]["messages"][-1]
    assert feedback["role"] == "tool"
    assert "decisions" in feedback["content"]
    assert "Field required" in feedback["content"]
    assert f"Call {ANSWER_TOOL} again" in feedback["content"]
    assert answer.input_tokens == 1800 + 1900


async def test_each_cycle_of_one_decision_maker_gets_its_own_retry_and_call_budget(
    server: FakeOpenAIServer, market: SimulatedMarket
) -> None:
    """The agent is compiled once per decision maker: budgets must still be per cycle."""
    wrong = tool_calls_reply((ANSWER_TOOL, {"orders": [OPEN_BTC]}))
    fixed = answer_reply(OPEN_BTC, SHORT_ETH, HOLD_SOL)
    server.script(wrong, fixed, wrong, fixed)
    maker = build_decision_maker(_config(server, max_model_calls=2))

    first = await maker.decide(_request(market))
    second = await maker.decide(_request(market))

    for answer in (first, second):
        assert answer.error is None
        assert _by_symbol(answer.decisions)["BTCUSDT"].action is Action.OPEN_LONG
    assert len(server.requests) == 4


async def test_a_second_schema_error_holds_every_symbol(
    server: FakeOpenAIServer, market: SimulatedMarket
) -> None:
    wrong = tool_calls_reply((ANSWER_TOOL, {"decisions": "all in on BTC"}))
    answer = await _decide(server, market, wrong, wrong)

    assert answer.decisions == []
    assert answer.error is not None
    assert answer.error.startswith("the final answer failed its schema again")
    assert len(server.requests) == 2
    assert answer.input_tokens == 2 * 1200  # both calls are paid for, the failed one too
    assert answer.transcript is not None
    assert answer.transcript[-1]["type"] == "ai"  # the rejected answer is kept for the audit
    _assert_all_hold(answer, "failed its schema again")


@pytest.mark.parametrize(
    ("replies", "config", "reason"),
    [
        pytest.param(
            [text_reply("BTC looks strong, I would buy some.")],
            {},
            f"ended without calling {ANSWER_TOOL}; its last words: 'BTC looks strong",
            id="plain-text",
        ),
        pytest.param(
            [tool_calls_reply((ANSWER_TOOL, '{"decisions": [{"symbol": "BTC'))],
            {},
            f"the model's {ANSWER_TOOL} call had unreadable arguments",
            id="malformed-json",
        ),
        pytest.param([ErrorReply(500)], {}, "Error code: 500", id="http-500"),
        pytest.param([StallReply()], {"timeout": 0.3}, "timed out", id="stall"),
        pytest.param(
            [tool_calls_reply(("get_account", {}))] * 3,
            {"max_model_calls": 2},
            "model call limit reached: 2 of 2",
            id="endless-tool-calls",
        ),
    ],
)
async def test_a_run_without_an_answer_holds_every_symbol_with_the_reason(
    server: FakeOpenAIServer,
    market: SimulatedMarket,
    replies: list[Reply],
    config: dict[str, Any],
    reason: str,
) -> None:
    answer = await _decide(server, market, *replies, **config)

    assert answer.decisions == []
    _assert_all_hold(answer, reason)
    assert answer.transcript is not None
    assert [m["type"] for m in answer.transcript[:2]] == ["system", "human"]


async def test_the_call_limit_stops_the_model_before_the_next_call(
    server: FakeOpenAIServer, market: SimulatedMarket
) -> None:
    endless = [tool_calls_reply(("get_account", {}))] * 5
    answer = await _decide(server, market, *endless, max_model_calls=3)

    assert len(server.requests) == 3
    assert answer.error is not None
    assert "model call limit reached: 3 of 3" in answer.error


def _assert_all_hold(answer: ModelAnswer, reason: str) -> None:
    completed = complete_answer(answer, SYMBOLS)
    assert [d.action for d in completed] == [Action.HOLD] * len(SYMBOLS)
    for decision in completed:
        assert reason in decision.reasoning


class OpeningHistory:
    """The decision history: BTC's long was opened by decision 41, with its exit plan."""

    def __init__(self) -> None:
        self.filters: list[DecisionFilter] = []

    async def __call__(self, filters: DecisionFilter, limit: int) -> Sequence[Decision]:
        self.filters.append(filters)
        moment = datetime(2025, 12, 31, tzinfo=UTC)
        opening = Decision(
            id=41,
            cycle_id="c41",
            created_at=moment,
            updated_at=moment,
            symbol="BTCUSDT",
            action="open_long",
            status="executed",
            quantity=Decimal("0.01"),
            stop_loss=Decimal("91000"),
            take_profit=Decimal("104000"),
            invalidation_condition="4h close below 92000",
            confidence=0.7,
            reasoning="",
            model="fake-gpt",
        )
        return [opening] if filters.symbol == "BTCUSDT" else []


async def test_open_positions_show_the_exit_plan_of_the_decision_that_opened_them(
    server: FakeOpenAIServer, market: SimulatedMarket
) -> None:
    history = OpeningHistory()
    position = Position(
        symbol="BTCUSDT",
        quantity=Decimal("0.01"),
        entry_price=Decimal("95000"),
        mark_price=Decimal("97000"),
        unrealized_pnl=Decimal("20"),
        leverage=3,
        margin_type=MarginType.ISOLATED,
        margin=Decimal("316.67"),
        liquidation_price=Decimal("64000"),
    )
    server.script(answer_reply(HOLD_SOL))
    maker = build_decision_maker(_config(server), recent_decisions=history)
    await maker.decide(_request(market, position))

    first_message = server.requests[0]["messages"][1]["content"]
    assert (
        "BTCUSDT long 0.01 @ 95000, pnl +20.00, 3x, liq 64000, stop 91000, target 104000, "
        "invalidation: 4h close below 92000"
    ) in first_message
    assert history.filters == [DecisionFilter(symbol="BTCUSDT", status="executed")]
    assert "get_recent_decisions" in {t["function"]["name"] for t in server.requests[0]["tools"]}
