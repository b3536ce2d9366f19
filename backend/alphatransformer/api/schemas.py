"""Response models: the API's contract, documented in its OpenAPI schema.

Money is serialised as decimal strings, so no client sees a binary-float approximation.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any, Protocol

from pydantic import BaseModel, ConfigDict

from alphatransformer.trading.models import Account, Position


class CycleSummary(BaseModel):
    cycle_id: str
    started_at: datetime
    finished_at: datetime
    outcome: str
    decisions: int
    executed: int
    rejected: int
    failed: int
    error: str | None


class SymbolData(BaseModel):
    symbol: str
    price: float | None
    last_update: datetime | None
    fresh: bool


class AgentOut(BaseModel):
    """One agent of the arena: what it runs, where its loop stands, what its account is worth."""

    name: str
    run_id: str
    provider: str
    model: str
    state: str
    state_reason: str | None
    exchange: str
    equity: Decimal | None
    """Live from the exchange; null when the exchange cannot be read right now."""
    starting_balance: Decimal
    total_return: float | None
    """Equity against the starting balance, as a fraction; null without an equity."""
    open_positions: int
    cycles: int
    missed_cycles: int
    last_cycle: CycleSummary | None
    next_cycle_at: datetime | None
    reconciliation: str | None
    reconciled_at: datetime | None


class StatusResponse(BaseModel):
    """The system; `state` to `reconciled_at` describe the first agent (see `agents`)."""

    state: str
    state_reason: str | None
    environment: str
    market_source: str
    simulated_market: bool
    notice: str | None
    exchange: str
    provider: str
    model: str
    symbols: list[str]
    started_at: datetime | None
    uptime_seconds: float | None
    cycle_seconds: float
    cycles: int
    missed_cycles: int
    last_cycle: CycleSummary | None
    next_cycle_at: datetime | None
    reconciliation: str | None
    """Where reconciliation stands (pending, in progress, retrying) or what the last one found
    and settled; it runs at start and after every user-stream reconnect."""
    reconciled_at: datetime | None
    """When the database and the exchange last agreed; cycles wait while a pass is due."""
    market_data: list[SymbolData]
    agents: list[AgentOut]


class DecisionOut(BaseModel):
    id: int
    agent: str
    cycle_id: str
    created_at: datetime
    updated_at: datetime
    symbol: str
    action: str
    status: str
    status_reason: str | None
    rejection_rule: str | None
    price: Decimal | None
    quantity: Decimal | None
    notional: Decimal | None
    leverage: int | None
    stop_loss: Decimal | None
    take_profit: Decimal | None
    invalidation_condition: str | None
    confidence: float
    risk_usd: Decimal | None
    reasoning: str
    model: str


class DecisionPage(BaseModel):
    items: list[DecisionOut]
    next_before_id: int | None
    """Pass as `before_id` to get the next (older) page; null on the last page."""


class Health(BaseModel):
    status: str


class ErrorBody(BaseModel):
    code: str
    message: str
    details: list[dict[str, object]] | None = None


class ErrorResponse(BaseModel):
    """Every error the API returns has this shape."""

    error: ErrorBody


class PositionOut(BaseModel):
    """An open position with the exit plan of the decision that opened it."""

    agent: str
    symbol: str
    side: str
    quantity: Decimal
    entry_price: Decimal
    mark_price: Decimal
    notional: Decimal
    unrealized_pnl: Decimal
    leverage: int
    margin_type: str
    margin: Decimal
    liquidation_price: Decimal | None
    stop_loss: Decimal | None
    take_profit: Decimal | None
    invalidation_condition: str | None

    @classmethod
    def of(cls, agent: str, position: Position, plan: ExitPlan | None) -> PositionOut:
        return cls(
            agent=agent,
            symbol=position.symbol,
            side="long" if position.is_long else "short",
            quantity=abs(position.quantity),
            entry_price=position.entry_price,
            mark_price=position.mark_price,
            notional=position.notional,
            unrealized_pnl=position.unrealized_pnl,
            leverage=position.leverage,
            margin_type=position.margin_type.value,
            margin=position.margin,
            liquidation_price=position.liquidation_price,
            stop_loss=None if plan is None else plan.stop_loss,
            take_profit=None if plan is None else plan.take_profit,
            invalidation_condition=None if plan is None else plan.invalidation_condition,
        )


class ExitPlan(Protocol):
    """What a position's opening decision planned (a `Decision` row has these)."""

    @property
    def stop_loss(self) -> Decimal | None: ...
    @property
    def take_profit(self) -> Decimal | None: ...
    @property
    def invalidation_condition(self) -> str | None: ...


class AccountOut(BaseModel):
    agent: str
    asset: str
    equity: Decimal
    wallet_balance: Decimal
    available_balance: Decimal
    unrealized_pnl: Decimal
    margin_used: Decimal
    open_positions: int

    @classmethod
    def of(cls, agent: str, account: Account) -> AccountOut:
        return cls(
            agent=agent,
            asset=account.asset,
            equity=account.equity,
            wallet_balance=account.wallet_balance,
            available_balance=account.available_balance,
            unrealized_pnl=account.unrealized_pnl,
            margin_used=account.margin_used,
            open_positions=len(account.positions),
        )


class ExecutionOut(BaseModel):
    id: int
    agent: str
    decision_id: int | None
    created_at: datetime
    updated_at: datetime
    symbol: str
    side: str
    order_type: str
    purpose: str
    client_order_id: str
    exchange_order_id: str | None
    status: str
    quantity: Decimal
    price: Decimal | None
    stop_price: Decimal | None
    reduce_only: bool
    filled_quantity: Decimal
    avg_price: Decimal | None
    fee: Decimal
    fee_asset: str | None
    realized_pnl: Decimal
    error: str | None


class ExecutionPage(BaseModel):
    items: list[ExecutionOut]
    next_before_id: int | None


class CycleOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    started_at: datetime
    model: str
    prompt_hash: str | None
    input_tokens: int
    output_tokens: int
    latency_ms: float
    cost_usd: Decimal
    error: str | None


class DecisionDetail(DecisionOut):
    cycle: CycleOut | None
    executions: list[ExecutionOut]


class EquityPoint(BaseModel):
    time: datetime
    equity: Decimal
    wallet_balance: Decimal
    unrealized_pnl: Decimal


class AccountHistory(BaseModel):
    agent: str
    points: list[EquityPoint]
    total_points: int
    """How many snapshots the range holds before downsampling."""


class ControlResult(BaseModel):
    agent: str
    changed: bool
    state: str
    reason: str | None


class ArenaControlResult(BaseModel):
    changed: bool
    """Whether any agent changed."""
    agents: list[ControlResult]


class LeaderboardRow(BaseModel):
    """One agent's standing: Alpha Arena's columns and more, from the `/api/performance`
    metrics of that agent."""

    rank: int
    agent: str
    model: str
    provider: str
    account_value: Decimal | None
    total_return: float | None
    realized_pnl: Decimal
    """Closed trades' PnL before fees."""
    unrealized_pnl: Decimal
    fees: Decimal
    """Every fee paid, open positions' entries included."""
    win_rate: float | None
    biggest_win: Decimal | None
    biggest_loss: Decimal | None
    sharpe: float | None
    max_drawdown: float | None
    trades: int
    average_hold_seconds: float | None
    input_tokens: int
    output_tokens: int
    cost_usd: Decimal
    model_errors: int
    """Cycles whose model call failed (recorded as holds)."""


class TradeOut(BaseModel):
    """One completed round trip, as a backtest's trades.csv has it."""

    agent: str
    symbol: str
    side: str
    opened_at: datetime
    closed_at: datetime
    quantity: Decimal
    entry_price: Decimal
    exit_price: Decimal
    gross_pnl: Decimal
    fees: Decimal
    net_pnl: Decimal
    hold_seconds: float


class ToolCallOut(BaseModel):
    id: str | None
    name: str
    args: dict[str, Any]


class ChatMessage(BaseModel):
    role: str
    """system, user, assistant or tool."""
    content: str
    tool_calls: list[ToolCallOut]
    tool_call_id: str | None
    name: str | None


class CycleDetail(CycleOut):
    """One cycle's whole model chat, and the decisions it produced."""

    agent: str
    messages: list[ChatMessage]
    decisions: list[DecisionOut]
