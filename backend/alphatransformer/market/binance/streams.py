"""Binance USDⓈ-M market streams over one combined WebSocket connection, kept alive for good.

One connection carries `<symbol>@kline_<interval>` for every (symbol, interval) and
`<symbol>@markPrice@1s` for every symbol; the stream names are in the URL, so every new
connection subscribes to all of them again. Each frame is parsed with the lean parsers and handed
to a callback. The connection is watched with pings (a server that stops answering is taken for
dead and the connection recycled), replaced before Binance's 24-hour cut, and re-opened after any
loss with exponential backoff and jitter, for as long as the client runs. A malformed frame is
counted and logged, at most once a minute, and never stops the loop.

Messages missed while reconnecting are not this module's business: `on_connected` tells the
owner that a connection opened, so it can fetch over REST whatever it may have missed.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import orjson
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import WebSocketException
from websockets.uri import parse_uri

from alphatransformer.market.binance.errors import MalformedMessage
from alphatransformer.market.binance.schemas import parse_kline_event, parse_mark_price_event
from alphatransformer.market.types import FundingInfo, Interval, Kline

logger = logging.getLogger(__name__)

# Binance closes every connection after 24 hours; leaving ten minutes earlier is our choice.
_PLANNED_RECONNECT_S = 23 * 3600 + 50 * 60
# What a lost or refused connection raises: the socket, the handshake, the protocol, a timeout.
_CONNECTION_LOST = (OSError, TimeoutError, WebSocketException)
# What a frame that is not a well-formed kline or mark price event raises while parsed.
_MALFORMED = (orjson.JSONDecodeError, MalformedMessage, KeyError, TypeError)
_LOGGED_FRAME_CHARS = 200


@dataclass(frozen=True, slots=True)
class Backoff:
    """Exponential backoff with jitter: `initial_s * 2**attempt`, capped at `max_s`, then
    lowered by up to `jitter` of itself, so that clients cut off together do not all come back
    in the same instant."""

    initial_s: float = 0.5
    max_s: float = 30.0
    jitter: float = 0.5

    def delay(self, attempt: int) -> float:
        """Seconds to wait before reconnect attempt number `attempt` (0 for the first)."""
        capped = min(self.max_s, self.initial_s * 2.0 ** min(attempt, 32))
        return capped * (1.0 - self.jitter * random.random())  # noqa: S311 (not cryptographic)


@dataclass(frozen=True, slots=True)
class StreamOptions:
    """Keep-alive and reconnect settings; tests shrink them to milliseconds."""

    ping_interval_s: float = 20.0
    ping_timeout_s: float = 20.0
    """A pong missing for this long means a dead connection: it is closed and replaced."""
    open_timeout_s: float = 10.0
    close_timeout_s: float = 5.0
    max_connection_age_s: float = _PLANNED_RECONNECT_S
    """Replace the connection after this long, before Binance cuts it at 24 hours."""
    reconnect: Backoff = Backoff()
    malformed_log_interval_s: float = 60.0


@dataclass(frozen=True, slots=True)
class StreamCounters:
    """What the stream has seen so far, for metrics and health checks."""

    messages: int
    """Frames received, malformed ones included."""
    malformed: int
    reconnects: int
    """Connections opened after the first one (after a loss or a planned recycle)."""


def kline_stream(symbol: str, interval: Interval) -> str:
    """Binance's name of the kline stream of one series, e.g. `btcusdt@kline_3m`."""
    return f"{symbol.lower()}@kline_{interval.value}"


def mark_price_stream(symbol: str) -> str:
    """Binance's name of the once-a-second mark price stream, e.g. `btcusdt@markPrice@1s`."""
    return f"{symbol.lower()}@markPrice@1s"


class _LogThrottle:
    """Lets one log line through per interval and counts the ones held back, so a flood of bad
    frames (Binance sends ~10 a second per stream) cannot flood the log."""

    def __init__(self, interval_s: float) -> None:
        self._interval_s = interval_s
        self._next_s = 0.0
        self._held_back = 0

    def allow(self) -> int | None:
        """None to stay quiet; else how many lines were held back since the last one."""
        now = time.monotonic()
        if now < self._next_s:
            self._held_back += 1
            return None
        self._next_s = now + self._interval_s
        held_back, self._held_back = self._held_back, 0
        return held_back


class BinanceStreams:
    """The market WebSocket client: kline and mark price events to callbacks, reconnecting
    until `stop()`.

    The callbacks run on the event loop, in the order the frames arrive, and must not block;
    one that raises is logged and the stream goes on.
    """

    def __init__(
        self,
        ws_url: str,
        symbols: Sequence[str],
        intervals: Sequence[Interval],
        *,
        on_kline: Callable[[Kline], None],
        on_mark_price: Callable[[FundingInfo], None],
        on_connected: Callable[[], None],
        options: StreamOptions = StreamOptions(),
    ) -> None:
        self.streams = tuple(
            [kline_stream(symbol, interval) for symbol in symbols for interval in intervals]
            + [mark_price_stream(symbol) for symbol in symbols]
        )
        self.url = f"{ws_url.rstrip('/')}/market/stream?streams={'/'.join(self.streams)}"
        parse_uri(self.url)  # a bad URL is a config error: say so now, not once per reconnect
        self._on_kline = on_kline
        self._on_mark_price = on_mark_price
        self._on_connected = on_connected
        self._options = options
        self._malformed_log = _LogThrottle(options.malformed_log_interval_s)
        self._callback_error_log = _LogThrottle(options.malformed_log_interval_s)
        self._task: asyncio.Task[None] | None = None
        self._connected = False
        self._connections = 0
        self._messages = 0
        self._malformed = 0

    @property
    def connected(self) -> bool:
        """Whether a connection is open now."""
        return self._connected

    def counters(self) -> StreamCounters:
        return StreamCounters(
            messages=self._messages,
            malformed=self._malformed,
            reconnects=max(self._connections - 1, 0),
        )

    async def start(self) -> None:
        """Connect in the background; a second call does nothing."""
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="binance-market-streams")

    async def stop(self) -> None:
        """Close the connection and stop reconnecting; a second call does nothing."""
        task, self._task = self._task, None
        if task is None:
            return
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        self._connected = False

    def handle_message(self, frame: str | bytes) -> None:
        """Parse one received frame and hand the event to its callback: the hot path of the
        live feed, public so that recorded frames can be replayed through it."""
        self._messages += 1
        try:
            event = _parse(frame)
        except _MALFORMED as exc:
            self._count_malformed(frame, exc)
            return
        try:
            if isinstance(event, Kline):
                self._on_kline(event)
            else:
                self._on_mark_price(event)
        except Exception:
            # A bug downstream must not cut the feed every other consumer depends on.
            if (held_back := self._callback_error_log.allow()) is not None:
                logger.exception("market stream callback failed (%d more not logged)", held_back)

    async def _run(self) -> None:
        """Connect, read until the connection ends, wait, reconnect: until cancelled."""
        attempt = 0
        while True:
            messages_before = self._messages
            try:
                planned = await self._read_one_connection()
            except _CONNECTION_LOST as exc:
                logger.warning("market stream connection lost: %r", exc)
                planned = False
            self._connected = False
            if planned:
                attempt, delay = 0, 0.0
            else:
                # A connection that delivered data was healthy: start the backoff over.
                attempt = 0 if self._messages > messages_before else attempt + 1
                delay = self._options.reconnect.delay(attempt)
            await asyncio.sleep(delay)

    async def _read_one_connection(self) -> bool:
        """Open a connection and read it until it ends; True when it reached its planned age,
        False when the server closed it cleanly. A lost connection raises."""
        options = self._options
        async with connect(
            self.url,
            open_timeout=options.open_timeout_s,
            ping_interval=options.ping_interval_s,
            ping_timeout=options.ping_timeout_s,
            close_timeout=options.close_timeout_s,
        ) as connection:
            self._opened()
            try:
                async with asyncio.timeout(options.max_connection_age_s):
                    await self._read(connection)
            except TimeoutError:
                logger.info("market stream reached its planned age; reconnecting")
                return True
        logger.warning("market stream closed by the server")
        return False

    async def _read(self, connection: ClientConnection) -> None:
        async for frame in connection:
            self.handle_message(frame)

    def _opened(self) -> None:
        self._connections += 1
        self._connected = True
        logger.info("market stream connected (%d streams)", len(self.streams))
        try:
            self._on_connected()
        except Exception:
            logger.exception("market stream on_connected callback failed")

    def _count_malformed(self, frame: str | bytes, error: Exception) -> None:
        self._malformed += 1
        if (held_back := self._malformed_log.allow()) is not None:
            logger.warning(
                "malformed market stream frame skipped (%d more since the last report): %s: %r",
                held_back,
                error,
                frame[:_LOGGED_FRAME_CHARS],
            )


def _parse(frame: str | bytes) -> Kline | FundingInfo:
    """The event of one combined-stream frame; raises one of `_MALFORMED` for anything else."""
    message = orjson.loads(frame)
    event_type = message["data"]["e"]
    if event_type == "kline":
        return parse_kline_event(message)
    if event_type == "markPriceUpdate":
        return parse_mark_price_event(message)
    raise MalformedMessage("e", f"not a subscribed event type: {event_type!r}")
