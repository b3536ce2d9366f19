"""The tools the agent may call to look deeper than the first message: candles, indicators,
the account, positions and its own recent decisions.

The tools are built once; each call reads the running cycle's `CycleContext` (the market and the
account snapshot the cycle decides on) from a context variable that `cycle_context` sets. So an
agent is compiled once per decision maker, not once per cycle (that rebuild was a third of a
backtest's time), while two cycles still never share state: each asyncio task sees its own.
Arguments are untrusted model output: an unknown symbol or interval, or a limit out of range,
comes back as an `error: ...` string the model can read and correct, never as an exception that
would end the cycle. Every tool is a coroutine, so it reads the market on the event loop, never
from a worker thread while the feed writes to it.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from langchain_core.tools import BaseTool, ToolException, tool
from pydantic import ValidationError
from pydantic.v1 import ValidationError as ValidationErrorV1

from alphatransformer.agent.indicators import compute_indicators, latest
from alphatransformer.agent.prompt import PRICE_DIGITS, number
from alphatransformer.database.models import Decision
from alphatransformer.database.repositories import DecisionFilter
from alphatransformer.market.market_data import MarketData
from alphatransformer.market.types import Interval
from alphatransformer.trading.models import Account, Position
from alphatransformer.utils.clock import to_datetime

MAX_KLINES = 200
MAX_DECISIONS = 50
FIGURE_DIGITS = 6
REASONING_CHARS = 300  # a past decision's reasoning, cut to keep the answer small

RecentDecisions = Callable[[DecisionFilter, int], Awaitable[Sequence[Decision]]]
"""Newest-first decision rows, as `DecisionRepository.list` returns them."""


@dataclass(frozen=True, slots=True)
class CycleContext:
    """What one cycle decides on: the symbols, the market, the account snapshot, the timeframes.

    The tools read it, and so does the rules chat model, which computes its answer from it.
    """

    symbols: tuple[str, ...]
    market: MarketData
    account: Account
    short: Interval
    long: Interval
    recent_decisions: RecentDecisions | None = None


def _describe_validation_error(error: ValidationError | ValidationErrorV1) -> str:
    """Arguments of the wrong type, in words the model can act on."""
    problems = [f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in error.errors()]
    return "error: invalid arguments (" + "; ".join(problems) + ")"


def _agent_tool(function: Callable[..., Awaitable[str]]) -> BaseTool:
    """A tool whose failures go back to the model as text instead of ending the cycle."""
    made = tool(function)
    made.handle_tool_error = True
    made.handle_validation_error = _describe_validation_error
    return made


_CURRENT_CYCLE: ContextVar[CycleContext] = ContextVar("cycle_context")


@contextmanager
def cycle_context(context: CycleContext) -> Iterator[CycleContext]:
    """Make `context` the cycle that the tools and the rules model read, inside the block (and
    in the tasks started from it)."""
    token = _CURRENT_CYCLE.set(context)
    try:
        yield context
    finally:
        _CURRENT_CYCLE.reset(token)


def current_cycle() -> CycleContext:
    try:
        return _CURRENT_CYCLE.get()
    except LookupError:
        raise RuntimeError("no decision cycle is running: enter cycle_context() first") from None


@_agent_tool
async def get_market_snapshot() -> str:
    """Latest price, funding rate (per 8 h), next funding time and open interest of every
    traded symbol, and whether its data is fresh."""
    context = current_cycle()
    return _json([_ticker(context.market, symbol) for symbol in context.symbols])


@_agent_tool
async def get_klines(symbol: str, interval: str, limit: int = 50) -> str:
    """Closed candles of `symbol` on `interval`, oldest first, as CSV
    (open time UTC, open, high, low, close, volume); at most 200."""
    context = current_cycle()
    _check_symbol(context, symbol)
    candles = context.market.klines(symbol, _interval(context, interval), _limit(limit, MAX_KLINES))
    rows = [
        ",".join(
            [
                _minute(k.open_time),
                *(number(price, PRICE_DIGITS) for price in (k.open, k.high, k.low, k.close)),
                number(k.volume, FIGURE_DIGITS),
            ]
        )
        for k in candles
    ]
    return "\n".join(["open_time,open,high,low,close,volume", *rows])


@_agent_tool
async def get_indicators(symbol: str, interval: str) -> str:
    """Latest value of every standard indicator of `symbol` on `interval`: EMA20/50, MACD
    12/26/9 (line, signal, histogram), RSI7/14, ATR3/14, Bollinger 20/2, volume and its
    20-candle average; null while an indicator is still warming up."""
    context = current_cycle()
    _check_symbol(context, symbol)
    candles = context.market.arrays(symbol, _interval(context, interval))
    values = compute_indicators(candles).values()
    figures = {name: _figure(latest(series)) for name, series in values.items()}
    return _json({"symbol": symbol, "interval": interval, "candles": len(candles), **figures})


@_agent_tool
async def get_account() -> str:
    """The account at the start of this cycle: wallet balance, unrealized PnL, equity
    (account value), available balance (cash for new margin), margin in use."""
    account = current_cycle().account
    return _json(
        {
            "asset": account.asset,
            "wallet_balance": account.wallet_balance,
            "unrealized_pnl": account.unrealized_pnl,
            "equity": account.equity,
            "available_balance": account.available_balance,
            "margin_used": account.margin_used,
            "open_positions": len(account.positions),
        }
    )


@_agent_tool
async def get_positions() -> str:
    """Open positions at the start of this cycle; quantity is signed (negative is short)."""
    return _json([_position(p) for p in current_cycle().account.positions])


@_agent_tool
async def get_recent_decisions(symbol: str | None = None, limit: int = 10) -> str:
    """Your own latest decisions, newest first, with what became of them (executed,
    rejected with the reason, hold...); for one symbol or all; at most 50."""
    context = current_cycle()
    if context.recent_decisions is None:
        raise ToolException("error: no decision history is available")
    if symbol is not None:
        _check_symbol(context, symbol)
    rows = await context.recent_decisions(
        DecisionFilter(symbol=symbol), _limit(limit, MAX_DECISIONS)
    )
    return _json([_decision(row) for row in rows])


_CYCLE_TOOLS = (get_market_snapshot, get_klines, get_indicators, get_account, get_positions)


def build_tools(*, with_recent_decisions: bool) -> list[BaseTool]:
    """The agent's tools; `get_recent_decisions` only when cycles carry a decision history."""
    return [*_CYCLE_TOOLS, get_recent_decisions] if with_recent_decisions else [*_CYCLE_TOOLS]


def _figure(value: float | None) -> float | None:
    """An indicator value to `FIGURE_DIGITS` significant digits: past that it is noise."""
    return None if value is None else float(number(value, FIGURE_DIGITS))


def _check_symbol(context: CycleContext, symbol: str) -> None:
    if symbol not in context.symbols:
        raise ToolException(
            f"error: unknown symbol {symbol!r}; use one of {', '.join(context.symbols)}"
        )


def _interval(context: CycleContext, value: str) -> Interval:
    available = ", ".join(i.value for i in context.market.intervals)
    try:
        interval = Interval(value)
    except ValueError:
        raise ToolException(f"error: unknown interval {value!r}; use one of {available}") from None
    if interval not in context.market.intervals:
        raise ToolException(f"error: interval {value} is not loaded; use one of {available}")
    return interval


def _limit(limit: int, maximum: int) -> int:
    if not 1 <= limit <= maximum:
        raise ToolException(f"error: limit must be between 1 and {maximum}, got {limit}")
    return limit


def _ticker(market: MarketData, symbol: str) -> dict[str, Any]:
    funding = market.funding(symbol)
    open_interest = market.open_interest(symbol)
    return {
        "symbol": symbol,
        "price": market.latest_price(symbol),
        "funding_rate": None if funding is None else _figure(funding.funding_rate),
        "next_funding": None if funding is None else _minute(funding.next_funding_time),
        "funding_interval_hours": None if funding is None else funding.interval_hours,
        "open_interest": None if open_interest is None else open_interest.open_interest,
        "last_update": _optional_minute(market.last_update_ms(symbol)),
    }


def _position(position: Position) -> dict[str, Any]:
    return {
        "symbol": position.symbol,
        "quantity": position.quantity,
        "entry_price": position.entry_price,
        "mark_price": position.mark_price,
        "unrealized_pnl": position.unrealized_pnl,
        "leverage": position.leverage,
        "margin": position.margin,
        "liquidation_price": position.liquidation_price,
    }


def _decision(row: Decision) -> dict[str, Any]:
    """A past decision as the model reads it. No row id: it tells the model nothing, and it
    differs between databases, so a replayed run would miss the model response cache."""
    return {
        "time": _iso_minute(row.created_at),
        "symbol": row.symbol,
        "action": row.action,
        "status": row.status,
        "status_reason": row.status_reason,
        "confidence": row.confidence,
        "quantity": row.quantity,
        "leverage": row.leverage,
        "stop_loss": row.stop_loss,
        "take_profit": row.take_profit,
        "invalidation_condition": row.invalidation_condition,
        "reasoning": row.reasoning[:REASONING_CHARS],
    }


def _minute(timestamp_ms: int) -> str:
    return _iso_minute(to_datetime(timestamp_ms))


def _optional_minute(timestamp_ms: int | None) -> str | None:
    return None if timestamp_ms is None else _minute(timestamp_ms)


def _iso_minute(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M")


def _json(value: object) -> str:
    """Compact JSON, decimals as their exact strings."""
    return json.dumps(value, separators=(",", ":"), default=_plain)


def _plain(value: object) -> str:
    if isinstance(value, Decimal):
        return str(value)
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")
