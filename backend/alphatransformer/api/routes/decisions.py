"""The decision log, newest first, with keyset pagination."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, HTTPException, Path, Query

from alphatransformer.api.dependencies import RuntimeDep
from alphatransformer.api.errors import ERROR_RESPONSES, MAX_ID
from alphatransformer.api.schemas import (
    CycleOut,
    DecisionDetail,
    DecisionOut,
    DecisionPage,
    ErrorResponse,
    ExecutionOut,
)
from alphatransformer.api.time_params import IsoDatetime
from alphatransformer.database.repositories import DecisionFilter

router = APIRouter(tags=["decisions"], responses=ERROR_RESPONSES)

ActionName = Literal["open_long", "open_short", "close", "hold"]
StatusName = Literal["pending", "hold", "executed", "rejected", "failed"]


@router.get("/api/decisions", response_model=DecisionPage)
async def list_decisions(
    runtime: RuntimeDep,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    before_id: Annotated[int | None, Query(ge=1, le=MAX_ID, description="Page cursor.")] = None,
    symbol: Annotated[str | None, Query(pattern=r"^[A-Z0-9]{2,20}$")] = None,
    action: ActionName | None = None,
    status: StatusName | None = None,
    since: IsoDatetime | None = None,
    until: IsoDatetime | None = None,
) -> DecisionPage:
    """Decisions newest first; pass `next_before_id` back as `before_id` for older ones."""
    filters = DecisionFilter(symbol, action, status, since, until, before_id)
    rows = await runtime.decisions.page_rows(filters, limit + 1)
    next_before = rows[limit - 1]["id"] if len(rows) > limit else None
    return DecisionPage.model_validate({"items": rows[:limit], "next_before_id": next_before})


@router.get(
    "/api/decisions/{decision_id}",
    response_model=DecisionDetail,
    responses={404: {"model": ErrorResponse, "description": "No such decision"}},
)
async def get_decision(
    runtime: RuntimeDep, decision_id: Annotated[int, Path(ge=1, le=MAX_ID)]
) -> DecisionDetail:
    """One decision with the model call that produced it and the orders it placed."""
    row = await runtime.decisions.get(decision_id)
    if row is None:
        raise HTTPException(404, f"no decision with id {decision_id}")
    cycle = await runtime.decisions.cycle(row.cycle_id)
    executions = await runtime.executions.for_decision(decision_id)
    return DecisionDetail(
        **DecisionOut.model_validate(row).model_dump(),
        cycle=None if cycle is None else CycleOut.model_validate(cycle),
        executions=[ExecutionOut.model_validate(e) for e in executions],
    )
