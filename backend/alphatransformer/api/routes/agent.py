"""Steering the agent: start, stop (optionally closing positions), kill."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from alphatransformer.api.auth import ControlAuth
from alphatransformer.api.dependencies import RuntimeDep
from alphatransformer.api.errors import ERROR_RESPONSES
from alphatransformer.api.schemas import ControlResult
from alphatransformer.engine import TradingEngine

router = APIRouter(
    prefix="/api/agent", tags=["control"], dependencies=[ControlAuth], responses=ERROR_RESPONSES
)


@router.post("/start", response_model=ControlResult)
async def start(runtime: RuntimeDep) -> ControlResult:
    """Resume decision cycles (also after a kill). Starting a running agent changes nothing."""
    changed = await runtime.engine.resume()
    return _result(runtime.engine, changed)


@router.post("/stop", response_model=ControlResult)
async def stop(
    runtime: RuntimeDep,
    close_positions: Annotated[bool, Query(description="Also close every position.")] = False,
) -> ControlResult:
    """Stop after the cycle in progress finishes; feeds and protective orders stay live."""
    changed = await runtime.engine.pause(close_positions=close_positions)
    return _result(runtime.engine, changed)


@router.post("/kill", response_model=ControlResult)
async def kill(runtime: RuntimeDep) -> ControlResult:
    """Halt now: refuse new entries, stop cycling and close every position."""
    await runtime.engine.kill("killed by the operator")
    return _result(runtime.engine, True)


def _result(engine: TradingEngine, changed: bool) -> ControlResult:
    status = engine.status
    return ControlResult(changed=changed, state=status.state.value, reason=status.reason)
