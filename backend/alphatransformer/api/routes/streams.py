"""Live streams: a new client gets the current state first, then every update, with heartbeats.

`?agent=NAME` follows one agent; without it a client follows every agent. Every message says
which agent it is about (`agent`; null for what all share, like prices). Each client reads from
its own bounded queue on the event bus, so a slow client skips ahead (and is told how many
updates it missed) instead of slowing the engines or other clients.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
from typing import Any

from fastapi import APIRouter, WebSocket, WebSocketDisconnect, status

from alphatransformer.api.auth import websocket_allowed
from alphatransformer.api.dependencies import AGENT_PATTERN
from alphatransformer.api.routes.status import symbol_data
from alphatransformer.api.schemas import AccountOut
from alphatransformer.api.views import agent_out, decision_out, positions_out
from alphatransformer.arena import LiveArena
from alphatransformer.events import Event, Subscription, Topic

router = APIRouter()

HEARTBEAT_SECONDS = 15.0
_AGENT = re.compile(AGENT_PATTERN)


@router.websocket("/ws/decisions")
async def decisions_stream(websocket: WebSocket) -> None:
    await _stream(websocket, Topic.DECISIONS)


@router.websocket("/ws/positions")
async def positions_stream(websocket: WebSocket) -> None:
    await _stream(websocket, Topic.POSITIONS)


@router.websocket("/ws/account")
async def account_stream(websocket: WebSocket) -> None:
    await _stream(websocket, Topic.ACCOUNT)


@router.websocket("/ws/status")
async def status_stream(websocket: WebSocket) -> None:
    """Each agent's `/api/agents` entry, on every state change and after every cycle."""
    await _stream(websocket, Topic.STATUS)


@router.websocket("/ws/market")
async def market_stream(websocket: WebSocket) -> None:
    """The traded symbols' prices and freshness, about once a second."""
    await _stream(websocket, Topic.MARKET)


async def _stream(websocket: WebSocket, topic: Topic) -> None:
    if not websocket_allowed(websocket):
        await websocket.close(code=status.WS_1008_POLICY_VIOLATION, reason="token required")
        return
    arena: LiveArena = websocket.app.state.arena
    agent = websocket.query_params.get("agent")
    if agent is not None and (not _AGENT.fullmatch(agent) or agent not in arena.agents):
        await websocket.close(code=status.WS_1008_POLICY_VIOLATION, reason="no such agent")
        return
    await websocket.accept()
    heartbeat: float = getattr(websocket.app.state, "heartbeat_seconds", HEARTBEAT_SECONDS)
    with arena.bus.subscribe(topic, agent) as subscription:
        pump = asyncio.create_task(_pump(websocket, arena, subscription, heartbeat))
        listen = asyncio.create_task(_until_closed(websocket))
        done, pending = await asyncio.wait({pump, listen}, return_when=asyncio.FIRST_COMPLETED)
        for task in pending:
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)
        if pump in done and isinstance(pump.exception(), TimeoutError):
            # The client stopped reading: drop it rather than let its buffer grow.
            with contextlib.suppress(RuntimeError, WebSocketDisconnect):
                await websocket.close(code=status.WS_1013_TRY_AGAIN_LATER, reason="too slow")


async def _until_closed(websocket: WebSocket) -> None:
    """Read (and ignore) what the client sends, so a disconnect is noticed at once."""
    while (await websocket.receive())["type"] != "websocket.disconnect":
        pass


async def _pump(
    websocket: WebSocket, arena: LiveArena, subscription: Subscription, heartbeat: float
) -> None:
    for current in arena.bus.latest(subscription.topic, subscription.agent):
        await websocket.send_json(await _message(arena, current, "snapshot"))
    reported = 0
    while True:
        event = await subscription.next(within=heartbeat)
        message: dict[str, Any] = (
            {"type": "heartbeat"} if event is None else await _message(arena, event, "update")
        )
        if subscription.dropped > reported:
            message["missed"] = subscription.dropped - reported
            reported = subscription.dropped
        await asyncio.wait_for(websocket.send_json(message), timeout=heartbeat)


async def _message(arena: LiveArena, event: Event, kind: str) -> dict[str, Any]:
    return {
        "type": kind,
        "topic": event.topic.value,
        "agent": event.agent,
        "data": await _payload(arena, event),
    }


async def _payload(arena: LiveArena, event: Event) -> Any:
    if event.topic is Topic.MARKET:
        return [symbol_data(tick).model_dump(mode="json") for tick in event.payload]
    assert event.agent is not None
    if event.topic is Topic.DECISIONS:
        return [decision_out(event.agent, row).model_dump(mode="json") for row in event.payload]
    runtime = arena.agents[event.agent]
    if event.topic is Topic.POSITIONS:
        return [p.model_dump(mode="json") for p in await positions_out(runtime, event.payload)]
    if event.topic is Topic.ACCOUNT:
        return AccountOut.of(event.agent, event.payload).model_dump(mode="json")
    return (await agent_out(runtime)).model_dump(mode="json")
