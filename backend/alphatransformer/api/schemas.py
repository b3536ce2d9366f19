"""Response models: the API's contract, documented in its OpenAPI schema.

Money is serialised as decimal strings, so no client sees a binary-float approximation.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from pydantic import BaseModel, ConfigDict


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
    last_cycle: CycleSummary | None
    next_cycle_at: datetime | None
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
