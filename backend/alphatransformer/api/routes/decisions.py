"""The decision log, newest first, with keyset pagination."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Query

from alphatransformer.api.dependencies import RuntimeDep
from alphatransformer.api.schemas import DecisionOut, DecisionPage
from alphatransformer.database.repositories import DecisionFilter

router = APIRouter(tags=["decisions"])

ActionName = Literal["open_long", "open_short", "close", "hold"]
StatusName = Literal["pending", "hold", "executed", "rejected", "failed"]


@router.get("/api/decisions", response_model=DecisionPage)
async def list_decisions(
    runtime: RuntimeDep,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    before_id: Annotated[int | None, Query(ge=1, description="Page cursor.")] = None,
    symbol: Annotated[str | None, Query(pattern=r"^[A-Z0-9]{2,20}$")] = None,
    action: ActionName | None = None,
    status: StatusName | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> DecisionPage:
    """Decisions newest first; pass `next_before_id` back as `before_id` for older ones."""
    filters = DecisionFilter(symbol, action, status, _utc(since), _utc(until), before_id)
    rows = await runtime.decisions.list(filters, limit + 1)
    items = [DecisionOut.model_validate(row) for row in rows[:limit]]
    next_before = items[-1].id if len(rows) > limit else None
    return DecisionPage(items=items, next_before_id=next_before)


def _utc(moment: datetime | None) -> datetime | None:
    """A time without an offset is taken as UTC, the time zone of every stored row."""
    if moment is None or moment.tzinfo is not None:
        return moment
    return moment.replace(tzinfo=UTC)
