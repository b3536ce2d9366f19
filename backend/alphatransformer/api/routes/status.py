"""Agent status and liveness."""

from __future__ import annotations

from fastapi import APIRouter

from alphatransformer.api.dependencies import RuntimeDep
from alphatransformer.api.errors import ERROR_RESPONSES
from alphatransformer.api.schemas import CycleSummary, StatusResponse, SymbolData
from alphatransformer.runtime import Runtime
from alphatransformer.utils.clock import to_datetime

router = APIRouter()

SIMULATED_NOTICE = "SIMULATED MARKET: prices are synthetic, not Binance's"


@router.get(
    "/api/status",
    response_model=StatusResponse,
    tags=["status"],
    responses=ERROR_RESPONSES,
)
async def status(runtime: RuntimeDep) -> StatusResponse:
    """What the agent is doing, on which market and exchange, and how fresh its data is."""
    config = runtime.config
    engine_status = runtime.engine.status
    now = to_datetime(runtime.clock.now_ms())
    started = engine_status.started_at
    last = engine_status.last_cycle
    return StatusResponse(
        state=engine_status.state.value,
        state_reason=engine_status.reason,
        environment=config.environment.value,
        market_source=config.market.source,
        simulated_market=runtime.market.is_simulated,
        notice=SIMULATED_NOTICE if runtime.market.is_simulated else None,
        exchange=runtime.exchange.name,
        provider=config.agent.provider,
        model=runtime.decision_maker.model_name,
        symbols=list(config.symbols),
        started_at=started,
        uptime_seconds=None if started is None else (now - started).total_seconds(),
        cycle_seconds=config.agent.cycle_seconds,
        cycles=engine_status.cycles,
        missed_cycles=engine_status.missed_cycles,
        last_cycle=None
        if last is None
        else CycleSummary(
            cycle_id=last.cycle_id,
            started_at=last.started_at,
            finished_at=last.finished_at,
            outcome=last.outcome,
            decisions=last.decisions,
            executed=last.executed,
            rejected=last.rejected,
            failed=last.failed,
            error=last.error,
        ),
        next_cycle_at=engine_status.next_cycle_at,
        reconciliation=engine_status.reconciliation,
        reconciled_at=engine_status.reconciled_at,
        market_data=[_symbol_data(runtime, s) for s in config.symbols],
    )


def _symbol_data(runtime: Runtime, symbol: str) -> SymbolData:
    market = runtime.market
    last_ms = market.last_update_ms(symbol)
    max_age_ms = int(runtime.config.market.max_staleness_seconds * 1000)
    try:
        price: float | None = market.latest_price(symbol)
    except KeyError:
        price = None
    return SymbolData(
        symbol=symbol,
        price=price,
        last_update=None if last_ms is None else to_datetime(last_ms),
        fresh=market.is_fresh(symbol, max_age_ms),
    )
