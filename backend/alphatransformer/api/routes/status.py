"""System status: the market, and where every agent stands."""

from __future__ import annotations

from fastapi import APIRouter

from alphatransformer.api.dependencies import ArenaDep
from alphatransformer.api.errors import ERROR_RESPONSES
from alphatransformer.api.schemas import StatusResponse, SymbolData
from alphatransformer.api.views import agent_out, cycle_summary
from alphatransformer.arena import PriceTick
from alphatransformer.utils.clock import to_datetime

router = APIRouter()

SIMULATED_NOTICE = "SIMULATED MARKET: prices are synthetic, not Binance's"


@router.get(
    "/api/status",
    response_model=StatusResponse,
    tags=["status"],
    responses=ERROR_RESPONSES,
)
async def status(arena: ArenaDep) -> StatusResponse:
    """What the agents are doing, on which market and exchange, and how fresh the data is."""
    config = arena.config
    first = arena.first
    engine_status = first.engine.status
    now = to_datetime(arena.shared.clock.now_ms())
    started = engine_status.started_at
    simulated = arena.market.is_simulated
    return StatusResponse(
        state=engine_status.state.value,
        state_reason=engine_status.reason,
        environment=config.environment.value,
        market_source=config.market.source,
        simulated_market=simulated,
        notice=SIMULATED_NOTICE if simulated else None,
        exchange=first.exchange.name,
        provider=first.config.agent.provider,
        model=first.decision_maker.model_name,
        symbols=list(config.symbols),
        started_at=started,
        uptime_seconds=None if started is None else (now - started).total_seconds(),
        cycle_seconds=config.agent.cycle_seconds,
        cycles=engine_status.cycles,
        missed_cycles=engine_status.missed_cycles,
        last_cycle=cycle_summary(engine_status.last_cycle),
        next_cycle_at=engine_status.next_cycle_at,
        reconciliation=engine_status.reconciliation,
        reconciled_at=engine_status.reconciled_at,
        market_data=[symbol_data(tick) for tick in arena.prices()],
        agents=[await agent_out(runtime) for runtime in arena.agents.values()],
    )


def symbol_data(tick: PriceTick) -> SymbolData:
    last = tick.last_update_ms
    return SymbolData(
        symbol=tick.symbol,
        price=tick.price,
        last_update=None if last is None else to_datetime(last),
        fresh=tick.fresh,
    )
