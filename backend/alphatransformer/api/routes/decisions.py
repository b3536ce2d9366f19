"""The decision log, newest first, with keyset pagination."""

from __future__ import annotations

import heapq
from collections.abc import Sequence
from typing import Annotated, Literal, Protocol, TypeVar

from fastapi import APIRouter, HTTPException, Path, Query

from alphatransformer.api.dependencies import ArenaDep, RuntimesDep
from alphatransformer.api.errors import ERROR_RESPONSES, MAX_ID
from alphatransformer.api.schemas import (
    CycleDetail,
    CycleOut,
    DecisionDetail,
    DecisionPage,
)
from alphatransformer.api.time_params import IsoDatetime
from alphatransformer.api.views import chat_messages, decision_out, execution_out
from alphatransformer.database.repositories import DecisionFilter

router = APIRouter(tags=["decisions"], responses=ERROR_RESPONSES)

ActionName = Literal["open_long", "open_short", "close", "hold"]
StatusName = Literal["pending", "hold", "executed", "rejected", "failed"]


class _Identified(Protocol):
    @property
    def id(self) -> int: ...


_Item = TypeVar("_Item", bound=_Identified)


def _id(item: _Identified) -> int:
    return item.id


@router.get("/api/decisions", response_model=DecisionPage)
async def list_decisions(
    runtimes: RuntimesDep,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    before_id: Annotated[int | None, Query(ge=1, le=MAX_ID, description="Page cursor.")] = None,
    symbol: Annotated[str | None, Query(pattern=r"^[A-Z0-9]{2,20}$")] = None,
    action: ActionName | None = None,
    status: StatusName | None = None,
    since: IsoDatetime | None = None,
    until: IsoDatetime | None = None,
) -> DecisionPage:
    """Decisions of `agent` (or of every agent) newest first; pass `next_before_id` back as
    `before_id` for older ones."""
    filters = DecisionFilter(symbol, action, status, since, until, before_id)
    pages = [
        [
            decision_out(runtime.name, row)
            for row in await runtime.decisions.page_rows(filters, limit + 1)
        ]
        for runtime in runtimes
    ]
    items = newest_first(pages, limit + 1)
    next_before = items[limit - 1].id if len(items) > limit else None
    return DecisionPage(items=items[:limit], next_before_id=next_before)


@router.get(
    "/api/decisions/{decision_id}",
    response_model=DecisionDetail,
)
async def get_decision(
    arena: ArenaDep, decision_id: Annotated[int, Path(ge=1, le=MAX_ID)]
) -> DecisionDetail:
    """One decision, of any agent, with the model call that produced it and its orders."""
    for runtime in arena.agents.values():
        row = await runtime.decisions.get(decision_id)
        if row is not None and row.run_id == runtime.run_id:
            break
    else:
        raise HTTPException(404, f"no decision with id {decision_id}")
    cycle = await runtime.decisions.cycle(row.cycle_id)
    executions = await runtime.executions.for_decision(decision_id)
    return DecisionDetail(
        **decision_out(runtime.name, row).model_dump(),
        cycle=None if cycle is None else CycleOut.model_validate(cycle),
        executions=[execution_out(runtime.name, e) for e in executions],
    )


@router.get(
    "/api/cycles/{cycle_id}",
    response_model=CycleDetail,
)
async def get_cycle(
    arena: ArenaDep, cycle_id: Annotated[str, Path(min_length=1, max_length=80)]
) -> CycleDetail:
    """One cycle's whole model chat: system and user prompts, every tool call and its result,
    the answer; with its tokens, cost, latency and the decisions it produced."""
    for runtime in arena.agents.values():
        cycle = await runtime.decisions.cycle(cycle_id)
        if cycle is not None and cycle.run_id == runtime.run_id:
            break
    else:
        raise HTTPException(404, f"no cycle with id {cycle_id!r}")
    rows = await runtime.decisions.of_cycle(cycle_id)
    return CycleDetail(
        **CycleOut.model_validate(cycle).model_dump(),
        agent=runtime.name,
        messages=chat_messages(cycle.transcript),
        decisions=[decision_out(runtime.name, row) for row in rows],
    )


def newest_first(pages: Sequence[Sequence[_Item]], limit: int) -> list[_Item]:
    """Pages of several agents merged newest first (ids grow over the whole database)."""
    if len(pages) == 1:
        return list(pages[0][:limit])
    return heapq.nlargest(limit, (item for page in pages for item in page), key=_id)
