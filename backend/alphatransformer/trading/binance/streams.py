"""The user data stream: a listen key kept alive, and the private WebSocket that carries order,
algo-order and account events.

Binance serves user data under `/private`: `{ws_url}/private/ws?listenKey=<key>&events=a/b`,
where `events` is an allow list. A listen key lives 60 minutes unless a PUT extends it; a
dropped connection is reopened (with a fresh key when the old one expired), and `on_reconnect`
then lets the owner query what it may have missed, since Binance does not replay events.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake

from alphatransformer.market.binance.errors import BinanceError
from alphatransformer.market.binance.http import Sleep
from alphatransformer.trading.binance.rest import BinanceTradingRest

logger = logging.getLogger(__name__)

EVENTS = ("ORDER_TRADE_UPDATE", "ALGO_UPDATE", "ACCOUNT_UPDATE", "listenKeyExpired")
"""What the connection subscribes to; `events` is an allow list, so an event missing here
never arrives."""

LISTEN_KEY_EXPIRED = "listenKeyExpired"
# PUT on a key Binance has already dropped.
_LISTEN_KEY_DOES_NOT_EXIST = -1125

EventHandler = Callable[[Any], None]
ReconnectHandler = Callable[[], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class StreamSettings:
    """How the stream keeps itself alive: a keep-alive every `keepalive_s` (Binance asks for one
    within 60 minutes; 30 leaves room for a failed attempt), and `reconnect_delay_s` between
    attempts to reconnect, doubling up to `max_reconnect_delay_s`."""

    keepalive_s: float = 30 * 60
    reconnect_delay_s: float = 1.0
    max_reconnect_delay_s: float = 30.0


class UserDataStream:
    """Delivers every user data event (decoded JSON) to `on_event`, across reconnects."""

    def __init__(
        self,
        rest: BinanceTradingRest,
        ws_url: str,
        on_event: EventHandler,
        on_reconnect: ReconnectHandler,
        *,
        settings: StreamSettings = StreamSettings(),
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        self._rest = rest
        self._ws_url = ws_url.rstrip("/")
        self._on_event = on_event
        self._on_reconnect = on_reconnect
        self._settings = settings
        self._sleep = sleep
        self._listen_key: str | None = None
        self._connection: ClientConnection | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self.connects = 0
        """Connections opened so far (the first one included)."""

    async def start(self) -> None:
        """Get a listen key and connect; returns once events can arrive."""
        self._listen_key = await self._rest.create_listen_key()
        self._connection = await self._connect()
        self._tasks = [
            asyncio.create_task(self._read_forever(), name="user-data-stream"),
            asyncio.create_task(self._keep_alive_forever(), name="user-data-keepalive"),
        ]

    async def stop(self) -> None:
        """Close the connection and give the listen key back."""
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks = []
        if self._connection is not None:
            await self._connection.close()
            self._connection = None
        if self._listen_key is not None:
            with contextlib.suppress(BinanceError):
                await self._rest.close_listen_key()
            self._listen_key = None

    async def _connect(self) -> ClientConnection:
        query = urlencode({"listenKey": self._listen_key, "events": "/".join(EVENTS)}, safe="/")
        # The URL holds the listen key, which reads the account's events: never logged here
        # (and log_setup holds the websockets logger at WARNING).
        connection = await connect(f"{self._ws_url}/private/ws?{query}")
        self.connects += 1
        return connection

    async def _read_forever(self) -> None:
        while True:
            connection = self._connection
            if connection is not None:
                with contextlib.suppress(ConnectionClosed):
                    async for frame in connection:
                        self._dispatch(frame)
                        if self._listen_key is None:
                            await connection.close()
                            break
            await self._reconnect()

    def _dispatch(self, frame: str | bytes) -> None:
        try:
            event = json.loads(frame)
        except ValueError:
            logger.warning("user data stream: a frame that is not JSON was skipped")
            return
        if isinstance(event, dict) and event.get("e") == LISTEN_KEY_EXPIRED:
            # Binance stops sending on this key: reconnect with a new one.
            self._listen_key = None
            return
        try:
            self._on_event(event)
        except Exception:
            # One bad event must not stop the stream that carries the next fills.
            logger.exception("user data stream: an event could not be handled")

    async def _reconnect(self) -> None:
        """Connect again until it works, then let the owner catch up on what was missed."""
        delay = self._settings.reconnect_delay_s
        while True:
            await self._sleep(delay)
            try:
                if self._listen_key is None:
                    self._listen_key = await self._rest.create_listen_key()
                self._connection = await self._connect()
            except (OSError, InvalidHandshake, BinanceError) as error:
                logger.warning("user data stream: reconnect failed (%s); retrying", error)
                delay = min(delay * 2, self._settings.max_reconnect_delay_s)
                continue
            logger.info("user data stream: reconnected")
            try:
                await self._on_reconnect()
            except Exception:
                # The stream must outlive a failed catch-up; reconciliation settles the rest.
                logger.exception("user data stream: catching up after a reconnect failed")
            return

    async def _keep_alive_forever(self) -> None:
        while True:
            await self._sleep(self._settings.keepalive_s)
            await self._keep_alive()

    async def _keep_alive(self) -> None:
        """Extend the listen key; one Binance has dropped means a new key and a new connection
        (closing this one makes the reader reconnect)."""
        try:
            await self._rest.keep_alive_listen_key()
        except BinanceError as error:
            if error.code != _LISTEN_KEY_DOES_NOT_EXIST:
                logger.warning("user data stream: keep-alive failed (%s)", error)
                return
            self._listen_key = None
            if self._connection is not None:
                await self._connection.close()
