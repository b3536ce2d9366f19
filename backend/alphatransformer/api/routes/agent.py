"""Steering the agents: start, stop (optionally closing positions), kill; one agent by its name
(`/api/agents/{name}/...`) or every agent at once (`/api/agent/...`)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterable
from typing import Annotated

from fastapi import APIRouter, Path, Query

from alphatransformer.api.auth import ControlAuth
from alphatransformer.api.dependencies import AGENT_PATTERN, ArenaDep, agent_runtime
from alphatransformer.api.errors import ERROR_RESPONSES
from alphatransformer.api.schemas import ArenaControlResult, ControlResult
from alphatransformer.runtime import Runtime

router = APIRouter(tags=["control"], dependencies=[ControlAuth], responses=ERROR_RESPONSES)

KILLED = "killed by the operator"
ClosePositions = Annotated[bool, Query(description="Also close every position.")]
AgentName = Annotated[str, Path(pattern=AGENT_PATTERN, description="The agent's name.")]
Command = Callable[[Runtime], Awaitable[bool]]


def _start(runtime: Runtime) -> Awaitable[bool]:
    return runtime.engine.resume()


def _stop(close_positions: bool) -> Command:
    return lambda runtime: runtime.engine.pause(close_positions=close_positions)


async def _kill(runtime: Runtime) -> bool:
    await runtime.engine.kill(KILLED)
    return True


@router.post("/api/agent/start", response_model=ArenaControlResult)
async def start_all(arena: ArenaDep) -> ArenaControlResult:
    """Resume every agent's cycles (also after a kill); running agents are left as they are."""
    return await _all(arena.agents.values(), _start)


@router.post("/api/agent/stop", response_model=ArenaControlResult)
async def stop_all(arena: ArenaDep, close_positions: ClosePositions = False) -> ArenaControlResult:
    """Stop every agent after its cycle in progress; feeds and protective orders stay live."""
    return await _all(arena.agents.values(), _stop(close_positions))


@router.post("/api/agent/kill", response_model=ArenaControlResult)
async def kill_all(arena: ArenaDep) -> ArenaControlResult:
    """Halt every agent now: refuse new entries, stop cycling and close every position."""
    return await _all(arena.agents.values(), _kill)


@router.post("/api/agents/{name}/start", response_model=ControlResult)
async def start(arena: ArenaDep, name: AgentName) -> ControlResult:
    """Resume one agent's cycles (also after a kill); starting a running agent changes nothing."""
    return await _one(agent_runtime(arena, name), _start)


@router.post("/api/agents/{name}/stop", response_model=ControlResult)
async def stop(
    arena: ArenaDep, name: AgentName, close_positions: ClosePositions = False
) -> ControlResult:
    """Stop one agent after its cycle in progress; its protective orders stay live."""
    return await _one(agent_runtime(arena, name), _stop(close_positions))


@router.post("/api/agents/{name}/kill", response_model=ControlResult)
async def kill(arena: ArenaDep, name: AgentName) -> ControlResult:
    """Halt one agent now: refuse its new entries, stop its cycles, close its positions."""
    return await _one(agent_runtime(arena, name), _kill)


async def _one(runtime: Runtime, command: Command) -> ControlResult:
    changed = await command(runtime)
    status = runtime.engine.status
    return ControlResult(
        agent=runtime.name, changed=changed, state=status.state.value, reason=status.reason
    )


async def _all(runtimes: Iterable[Runtime], command: Command) -> ArenaControlResult:
    """Every agent at once: one agent's slow cycle does not hold the others' commands."""
    results = await asyncio.gather(*(_one(runtime, command) for runtime in runtimes))
    return ArenaControlResult(changed=any(r.changed for r in results), agents=list(results))
