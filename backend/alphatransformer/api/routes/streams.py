"""Live streams: a new client gets the current state first, then every update, with heartbeats.

Each client reads from its own bounded queue on the event bus, so a slow client skips ahead
(and is told how many updates it missed) instead of slowing the engine or other clients.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

from fastapi import APIRouter, WebSocket, WebSocketDisconnect, status

from alphatransformer.api.auth import websocket_allowed
from alphatransformer.api.schemas import AccountOut, DecisionOut, PositionOut
from alphatransformer.events import Event, EventBus, Subscription, Topic

router = APIRouter()

HEARTBEAT_SECONDS = 15.0


@router.websocket("/ws/decisions")
async def decisions_stream(websocket: WebSocket) -> None:
    await _stream(websocket, Topic.DECISIONS)


@router.websocket("/ws/positions")
async def positions_stream(websocket: WebSocket) -> None:
    await _stream(websocket, Topic.POSITIONS)


@router.websocket("/ws/account")
async def account_stream(websocket: WebSocket) -> None:
    await _stream(websocket, Topic.ACCOUNT)


async def _stream(websocket: WebSocket, topic: Topic) -> None:
    if not websocket_allowed(websocket):
        await websocket.close(code=status.WS_1008_POLICY_VIOLATION, reason="token required")
        return
    await websocket.accept()
    bus: EventBus = websocket.app.state.runtime.bus
    heartbeat: float = getattr(websocket.app.state, "heartbeat_seconds", HEARTBEAT_SECONDS)
    with bus.subscribe(topic) as subscription:
        pump = asyncio.create_task(_pump(websocket, subscription, heartbeat))
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


async def _pump(websocket: WebSocket, subscription: Subscription, heartbeat: float) -> None:
    bus: EventBus = websocket.app.state.runtime.bus
    current = bus.latest(subscription.topic)
    if current is not None:
        await websocket.send_json(_message(current, "snapshot"))
    reported = 0
    while True:
        event = await subscription.next(within=heartbeat)
        message: dict[str, Any] = (
            {"type": "heartbeat"} if event is None else _message(event, "update")
        )
        if subscription.dropped > reported:
            message["missed"] = subscription.dropped - reported
            reported = subscription.dropped
        await asyncio.wait_for(websocket.send_json(message), timeout=heartbeat)


def _message(event: Event, kind: str) -> dict[str, Any]:
    return {"type": kind, "topic": event.topic.value, "data": _payload(event)}


def _payload(event: Event) -> Any:
    if event.topic is Topic.DECISIONS:
        return [DecisionOut.model_validate(row).model_dump(mode="json") for row in event.payload]
    if event.topic is Topic.POSITIONS:
        return [PositionOut.of(p).model_dump(mode="json") for p in event.payload]
    if event.topic is Topic.ACCOUNT:
        return AccountOut.of(event.payload).model_dump(mode="json")
    return str(event.payload)
