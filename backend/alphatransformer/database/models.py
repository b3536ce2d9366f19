"""The tables. Decisions are written before anything acts on them; executions mirror exchange
orders one to one; snapshots record the account over time. Positions are not stored as truth:
they are read from the exchange."""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any, ClassVar

from sqlalchemy import JSON, BigInteger, ForeignKey, Index, String, Text, text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from alphatransformer.config.schema import LIVE_RUN as LIVE_RUN
from alphatransformer.database.types import ExactDecimal, UTCDateTime


def _run_id() -> Mapped[str]:
    return mapped_column(String(64), default=LIVE_RUN, server_default=LIVE_RUN)


class Base(DeclarativeBase):
    type_annotation_map: ClassVar[dict[Any, Any]] = {
        Decimal: ExactDecimal(),
        datetime: UTCDateTime(),
    }


class DecisionStatus(StrEnum):
    """Life of a decision row: written `pending` (or `hold`) before anything executes."""

    PENDING = "pending"
    HOLD = "hold"
    EXECUTED = "executed"
    REJECTED = "rejected"
    FAILED = "failed"


class Decision(Base):
    """One symbol's decision in one cycle, HOLD included, with the model's reasoning and cost."""

    __tablename__ = "decisions"

    id: Mapped[int] = mapped_column(primary_key=True)
    run_id: Mapped[str] = _run_id()
    cycle_id: Mapped[str] = mapped_column(String(80), ForeignKey("decision_cycles.id"))
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    symbol: Mapped[str] = mapped_column(String(20))
    action: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16))
    status_reason: Mapped[str | None] = mapped_column(Text)
    rejection_rule: Mapped[str | None] = mapped_column(String(40))
    price: Mapped[Decimal | None]
    quantity: Mapped[Decimal | None]
    notional: Mapped[Decimal | None]
    leverage: Mapped[int | None]
    stop_loss: Mapped[Decimal | None]
    take_profit: Mapped[Decimal | None]
    invalidation_condition: Mapped[str | None] = mapped_column(Text)
    confidence: Mapped[float]
    risk_usd: Mapped[Decimal | None]
    reasoning: Mapped[str] = mapped_column(Text, default="")
    model: Mapped[str] = mapped_column(String(100))

    __table_args__ = (
        # Lists are newest first by id within a run, optionally filtered by one column.
        Index("ix_decisions_run_id", "run_id", "id"),
        Index("ix_decisions_run_symbol", "run_id", "symbol", "id"),
        Index("ix_decisions_run_status", "run_id", "status", "id"),
        Index("ix_decisions_run_action", "run_id", "action", "id"),
        Index("ix_decisions_run_created_at", "run_id", "created_at"),
        Index("ix_decisions_cycle_id", "cycle_id"),
    )


class SystemPrompt(Base):
    """A system message, stored once however many cycles sent it: a 30-day backtest would
    otherwise store the same ~10 KB 14,400 times."""

    __tablename__ = "system_prompts"

    hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    """sha256 of the message as JSON with sorted keys."""
    message: Mapped[dict[str, Any]] = mapped_column(JSON)
    """The transcript entry as the agent wrote it (`{"type": "system", "data": ...}`)."""

    @staticmethod
    def digest(message: dict[str, Any]) -> str:
        return hashlib.sha256(json.dumps(message, sort_keys=True).encode()).hexdigest()


class DecisionCycle(Base):
    """One analyze step: which model, at what cost, and the full exchange with it, for audit.

    Token usage, latency and cost belong to the cycle, not to its per-symbol decisions, so sums
    over this table are true totals. The transcript's opening system message is kept in
    `system_prompts` (`system_prompt_hash`); `DecisionRepository.cycle` puts it back.
    """

    __tablename__ = "decision_cycles"

    id: Mapped[str] = mapped_column(String(80), primary_key=True)
    run_id: Mapped[str] = _run_id()
    started_at: Mapped[datetime]
    model: Mapped[str] = mapped_column(String(100))
    prompt_hash: Mapped[str | None] = mapped_column(String(64))
    input_tokens: Mapped[int] = mapped_column(default=0)
    output_tokens: Mapped[int] = mapped_column(default=0)
    latency_ms: Mapped[float] = mapped_column(default=0.0)
    cost_usd: Mapped[Decimal] = mapped_column(default=Decimal(0))
    error: Mapped[str | None] = mapped_column(Text)
    transcript: Mapped[list[dict[str, Any]] | None] = mapped_column(JSON)
    system_prompt_hash: Mapped[str | None] = mapped_column(ForeignKey("system_prompts.hash"))

    __table_args__ = (
        Index("ix_decision_cycles_run_started_at", "run_id", "started_at"),
        # A run's failed model calls counted without reading every cycle: errors are rare.
        Index(
            "ix_decision_cycles_run_errors",
            "run_id",
            sqlite_where=text("error IS NOT NULL"),
            postgresql_where=text("error IS NOT NULL"),
        ),
    )


class ExecutionPurpose(StrEnum):
    ENTRY = "entry"
    STOP_LOSS = "stop_loss"
    TAKE_PROFIT = "take_profit"
    CLOSE = "close"


class TradeExecution(Base):
    """One exchange order, mirrored: ids, status, filled quantity, average price, fee, PnL."""

    __tablename__ = "trade_executions"

    id: Mapped[int] = mapped_column(primary_key=True)
    run_id: Mapped[str] = _run_id()
    decision_id: Mapped[int | None] = mapped_column(ForeignKey("decisions.id"))
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    symbol: Mapped[str] = mapped_column(String(20))
    side: Mapped[str] = mapped_column(String(4))
    order_type: Mapped[str] = mapped_column(String(24))
    purpose: Mapped[str] = mapped_column(String(16))
    client_order_id: Mapped[str] = mapped_column(String(36), unique=True)
    exchange_order_id: Mapped[str | None] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(20))
    quantity: Mapped[Decimal]
    price: Mapped[Decimal | None]
    stop_price: Mapped[Decimal | None]
    reduce_only: Mapped[bool] = mapped_column(default=False)
    filled_quantity: Mapped[Decimal] = mapped_column(default=Decimal(0))
    avg_price: Mapped[Decimal | None]
    fee: Mapped[Decimal] = mapped_column(default=Decimal(0))
    fee_asset: Mapped[str | None] = mapped_column(String(16))
    realized_pnl: Mapped[Decimal] = mapped_column(default=Decimal(0))
    error: Mapped[str | None] = mapped_column(Text)

    __table_args__ = (
        Index("ix_trade_executions_run_id", "run_id", "id"),
        Index("ix_trade_executions_run_symbol", "run_id", "symbol", "id"),
        Index("ix_trade_executions_run_status", "run_id", "status", "id"),
        Index("ix_trade_executions_decision_id", "decision_id"),
        # The newest change of a run (the performance report's cache marker) without a scan.
        Index("ix_trade_executions_run_updated_at", "run_id", "updated_at"),
    )


class AccountSnapshot(Base):
    """The account at one moment, for the equity curve and performance metrics."""

    __tablename__ = "account_snapshots"

    id: Mapped[int] = mapped_column(primary_key=True)
    run_id: Mapped[str] = _run_id()
    taken_at: Mapped[datetime]
    environment: Mapped[str] = mapped_column(String(16))
    wallet_balance: Mapped[Decimal]
    equity: Mapped[Decimal]
    available_balance: Mapped[Decimal]
    unrealized_pnl: Mapped[Decimal]
    margin_used: Mapped[Decimal]
    open_positions: Mapped[int]
    positions: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)

    __table_args__ = (Index("ix_account_snapshots_run_taken_at", "run_id", "taken_at"),)


class PaperAccount(Base):
    """The paper exchange's account of one run, so `alphatransformer run` resumes it after a
    restart: positions and settings as one versioned JSON document (see `trading.paper.state`);
    its orders and income are rows of their own, as they pile up."""

    __tablename__ = "paper_accounts"

    run_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    state: Mapped[str] = mapped_column(Text)


class PaperOrder(Base):
    """The latest update of one paper order, which a restart must still answer queries about."""

    __tablename__ = "paper_orders"

    run_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    client_order_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    order_id: Mapped[int]
    symbol: Mapped[str] = mapped_column(String(20))
    side: Mapped[str] = mapped_column(String(4))
    order_type: Mapped[str] = mapped_column(String(24))
    status: Mapped[str] = mapped_column(String(20))
    quantity: Mapped[Decimal]
    filled_quantity: Mapped[Decimal]
    avg_price: Mapped[Decimal | None]
    price: Mapped[Decimal | None]
    stop_price: Mapped[Decimal | None]
    reduce_only: Mapped[bool]
    close_position: Mapped[bool]
    fee: Mapped[Decimal]
    fee_asset: Mapped[str] = mapped_column(String(16))
    realized_pnl: Mapped[Decimal]
    update_time_ms: Mapped[int] = mapped_column(BigInteger)


class PaperIncome(Base):
    """One entry of a paper account's income ledger; the wallet balance is their sum."""

    __tablename__ = "paper_income"

    run_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    tran_id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    symbol: Mapped[str] = mapped_column(String(20))
    income_type: Mapped[str] = mapped_column(String(24))
    income: Mapped[Decimal]
    asset: Mapped[str] = mapped_column(String(16))
    info: Mapped[str] = mapped_column(String(64))
    time_ms: Mapped[int] = mapped_column(BigInteger)
