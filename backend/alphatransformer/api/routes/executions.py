"""Orders as the exchange saw them, one row per order."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from alphatransformer.api.dependencies import RuntimesDep
from alphatransformer.api.errors import ERROR_RESPONSES, MAX_ID
from alphatransformer.api.routes.decisions import newest_first
from alphatransformer.api.schemas import ExecutionPage, TradeOut
from alphatransformer.api.views import execution_out, trade_out
from alphatransformer.trading.performance import closed_trades

router = APIRouter(tags=["executions"], responses=ERROR_RESPONSES)


@router.get("/api/executions", response_model=ExecutionPage)
async def list_executions(
    runtimes: RuntimesDep,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    before_id: Annotated[int | None, Query(ge=1, le=MAX_ID, description="Page cursor.")] = None,
    symbol: Annotated[str | None, Query(pattern=r"^[A-Z0-9]{2,20}$")] = None,
    status: Annotated[str | None, Query(pattern=r"^[A-Z_]{3,20}$")] = None,
) -> ExecutionPage:
    """Orders of `agent` (or of every agent) newest first; pass `next_before_id` back as
    `before_id` for older ones."""
    pages = [
        [
            execution_out(runtime.name, row)
            for row in await runtime.executions.page(
                limit=limit + 1, symbol=symbol, status=status, before_id=before_id
            )
        ]
        for runtime in runtimes
    ]
    items = newest_first(pages, limit + 1)
    next_before = items[limit - 1].id if len(items) > limit else None
    return ExecutionPage(items=items[:limit], next_before_id=next_before)


@router.get("/api/trades", response_model=list[TradeOut])
async def list_trades(
    runtimes: RuntimesDep, limit: Annotated[int, Query(ge=1, le=1000)] = 100
) -> list[TradeOut]:
    """Completed round trips of `agent` (or of every agent), the latest close first: open and
    close times, side, size, entry and exit, gross PnL, fees, net PnL and hold time, rebuilt
    from the fills as a backtest's trades.csv is."""
    trades = [
        trade_out(runtime.name, trade)
        for runtime in runtimes
        for trade in closed_trades(await runtime.executions.fills())
    ]
    trades.sort(key=lambda trade: trade.closed_at, reverse=True)
    return trades[:limit]
