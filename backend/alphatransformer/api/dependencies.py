"""How routes reach the running system: the arena, and the agent or agents a request names."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, HTTPException, Query, Request

from alphatransformer.arena import LiveArena, UnknownAgent
from alphatransformer.runtime import Runtime

AGENT_PATTERN = r"^[a-z0-9][a-z0-9_.-]{0,23}$"


async def _arena(request: Request) -> LiveArena:
    # Async although it never awaits: a plain `def` dependency would run in a worker thread.
    arena: LiveArena = request.app.state.arena
    return arena


ArenaDep = Annotated[LiveArena, Depends(_arena)]

AgentParam = Annotated[
    str | None,
    Query(
        alias="agent",
        pattern=AGENT_PATTERN,
        description="An agent's name (see /api/agents).",
    ),
]


def _found(arena: LiveArena, name: str | None) -> list[Runtime]:
    try:
        return arena.selected(name)
    except UnknownAgent as error:
        raise HTTPException(404, str(error)) from None


async def _one_agent(arena: ArenaDep, agent: AgentParam = None) -> Runtime:
    """The agent named, or the first configured one when the request names none."""
    return _found(arena, agent)[0]


async def _agents(arena: ArenaDep, agent: AgentParam = None) -> list[Runtime]:
    """The agent named, or every agent when the request names none."""
    return _found(arena, agent)


RuntimeDep = Annotated[Runtime, Depends(_one_agent)]
"""One agent: `agent=NAME`, or the first configured agent."""
RuntimesDep = Annotated[list[Runtime], Depends(_agents)]
"""`agent=NAME` alone, or every agent."""


def agent_runtime(arena: LiveArena, name: str) -> Runtime:
    """The agent a path names, or 404."""
    return _found(arena, name)[0]
