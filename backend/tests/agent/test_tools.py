"""The agent's tools: what they return, and that bad arguments come back as readable errors."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
from langchain_core.messages import ToolMessage
from langchain_core.tools import BaseTool

from alphatransformer.agent import indicators
from alphatransformer.agent.tools import (
    MAX_KLINES,
    CycleContext,
    build_tools,
    current_cycle,
    cycle_context,
)
from alphatransformer.config.schema import MarketConfig
from alphatransformer.database.models import Decision
from alphatransformer.database.repositories import DecisionFilter
from alphatransformer.market.simulated import SimulatedMarket
from alphatransformer.market.types import Interval
from alphatransformer.trading.models import Account, MarginType, Position
from alphatransformer.utils.clock import ManualClock

NOW = 1_767_225_600_000  # 2026-01-01 00:00 UTC
SYMBOLS = ("BTCUSDT", "ETHUSDT")


class RecordedHistory:
    """A decision history of one row that records how it was queried."""

    def __init__(self) -> None:
        self.queries: list[tuple[DecisionFilter, int]] = []

    async def __call__(self, filters: DecisionFilter, limit: int) -> Sequence[Decision]:
        self.queries.append((filters, limit))
        moment = datetime(2026, 1, 1, tzinfo=UTC)
        return [
            Decision(
                id=7,
                cycle_id="c7",
                created_at=moment,
                updated_at=moment,
                symbol="BTCUSDT",
                action="open_long",
                status="rejected",
                status_reason="confidence 0.4 is below the minimum 0.55",
                rejection_rule="min_confidence",
                quantity=Decimal("0.01"),
                confidence=0.4,
                reasoning="x" * 1000,
                model="m",
            )
        ]


@pytest.fixture
def history() -> RecordedHistory:
    return RecordedHistory()


@pytest.fixture
def market() -> SimulatedMarket:
    market = SimulatedMarket(SYMBOLS, MarketConfig(), ManualClock(NOW))
    market.load_history()
    return market


@pytest.fixture
def tools(market: SimulatedMarket, history: RecordedHistory) -> CycleTools:
    position = Position(
        symbol="ETHUSDT",
        quantity=Decimal("-2"),
        entry_price=Decimal("3500"),
        mark_price=Decimal("3400"),
        unrealized_pnl=Decimal("200"),
        leverage=3,
        margin_type=MarginType.ISOLATED,
        margin=Decimal("2333.33"),
        liquidation_price=Decimal("4600"),
    )
    account = Account(
        "USDT",
        Decimal("10000"),
        Decimal("200"),
        Decimal("7866.67"),
        Decimal("2333.33"),
        (position,),
    )
    return CycleTools(CycleContext(SYMBOLS, market, account, Interval.M3, Interval.H4, history))


class CycleTools:
    """The agent's tools, called inside one cycle's context."""

    def __init__(self, context: CycleContext) -> None:
        self.context = context
        tools = build_tools(with_recent_decisions=context.recent_decisions is not None)
        self.by_name: dict[str, BaseTool] = {tool.name: tool for tool in tools}

    async def call(self, name: str, **arguments: Any) -> str:
        result = await self.invoke(name, arguments)
        assert isinstance(result, str)
        return result

    async def invoke(self, name: str, payload: dict[str, Any]) -> Any:
        with cycle_context(self.context):
            return await self.by_name[name].ainvoke(payload)


async def test_klines_come_as_csv_oldest_first(tools: CycleTools, market: SimulatedMarket) -> None:
    text = await tools.call("get_klines", symbol="BTCUSDT", interval="4h", limit=3)
    header, *rows = text.splitlines()
    assert header == "open_time,open,high,low,close,volume"
    newest = market.klines("BTCUSDT", Interval.H4, 3)
    assert [row.split(",")[4] for row in rows] == [f"{k.close:g}" for k in newest]
    assert rows[-1].startswith("2025-12-31 20:00,")


async def test_indicators_are_the_latest_values_of_the_standard_set(
    tools: CycleTools, market: SimulatedMarket
) -> None:
    figures = json.loads(await tools.call("get_indicators", symbol="ETHUSDT", interval="3m"))
    series = indicators.compute_indicators(market.arrays("ETHUSDT", Interval.M3))
    assert figures["rsi14"] == pytest.approx(indicators.latest(series.rsi14), rel=1e-5)
    assert figures["macd_histogram"] == pytest.approx(
        indicators.latest(series.macd_histogram), rel=1e-5
    )
    assert figures["candles"] == len(market.arrays("ETHUSDT", Interval.M3))
    assert {"ema20", "ema50", "atr3", "atr14", "bollinger_upper", "volume_average20"} <= set(
        figures
    )


async def test_market_snapshot_lists_every_symbol(
    tools: CycleTools, market: SimulatedMarket
) -> None:
    snapshot = json.loads(await tools.call("get_market_snapshot"))
    assert [row["symbol"] for row in snapshot] == list(SYMBOLS)
    assert snapshot[0]["price"] == market.latest_price("BTCUSDT")
    assert snapshot[0]["funding_rate"] is not None
    assert snapshot[0]["open_interest"] is not None


async def test_account_and_positions_are_the_cycle_snapshot(tools: CycleTools) -> None:
    account = json.loads(await tools.call("get_account"))
    assert account["equity"] == "10200"
    assert account["available_balance"] == "7866.67"
    assert account["open_positions"] == 1
    positions = json.loads(await tools.call("get_positions"))
    assert positions == [
        {
            "symbol": "ETHUSDT",
            "quantity": "-2",
            "entry_price": "3500",
            "mark_price": "3400",
            "unrealized_pnl": "200",
            "leverage": 3,
            "margin": "2333.33",
            "liquidation_price": "4600",
        }
    ]


async def test_recent_decisions_query_the_history_and_cut_the_reasoning(
    tools: CycleTools, history: RecordedHistory
) -> None:
    rows = json.loads(await tools.call("get_recent_decisions", symbol="BTCUSDT", limit=5))
    assert history.queries == [(DecisionFilter(symbol="BTCUSDT"), 5)]
    assert rows[0]["status"] == "rejected"
    assert rows[0]["status_reason"] == "confidence 0.4 is below the minimum 0.55"
    assert rows[0]["time"] == "2026-01-01 00:00"
    assert "id" not in rows[0]  # ids differ between databases: a rerun would miss the cache
    assert len(rows[0]["reasoning"]) == 300
    await tools.call("get_recent_decisions")
    assert history.queries[-1] == (DecisionFilter(symbol=None), 10)


def test_recent_decisions_tool_needs_a_history() -> None:
    offered = {tool.name for tool in build_tools(with_recent_decisions=False)}
    assert "get_recent_decisions" not in offered
    assert "get_recent_decisions" in {t.name for t in build_tools(with_recent_decisions=True)}


async def test_a_tool_outside_a_cycle_fails_loudly_and_cycles_do_not_leak(
    tools: CycleTools,
) -> None:
    with pytest.raises(RuntimeError, match="no decision cycle is running"):
        current_cycle()
    context = tools.context
    other = CycleContext(("ETHUSDT",), context.market, context.account, Interval.M3, Interval.H4)
    with cycle_context(other):
        snapshot = await tools.by_name["get_market_snapshot"].ainvoke({})
        assert [row["symbol"] for row in json.loads(snapshot)] == ["ETHUSDT"]
        assert current_cycle() is other
    with pytest.raises(RuntimeError):
        current_cycle()


@pytest.mark.parametrize(
    ("tool", "arguments", "error"),
    [
        ("get_klines", {"symbol": "FOOUSDT", "interval": "3m"}, "unknown symbol 'FOOUSDT'"),
        ("get_klines", {"symbol": "btcusdt", "interval": "3m"}, "use one of BTCUSDT, ETHUSDT"),
        ("get_klines", {"symbol": "BTCUSDT", "interval": "7m"}, "unknown interval '7m'"),
        ("get_klines", {"symbol": "BTCUSDT", "interval": "1h"}, "1h is not loaded; use one of"),
        ("get_klines", {"symbol": "BTCUSDT", "interval": "3m", "limit": 0}, "between 1 and 200"),
        ("get_klines", {"symbol": "BTCUSDT", "interval": "3m", "limit": -5}, "got -5"),
        ("get_klines", {"symbol": "BTCUSDT", "interval": "3m", "limit": 10**9}, "between 1 and"),
        ("get_klines", {"symbol": "BTCUSDT", "interval": "3m", "limit": "many"}, "limit:"),
        ("get_klines", {"interval": "3m"}, "symbol: Field required"),
        ("get_indicators", {"symbol": "DOGEUSDT", "interval": "3m"}, "unknown symbol"),
        ("get_indicators", {"symbol": "BTCUSDT", "interval": "1M"}, "unknown interval '1M'"),
        ("get_recent_decisions", {"symbol": "NOPE"}, "unknown symbol 'NOPE'"),
        ("get_recent_decisions", {"limit": 51}, "between 1 and 50, got 51"),
    ],
)
async def test_bad_arguments_come_back_as_an_error_the_model_can_read(
    tools: CycleTools, tool: str, arguments: dict[str, Any], error: str
) -> None:
    result = await tools.call(tool, **arguments)
    assert result.startswith("error: ")
    assert error in result


async def test_a_bad_tool_call_is_an_error_tool_message_not_an_exception(
    tools: CycleTools,
) -> None:
    call = {
        "type": "tool_call",
        "id": "call_1",
        "name": "get_klines",
        "args": {"symbol": "BTCUSDT", "interval": "3m", "limit": MAX_KLINES + 1},
    }
    message = await tools.invoke("get_klines", call)
    assert isinstance(message, ToolMessage)
    assert message.status == "error"
    assert message.tool_call_id == "call_1"
    assert "between 1 and 200" in str(message.content)
