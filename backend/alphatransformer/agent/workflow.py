"""The decision cycle as a LangGraph `StateGraph`: analyze -> save -> execute.

Each decision is written before anything acts on it, and whatever goes wrong in analyze (an
exception, a timeout, output that does not validate) ends as recorded HOLDs, never as an order.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any, TypedDict, cast

from langgraph.graph import END, START, StateGraph
from langgraph.graph.state import CompiledStateGraph

from alphatransformer.agent.answer import ModelAnswer, complete_answer
from alphatransformer.agent.decision import Action, TradeDecision
from alphatransformer.agent.decision_maker import DecisionMaker, DecisionRequest
from alphatransformer.database.models import Decision, DecisionCycle, DecisionStatus
from alphatransformer.database.repositories import DecisionRepository, StatusChange
from alphatransformer.database.types import fits_exact_decimal
from alphatransformer.market.market_data import MarketData
from alphatransformer.trading.exchange import Exchange
from alphatransformer.trading.execution import DecisionExecutor, DecisionOutcome
from alphatransformer.utils.clock import Clock, to_datetime

logger = logging.getLogger(__name__)

# analyze, save and execute each run once; the limit only guards against a miswired graph.
RECURSION_LIMIT = 10


CycleGraph = CompiledStateGraph[Any, Any, Any, Any]


class CycleState(TypedDict, total=False):
    cycle_id: str
    started_ms: int
    answer: ModelAnswer
    decisions: list[TradeDecision]
    rows: list[Decision]
    """The saved rows, kept equal to the table's (statuses included) so the engine publishes
    them without reading them back."""
    outcomes: list[DecisionOutcome]


@dataclass(frozen=True, slots=True)
class CycleParts:
    """What the three steps work with; the same for paper, testnet, production and backtests."""

    symbols: tuple[str, ...]
    market: MarketData
    exchange: Exchange
    decision_maker: DecisionMaker
    decisions: DecisionRepository
    executor: DecisionExecutor
    clock: Clock
    decision_timeout_seconds: float


def build_cycle_graph(parts: CycleParts) -> CycleGraph:
    graph = StateGraph(CycleState)
    graph.add_node("analyze", _analyze_step(parts))
    graph.add_node("save", _save_step(parts))
    graph.add_node("execute", _execute_step(parts))
    graph.add_edge(START, "analyze")
    graph.add_edge("analyze", "save")
    graph.add_edge("save", "execute")
    graph.add_edge("execute", END)
    return graph.compile()


async def run_cycle(graph: CycleGraph, cycle_id: str, started_ms: int) -> CycleState:
    state: CycleState = {"cycle_id": cycle_id, "started_ms": started_ms}
    result = await graph.ainvoke(state, config={"recursion_limit": RECURSION_LIMIT})
    return cast(CycleState, result)


def _analyze_step(parts: CycleParts) -> Any:
    async def analyze(state: CycleState) -> CycleState:
        answer = await _ask_model(parts, state["cycle_id"])
        decisions = await parts.executor.enforce(complete_answer(answer, parts.symbols))
        return {"answer": answer, "decisions": decisions}

    return analyze


async def _ask_model(parts: CycleParts, cycle_id: str) -> ModelAnswer:
    model = parts.decision_maker.model_name
    started = parts.clock.now_ms()
    try:
        account = await parts.exchange.account()
        request = DecisionRequest(cycle_id, started, parts.symbols, parts.market, account)
        async with asyncio.timeout(parts.decision_timeout_seconds):
            return await parts.decision_maker.decide(request)
    except TimeoutError:
        error = f"no answer within {parts.decision_timeout_seconds:g} s; holding"
    except Exception as exc:
        logger.exception("cycle %s: the decision step failed", cycle_id)
        error = f"decision step failed ({type(exc).__name__}: {exc}); holding"
    return ModelAnswer(
        decisions=[], model=model, latency_ms=float(parts.clock.now_ms() - started), error=error
    )


def _save_step(parts: CycleParts) -> Any:
    async def save(state: CycleState) -> CycleState:
        now = to_datetime(parts.clock.now_ms())
        cycle = _cycle_row(state["answer"], state["cycle_id"], to_datetime(state["started_ms"]))
        rows = [_decision_row(d, state["cycle_id"], cycle.model, now) for d in state["decisions"]]
        for row in rows:
            row.price = _price(parts.market, row.symbol)
        await parts.decisions.add_cycle(cycle, rows)
        return {"rows": rows}

    return save


def _execute_step(parts: CycleParts) -> Any:
    async def execute(state: CycleState) -> CycleState:
        """Execute every non-HOLD decision in turn, then record all outcomes at once: orders
        are recorded as they are placed, and a crash before the statuses are written leaves
        decisions pending, which startup reconciliation settles from those orders."""
        outcomes: list[DecisionOutcome] = []
        changes: list[tuple[Decision, StatusChange]] = []
        for decision, row in zip(state["decisions"], state["rows"], strict=True):
            if decision.action is Action.HOLD:
                continue
            outcome = await _execute_one(parts, decision, row.id)
            changes.append(
                (row, StatusChange(row.id, outcome.status, outcome.reason, outcome.rule))
            )
            outcomes.append(outcome)
        at = to_datetime(parts.clock.now_ms())
        await parts.decisions.set_statuses([change for _, change in changes], at=at)
        for row, change in changes:
            for column, value in change.values(at).items():
                setattr(row, column, value)
        return {"outcomes": outcomes}

    return execute


async def _execute_one(
    parts: CycleParts, decision: TradeDecision, decision_id: int
) -> DecisionOutcome:
    try:
        return await parts.executor.execute(decision, decision_id)
    except Exception as exc:
        logger.exception("decision %s (%s): execution failed", decision_id, decision.symbol)
        return DecisionOutcome(DecisionStatus.FAILED, reason=f"{type(exc).__name__}: {exc}")


def _cycle_row(answer: ModelAnswer, cycle_id: str, started: datetime) -> DecisionCycle:
    return DecisionCycle(
        id=cycle_id,
        started_at=started,
        model=answer.model,
        prompt_hash=answer.prompt_hash,
        input_tokens=answer.input_tokens,
        output_tokens=answer.output_tokens,
        latency_ms=answer.latency_ms,
        cost_usd=answer.cost_usd,
        error="; ".join(filter(None, (answer.error, *answer.notes))) or None,
        transcript=answer.transcript,
    )


def _decision_row(decision: TradeDecision, cycle_id: str, model: str, now: datetime) -> Decision:
    return Decision(
        cycle_id=cycle_id,
        created_at=now,
        updated_at=now,
        symbol=decision.symbol,
        action=decision.action.value,
        status=(
            DecisionStatus.HOLD if decision.action is Action.HOLD else DecisionStatus.PENDING
        ).value,
        quantity=_exact(decision.quantity),
        notional=_exact(decision.notional_usd),
        leverage=decision.leverage,
        stop_loss=_exact(decision.stop_loss),
        take_profit=_exact(decision.take_profit),
        invalidation_condition=decision.invalidation_condition,
        confidence=decision.confidence,
        risk_usd=_exact(decision.risk_usd),
        reasoning=decision.reasoning,
        model=model,
    )


def _exact(value: float | None) -> Decimal | None:
    """The model's number as it wrote it (shortest repr), not the binary float's expansion.

    None when no column can hold it (1e308, 1e-300): the risk gate rejects such a size or price
    by name, quoting it, and the cycle's transcript keeps it as the model wrote it.
    """
    if value is None:
        return None
    exact = Decimal(repr(value))
    return exact if fits_exact_decimal(exact) else None


def _price(market: MarketData, symbol: str) -> Decimal | None:
    """The price the decision was made at; none for a symbol the market does not know."""
    try:
        return _exact(market.latest_price(symbol))
    except KeyError:
        return None
