"""Response models: the API's contract, documented in its OpenAPI schema.

Money is serialised as decimal strings, so no client sees a binary-float approximation.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

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


class StatusResponse(BaseModel):
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


class DecisionOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
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

    @classmethod
    def of(cls, position: Position) -> PositionOut:
        return cls(
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
        )


class AccountOut(BaseModel):
    asset: str
    equity: Decimal
    wallet_balance: Decimal
    available_balance: Decimal
    unrealized_pnl: Decimal
    margin_used: Decimal
    open_positions: int

    @classmethod
    def of(cls, account: Account) -> AccountOut:
        return cls(
            asset=account.asset,
            equity=account.equity,
            wallet_balance=account.wallet_balance,
            available_balance=account.available_balance,
            unrealized_pnl=account.unrealized_pnl,
            margin_used=account.margin_used,
            open_positions=len(account.positions),
        )


class ExecutionOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
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
    points: list[EquityPoint]
    total_points: int
    """How many snapshots the range holds before downsampling."""


class ControlResult(BaseModel):
    changed: bool
    state: str
    reason: str | None
