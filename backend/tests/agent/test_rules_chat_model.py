"""The offline rules model driving the agent graph: the same decisions as the strategy itself,
through the same tool calls and final answer an LLM would make, at no cost."""

from __future__ import annotations

from decimal import Decimal

import pytest

from alphatransformer.agent import rules_strategy
from alphatransformer.agent.decision_maker import DecisionRequest
from alphatransformer.agent.llm_agent import ANSWER_TOOL
from alphatransformer.agent.llm_factory import build_decision_maker
from alphatransformer.agent.rules_chat_model import RULES_MODEL_NAME, RulesChatModel
from alphatransformer.agent.tools import CycleContext, cycle_context
from alphatransformer.config.schema import AppConfig
from alphatransformer.market.simulated import SimulatedMarket
from alphatransformer.market.types import Interval
from alphatransformer.trading.models import Account, MarginType, Position
from alphatransformer.utils.clock import ManualClock

NOW = 1_767_225_600_000  # 2026-01-01 00:00 UTC
SYMBOLS = ("BTCUSDT", "ETHUSDT", "SOLUSDT", "BNBUSDT", "XRPUSDT", "DOGEUSDT")
CONFIG = AppConfig(symbols=SYMBOLS)


def _request(hours: int) -> DecisionRequest:
    now = NOW + hours * 3_600_000
    market = SimulatedMarket(SYMBOLS, CONFIG.market, ManualClock(now))
    market.load_history()
    short_eth = Position(
        symbol="ETHUSDT",
        quantity=Decimal("-1.5"),
        entry_price=Decimal("3300"),
        mark_price=Decimal(repr(market.latest_price("ETHUSDT"))),
        unrealized_pnl=Decimal("-40"),
        leverage=3,
        margin_type=MarginType.ISOLATED,
        margin=Decimal("1650"),
        liquidation_price=None,
    )
    account = Account(
        "USDT", Decimal("10000"), Decimal("-40"), Decimal("8310"), Decimal("1650"), (short_eth,)
    )
    return DecisionRequest(f"cycle-{hours}", now, SYMBOLS, market, account)


@pytest.mark.parametrize("hours", [0, 6, 30])
async def test_agent_graph_decides_exactly_what_the_strategy_decides(hours: int) -> None:
    request = _request(hours)
    answer = await build_decision_maker(CONFIG).decide(request)
    market, account = request.market, request.account
    direct = [
        rules_strategy.decide(
            symbol,
            short=market.arrays(symbol, Interval.M3),
            long=market.arrays(symbol, Interval.H4),
            price=market.latest_price(symbol),
            position=account.position(symbol),
            equity=account.equity,
            config=CONFIG.agent.rules,
        )
        for symbol in SYMBOLS
    ]
    assert answer.error is None
    assert answer.decisions == direct
    assert any(d.action.opens for d in direct)  # sized entries survive the trip, not only holds


async def test_rules_model_answers_in_one_turn_for_free() -> None:
    answer = await build_decision_maker(CONFIG).decide(_request(0))
    transcript = answer.transcript
    assert transcript is not None
    assert [m["type"] for m in transcript] == ["system", "human", "ai", "tool"]
    final_call = transcript[2]["data"]["tool_calls"]
    assert [c["name"] for c in final_call] == [ANSWER_TOOL]
    assert len(final_call[0]["args"]["decisions"]) == len(SYMBOLS)
    assert answer.model == RULES_MODEL_NAME
    assert (answer.input_tokens, answer.output_tokens, answer.cost_usd) == (0, 0, Decimal(0))
    assert answer.prompt_hash is not None


async def test_rules_model_answers_only_through_the_answer_tool() -> None:
    request = _request(0)
    context = CycleContext(SYMBOLS, request.market, request.account, Interval.M3, Interval.H4)
    model = RulesChatModel(rules=CONFIG.agent.rules)
    with cycle_context(context), pytest.raises(ValueError, match=f"through the {ANSWER_TOOL}"):
        await model.ainvoke("What now?")
