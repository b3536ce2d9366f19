"""Hostile model output, end to end: the real `ChatOpenAI` client against a fake OpenAI-compatible
server on loopback, then the real cycle (risk gate, paper exchange with 2 bps slippage, SQLite).

In every case one symbol's answer is hostile (oversized text, wrong types, huge, tiny and
non-finite numbers) or the reply's usage block is, and the specification is the same:
- the valid decisions beside the bad one are executed;
- the bad one is a recorded HOLD saying why, or a rejection naming its risk rule;
- nothing is logged with a traceback or at ERROR;
- no fill lands past a configured limit (margin share, total exposure, stop distance).
"""

from __future__ import annotations

import asyncio
import gc
import logging
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any, TypeVar

import pytest
from fakes.openai_server import FakeOpenAIServer, tool_calls_reply
from pydantic import SecretStr
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from alphatransformer.agent.llm_agent import ANSWER_TOOL, MAX_TOKENS_PER_CALL
from alphatransformer.agent.llm_factory import build_decision_maker
from alphatransformer.agent.workflow import CycleParts, build_cycle_graph, run_cycle
from alphatransformer.config.schema import (
    AgentConfig,
    AppConfig,
    LLMConfig,
    MarketConfig,
    PaperExchangeConfig,
    RiskConfig,
)
from alphatransformer.database.engine import create_engine, session_factory
from alphatransformer.database.migrate import upgrade_database
from alphatransformer.database.models import (
    Decision,
    DecisionCycle,
    DecisionStatus,
    ExecutionPurpose,
    TradeExecution,
)
from alphatransformer.database.repositories import (
    DecisionRepository,
    ExecutionRepository,
    SnapshotRepository,
)
from alphatransformer.market.simulated import SimulatedMarket
from alphatransformer.trading.decision_executor import TradeExecutor
from alphatransformer.trading.order_manager import OrderManager
from alphatransformer.trading.paper.exchange import PaperExchange
from alphatransformer.trading.risk_gate import RiskGate, Rule
from alphatransformer.utils.clock import ManualClock

SYMBOLS = ("BTCUSDT", "ETHUSDT", "SOLUSDT")
NOW = 1_767_225_600_000  # 2026-01-01 00:00 UTC
START = Decimal("10000")  # the paper account's equity before the cycle
RISK = RiskConfig()  # margin <= 0.3 of equity, notional <= 1.5 x equity, stop within 10 %
Row = TypeVar("Row", Decision, DecisionCycle, TradeExecution)
Item = dict[str, Any]


@dataclass
class Rig:
    server: FakeOpenAIServer
    market: SimulatedMarket
    parts: CycleParts
    sessions: async_sessionmaker[AsyncSession]

    def entry(self, symbol: str, *, long: bool, notional: float, **changes: Any) -> Item:
        """A sound open at the current price: stop 3 % away, target 5 %, 2x."""
        price = self.market.latest_price(symbol)
        sign = 1 if long else -1
        item: Item = {
            "symbol": symbol,
            "action": "open_long" if long else "open_short",
            "notional_usd": notional,
            "leverage": 2,
            "stop_loss": round(price * (1 - sign * 0.03), 2),
            "take_profit": round(price * (1 + sign * 0.05), 2),
            "invalidation_condition": "4h close through EMA50",
            "confidence": 0.8,
            "reasoning": "trend and momentum agree",
        }
        return {**item, **changes}

    async def cycle(self, *items: Item, usage: dict[str, Any] | None = None) -> dict[str, Decision]:
        self.server.script(tool_calls_reply((ANSWER_TOOL, {"decisions": list(items)}), usage=usage))
        await run_cycle(build_cycle_graph(self.parts), "c1", self.parts.clock.now_ms())
        await asyncio.sleep(0)
        return {row.symbol: row for row in await self.rows(Decision)}

    async def rows(self, table: type[Row]) -> list[Row]:
        async with self.sessions() as session:
            return list((await session.scalars(select(table))).all())


@pytest.fixture
async def rig(tmp_path: Path) -> AsyncIterator[Rig]:
    clock = ManualClock(NOW)
    database = create_engine(f"sqlite+aiosqlite:///{tmp_path}/hostile.db")
    await upgrade_database(database)
    sessions = session_factory(database)
    market = SimulatedMarket(SYMBOLS, MarketConfig(), clock)
    exchange = PaperExchange(PaperExchangeConfig(slippage_bps=Decimal(2)), market, clock)
    await market.start()
    await exchange.start()
    orders = OrderManager(exchange, ExecutionRepository(sessions), clock)
    await orders.start()
    async with FakeOpenAIServer() as server:
        llm = LLMConfig(
            model="hostile-gpt",
            base_url=server.base_url,
            api_key=SecretStr("sk-test"),
            max_retries=0,
            input_price_per_mtok=Decimal("0.15"),
            output_price_per_mtok=Decimal("0.60"),
        )
        config = AppConfig(symbols=SYMBOLS, agent=AgentConfig(provider="openai", llm=llm))
        parts = CycleParts(
            symbols=SYMBOLS,
            market=market,
            exchange=exchange,
            decision_maker=build_decision_maker(config),
            decisions=DecisionRepository(sessions),
            executor=TradeExecutor(
                symbols=SYMBOLS,
                gate=RiskGate(RISK),
                orders=orders,
                exchange=exchange,
                market=market,
                snapshots=SnapshotRepository(sessions),
                clock=clock,
                max_staleness_seconds=30,
                taker_fee=Decimal("0.0005"),
            ),
            clock=clock,
            decision_timeout_seconds=30,
        )
        yield Rig(server, market, parts, sessions)
        # The model's HTTP clients close when collected: collect them while this loop runs, or
        # a later test's log shows "Event loop is closed" from this one's clients.
        del parts
        gc.collect()
        await asyncio.sleep(0)
    await orders.stop()
    await exchange.stop()
    await market.stop()
    await database.dispose()


def assert_no_traceback(caplog: pytest.LogCaptureFixture) -> None:
    loud = [r for r in caplog.records if r.exc_info or r.levelno >= logging.ERROR]
    assert not loud, [r.getMessage() for r in loud]


async def assert_fills_within_limits(rig: Rig) -> None:
    """Every entry's fill, at the price it filled at, against the equity it was checked with."""
    executions = await rig.rows(TradeExecution)
    entries = [e for e in executions if e.purpose == ExecutionPurpose.ENTRY.value]
    decisions = {row.id: row for row in await rig.rows(Decision)}
    exposure = Decimal(0)
    for entry in entries:
        assert entry.avg_price is not None
        notional = entry.filled_quantity * entry.avg_price
        leverage = decisions[entry.decision_id or 0].leverage or 1
        exposure += notional
        assert notional / leverage <= Decimal(str(RISK.max_position_share)) * START
        stops = [
            e.stop_price
            for e in executions
            if e.decision_id == entry.decision_id and e.purpose == ExecutionPurpose.STOP_LOSS
        ]
        assert stops, f"entry {entry.client_order_id} has no stop loss"
        distance = abs(entry.avg_price - stops[0]) / entry.avg_price if stops[0] else None
        assert distance is not None
        assert distance <= Decimal(str(RISK.max_stop_distance))
    assert exposure <= Decimal(str(RISK.max_total_exposure)) * START


# --- one symbol's answer is hostile ------------------------------------------------------------


@dataclass(frozen=True)
class Hostile:
    """What replaces the sound BTC long, and how the row must end."""

    change: Callable[[Item], Item]
    status: DecisionStatus
    because: str  # in the HOLD's reasoning, or the rejection's rule


def _with(**fields: Any) -> Callable[[Item], Item]:
    return lambda item: {**item, **fields}


def _short_with(**fields: Any) -> Callable[[Item], Item]:
    return lambda item: {**item, "action": "open_short", "take_profit": None, **fields}


HOLD, REJECTED = DecisionStatus.HOLD, DecisionStatus.REJECTED
HOSTILE = {
    "oversized-reasoning": Hostile(
        _with(reasoning="x" * 5000), HOLD, "reasoning: String should have at most 4000 characters"
    ),
    "oversized-invalidation": Hostile(
        _with(invalidation_condition="y" * 100_000), HOLD, "should have at most 500 characters"
    ),
    "boolean-leverage": Hostile(_with(leverage=True), HOLD, "leverage: Value error, a boolean"),
    "boolean-confidence": Hostile(_with(confidence=True), HOLD, "confidence: Value error, a bool"),
    "string-quantity": Hostile(_with(quantity="lots"), HOLD, "quantity: Input should be a valid"),
    "list-stop": Hostile(_with(stop_loss=[93000]), HOLD, "stop_loss: Input should be a valid"),
    "object-action": Hostile(_with(action={"do": "buy"}), HOLD, "action: Input should be"),
    "nan-quantity": Hostile(_with(quantity=float("nan")), HOLD, "quantity: Input should be a fin"),
    "infinite-notional": Hostile(
        _with(notional_usd=float("inf")), HOLD, "notional_usd: Input should be a finite number"
    ),
    "huge-quantity": Hostile(_with(quantity=1e308), REJECTED, Rule.MAX_QUANTITY),
    "huge-notional": Hostile(_with(notional_usd=1e308), REJECTED, Rule.MAX_QUANTITY),
    "huge-stop-as-text": Hostile(_short_with(stop_loss="1e308"), REJECTED, Rule.PRICE_FILTER),
    "tiny-quantity": Hostile(_with(quantity=1e-300), REJECTED, Rule.QUANTITY_BELOW_STEP),
    "tiny-stop": Hostile(_with(stop_loss=1e-300), REJECTED, Rule.PRICE_FILTER),
}


@pytest.mark.parametrize("case", HOSTILE.values(), ids=HOSTILE.keys())
async def test_a_hostile_decision_is_held_or_rejected_and_the_others_execute(
    rig: Rig, case: Hostile, caplog: pytest.LogCaptureFixture
) -> None:
    # given a hostile BTC decision next to a sound ETH short; SOL left out
    hostile = case.change(rig.entry("BTCUSDT", long=True, notional=2000))
    sound = rig.entry("ETHUSDT", long=False, notional=1500)

    # when the cycle runs
    rows = await rig.cycle(hostile, sound)

    # then ETH is executed, BTC held or rejected by name, SOL held as skipped
    assert rows["ETHUSDT"].status == DecisionStatus.EXECUTED.value, rows["ETHUSDT"].status_reason
    btc = rows["BTCUSDT"]
    assert btc.status == case.status.value, btc.status_reason
    if case.status is HOLD:
        assert case.because in btc.reasoning
        assert len(btc.reasoning) <= 4000
    else:
        assert btc.rejection_rule == case.because
    assert rows["SOLUSDT"].status == DecisionStatus.HOLD.value
    for column in (btc.quantity, btc.notional, btc.stop_loss, btc.take_profit):
        assert column is None or abs(column) < Decimal("1e20")
    (cycle,) = await rig.rows(DecisionCycle)
    assert cycle.transcript is not None
    assert cycle.input_tokens > 0
    assert_no_traceback(caplog)
    await assert_fills_within_limits(rig)


async def test_numbers_written_as_strings_are_still_read_as_numbers(
    rig: Rig, caplog: pytest.LogCaptureFixture
) -> None:
    btc = rig.entry("BTCUSDT", long=True, notional=2000)
    quoted = {**btc, "confidence": "0.8", "leverage": "2", "stop_loss": str(btc["stop_loss"])}

    rows = await rig.cycle(quoted)

    assert rows["BTCUSDT"].status == DecisionStatus.EXECUTED.value, rows["BTCUSDT"].status_reason
    assert rows["BTCUSDT"].leverage == 2
    assert_no_traceback(caplog)
    await assert_fills_within_limits(rig)


# --- the usage block is hostile ----------------------------------------------------------------


USAGE = {
    "astronomical": (
        {"prompt_tokens": 10**20, "completion_tokens": 80, "total_tokens": 10**20 + 80},
        (MAX_TOKENS_PER_CALL, 80),
        "input_tokens 100000000000000000000 is more than any call",
    ),
    "strings": (
        {"prompt_tokens": "1200", "completion_tokens": "eighty", "total_tokens": "lots"},
        (0, 0),
        "input_tokens '1200' is not a token count",
    ),
    "nan": (
        {"prompt_tokens": float("nan"), "completion_tokens": 80, "total_tokens": float("nan")},
        (0, 80),
        "input_tokens nan is not a token count",
    ),
    "negative": (
        {"prompt_tokens": -5, "completion_tokens": -1, "total_tokens": -6},
        (0, 0),
        "output_tokens -1 is negative",
    ),
    "wrong-shapes": (
        {"prompt_tokens": [1], "completion_tokens": {"n": 1}, "total_tokens": 2},
        (0, 0),
        "output_tokens {'n': 1} is not a token count",
    ),
}


@pytest.mark.parametrize(("usage", "counted", "note"), USAGE.values(), ids=USAGE.keys())
async def test_a_hostile_usage_block_is_clamped_and_noted_and_the_answer_stands(
    rig: Rig,
    usage: dict[str, Any],
    counted: tuple[int, int],
    note: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    # given two sound opens in a reply whose usage block is not token counts
    btc = rig.entry("BTCUSDT", long=True, notional=2000)
    eth = rig.entry("ETHUSDT", long=False, notional=1500)

    # when the cycle runs
    rows = await rig.cycle(btc, eth, usage=usage)

    # then both are executed, and the cycle is stored with checked counts and what was wrong
    assert rows["BTCUSDT"].status == DecisionStatus.EXECUTED.value, rows["BTCUSDT"].status_reason
    assert rows["ETHUSDT"].status == DecisionStatus.EXECUTED.value, rows["ETHUSDT"].status_reason
    (cycle,) = await rig.rows(DecisionCycle)
    assert (cycle.input_tokens, cycle.output_tokens) == counted
    assert cycle.cost_usd >= 0
    assert cycle.error is not None
    assert f"usage of model call 1: {note}" in cycle.error
    assert cycle.transcript is not None
    assert_no_traceback(caplog)
    await assert_fills_within_limits(rig)


# --- sized at a limit: slippage must not carry the fill past it ---------------------------------


@pytest.mark.parametrize("share", [0.2999, 0.29999, 0.3])
async def test_an_entry_sized_at_the_margin_limit_never_fills_past_it(
    rig: Rig, share: float, caplog: pytest.LogCaptureFixture
) -> None:
    # given a BTC long whose margin at the quoted price is `share` of equity (limit 0.3)
    price = rig.market.latest_price("BTCUSDT")
    quantity = round(share * float(START) * 2 / price, 3)  # at 2x
    sized = rig.entry("BTCUSDT", long=True, notional=0, quantity=quantity)

    rows = await rig.cycle({k: v for k, v in sized.items() if k != "notional_usd"})

    # then it fills within the limit, or is refused by the rule it would break at the fill
    btc = rows["BTCUSDT"]
    assert btc.status in (DecisionStatus.EXECUTED.value, DecisionStatus.REJECTED.value)
    if btc.status == DecisionStatus.REJECTED.value:
        assert btc.rejection_rule == Rule.MAX_POSITION_SHARE
    assert_no_traceback(caplog)
    await assert_fills_within_limits(rig)


async def test_a_stop_at_the_distance_limit_from_the_quote_is_refused_at_the_fill(
    rig: Rig, caplog: pytest.LogCaptureFixture
) -> None:
    # given a stop 9.999 % below the quote: 10.01 % below a fill 2 bps higher
    price = rig.market.latest_price("BTCUSDT")
    rows = await rig.cycle(
        rig.entry("BTCUSDT", long=True, notional=2000, stop_loss=price * 0.90001)
    )

    assert rows["BTCUSDT"].rejection_rule == Rule.STOP_LOSS_TOO_FAR
    assert_no_traceback(caplog)
    await assert_fills_within_limits(rig)
