"""Orders as the exchange saw them, one row per order."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from alphatransformer.api.dependencies import RuntimeDep
from alphatransformer.api.errors import ERROR_RESPONSES, MAX_ID
from alphatransformer.api.schemas import ExecutionOut, ExecutionPage

router = APIRouter(tags=["executions"], responses=ERROR_RESPONSES)


@router.get("/api/executions", response_model=ExecutionPage)
async def list_executions(
    runtime: RuntimeDep,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    before_id: Annotated[int | None, Query(ge=1, le=MAX_ID, description="Page cursor.")] = None,
    symbol: Annotated[str | None, Query(pattern=r"^[A-Z0-9]{2,20}$")] = None,
    status: Annotated[str | None, Query(pattern=r"^[A-Z_]{3,20}$")] = None,
) -> ExecutionPage:
    """Newest first; pass `next_before_id` back as `before_id` for older ones."""
    rows = await runtime.executions.page(
        limit=limit + 1, symbol=symbol, status=status, before_id=before_id
    )
    items = [ExecutionOut.model_validate(row) for row in rows[:limit]]
    return ExecutionPage(items=items, next_before_id=items[-1].id if len(rows) > limit else None)
