"""Rows and live objects turned into the API's response models, each tagged with its agent.

One place for every conversion, so REST responses and stream messages say the same thing.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from alphatransformer.api.schemas import (
    AgentOut,
    ChatMessage,
    CycleSummary,
    DecisionOut,
    ExecutionOut,
    PositionOut,
    ToolCallOut,
    TradeOut,
)
from alphatransformer.config import Environment
from alphatransformer.database.models import Base, Decision, TradeExecution
from alphatransformer.engine import CycleReport
from alphatransformer.runtime import Runtime
from alphatransformer.trading.models import Position
from alphatransformer.trading.performance import ClosedTrade

_ROLES = {"system": "system", "human": "user", "ai": "assistant", "tool": "tool"}


def columns(row: Base) -> dict[str, Any]:
    """A row's column values by name."""
    return {column.key: getattr(row, column.key) for column in row.__table__.columns}


def decision_out(agent: str, row: Decision | dict[str, Any]) -> DecisionOut:
    values = row if isinstance(row, dict) else columns(row)
    return DecisionOut.model_validate({**values, "agent": agent})


def execution_out(agent: str, row: TradeExecution) -> ExecutionOut:
    return ExecutionOut.model_validate({**columns(row), "agent": agent})


async def positions_out(runtime: Runtime, positions: Sequence[Position]) -> list[PositionOut]:
    """The positions with the exit plan of the decision that opened each."""
    return [
        PositionOut.of(
            runtime.name, position, await runtime.decisions.latest_executed_open(position.symbol)
        )
        for position in positions
    ]


def cycle_summary(report: CycleReport | None) -> CycleSummary | None:
    if report is None:
        return None
    return CycleSummary(
        cycle_id=report.cycle_id,
        started_at=report.started_at,
        finished_at=report.finished_at,
        outcome=report.outcome,
        decisions=report.decisions,
        executed=report.executed,
        rejected=report.rejected,
        failed=report.failed,
        error=report.error,
    )


async def agent_out(runtime: Runtime) -> AgentOut:
    """The agent's state and its account's value, live; an exchange that cannot be read right
    now leaves the value empty rather than failing the whole answer."""
    status = runtime.engine.status
    config = runtime.config
    starting = config.trading.paper.starting_balance
    paper = config.environment is Environment.PAPER
    try:
        account = await runtime.exchange.account()
    except Exception:
        equity, positions = None, 0
    else:
        equity, positions = account.equity, len(account.positions)
    return AgentOut(
        name=runtime.name,
        run_id=runtime.run_id,
        provider=config.agent.provider,
        model=runtime.decision_maker.model_name,
        state=status.state.value,
        state_reason=status.reason,
        exchange=runtime.exchange.name,
        equity=equity,
        starting_balance=starting,
        # Only a paper account's start is known here; /api/leaderboard has it from snapshots.
        total_return=total_return(equity, starting) if paper else None,
        open_positions=positions,
        cycles=status.cycles,
        missed_cycles=status.missed_cycles,
        last_cycle=cycle_summary(status.last_cycle),
        next_cycle_at=status.next_cycle_at,
        reconciliation=status.reconciliation,
        reconciled_at=status.reconciled_at,
    )


def trade_out(agent: str, trade: ClosedTrade) -> TradeOut:
    return TradeOut(
        agent=agent,
        symbol=trade.symbol,
        side=trade.side.value,
        opened_at=trade.opened_at,
        closed_at=trade.closed_at,
        quantity=trade.quantity,
        entry_price=trade.entry_price,
        exit_price=trade.exit_price,
        gross_pnl=trade.gross_pnl,
        fees=trade.fees,
        net_pnl=trade.net_pnl,
        hold_seconds=trade.hold_time.total_seconds(),
    )


def chat_messages(transcript: Sequence[dict[str, Any]] | None) -> list[ChatMessage]:
    """A stored LangChain transcript (`messages_to_dict`) as plain chat messages."""
    return [_chat_message(entry) for entry in transcript or ()]


def _chat_message(entry: dict[str, Any]) -> ChatMessage:
    data = entry.get("data", {})
    content = data.get("content", "")
    return ChatMessage(
        role=_ROLES.get(str(entry.get("type")), str(entry.get("type"))),
        content=content if isinstance(content, str) else json.dumps(content),
        tool_calls=[
            ToolCallOut(id=call.get("id"), name=call.get("name", ""), args=call.get("args", {}))
            for call in data.get("tool_calls") or ()
        ],
        tool_call_id=data.get("tool_call_id"),
        name=data.get("name"),
    )


def total_return(equity: Decimal | None, starting: Decimal) -> float | None:
    return None if equity is None else float(equity / starting - 1)
