"""A fake Binance USDⓈ-M on 127.0.0.1: REST market data and market WebSocket streams, in the
real wire format, driven by the test, with faults on command.

    async with FakeBinance() as fake:
        fake.set_klines(generate_klines("BTCUSDT", Interval.M3, START_MS, 3500))
        fake.fail_next(2, status=429, retry_after=0.05)     # the next 2 REST calls get a 429
        ...BinanceHttp(fake.rest_url)...                    # the real client, over loopback
        async with websockets.connect(f"{fake.ws_url}/market/stream?streams=btcusdt@kline_3m"):
            await fake.wait_for_subscribers("btcusdt@kline_3m")
            await fake.push_kline(kline, closed=True)

REST (Starlette under uvicorn): `/fapi/v1/time`, `exchangeInfo`, `klines`, `premiumIndex`,
`fundingRate`, `fundingInfo`, `openInterest`, and `/futures/data/openInterestHist` (more in
`rest_routes`), each answer with `X-MBX-USED-WEIGHT-1M`; `requests` counts calls per path.
WebSocket (websockets): `/market/stream?streams=a/b` (combined: `{"stream", "data"}`) and
`/market/ws/a/b` (raw events), with `SUBSCRIBE` / `UNSUBSCRIBE` / `LIST_SUBSCRIPTIONS` frames.
Faults: `fail_next` (any status, Binance code, `Retry-After` or raw body, e.g. broken JSON),
`hang_next` (a lost request, or with `executed=True` a lost answer), `drop_connections`, `stall`
/ `resume`, `send_raw`; out-of-order or duplicate candles are just `push_kline` calls in that
order.
Plug-ins (the trading side, `binance_trading`): `rest_routes`, `request_checks` (run before a
handler, e.g. signature checks) and `ws_routes` (WebSocket paths beside `/market`).
"""

from __future__ import annotations

import asyncio
import bisect
import json
import random
import socket
from collections import Counter, deque
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from decimal import Decimal
from http import HTTPStatus
from pathlib import Path
from types import TracebackType
from typing import Any, TypeVar
from urllib.parse import parse_qs, urlsplit

import uvicorn
from starlette.applications import Starlette
from starlette.datastructures import QueryParams
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request as WsRequest
from websockets.http11 import Response as WsResponse

from alphatransformer.market.types import FundingInfo, Interval, Kline
from alphatransformer.utils.clock import Clock, WallClock

PAYLOADS = Path(__file__).parent / "payloads"
MINUTE_MS = 60_000
DAY_MS = 1440 * MINUTE_MS
OPEN_INTEREST_PERIOD_MS = 5 * MINUTE_MS
# Binance serves open interest history for the last 30 days only.
OPEN_INTEREST_HISTORY_MS = 30 * DAY_MS
# A guard, not a timing assertion: a test waiting for something that never comes fails
# instead of hanging.
_WAIT_LIMIT_S = 5.0

_T = TypeVar("_T")
_Handler = Callable[[QueryParams], Any]
_RequestCheck = Callable[[Request], None]
_WsHandler = Callable[[ServerConnection], Awaitable[None]]
_METHODS = ["GET", "POST", "PUT", "DELETE"]

_DEFAULT_ERRORS: dict[int, tuple[int, str]] = {
    400: (-1100, "Illegal characters found in a parameter."),
    418: (-1003, "Way too many requests; IP(127.0.0.1) banned. Please use the websocket."),
    429: (-1003, "Too many requests; current limit of IP(127.0.0.1) is 2400 requests per minute."),
    500: (-1000, "An unknown error occured while processing the request."),
    503: (-1008, "Server is currently overloaded with other requests. Please try again later."),
}


def load_payload(name: str) -> Any:
    """A recorded payload from `payloads/`, decoded."""
    return json.loads((PAYLOADS / name).read_text())


def wire_number(value: float) -> str:
    """A float as Binance writes numbers: a plain decimal string that reads back exactly."""
    return format(Decimal(repr(value)), "f")


def kline_row(kline: Kline) -> list[Any]:
    """`kline` as one row of `/fapi/v1/klines`."""
    return [
        kline.open_time,
        wire_number(kline.open),
        wire_number(kline.high),
        wire_number(kline.low),
        wire_number(kline.close),
        wire_number(kline.volume),
        kline.close_time,
        wire_number(kline.quote_volume),
        kline.trades,
        wire_number(kline.taker_buy_volume),
        wire_number(kline.taker_buy_quote_volume),
        "0",
    ]


def kline_event(kline: Kline, *, closed: bool, event_time: int) -> dict[str, Any]:
    """`kline` as a `<symbol>@kline_<interval>` stream event; `x` is `closed`."""
    first_trade = kline.open_time // 1000
    return {
        "e": "kline",
        "E": event_time,
        "s": kline.symbol,
        "k": {
            "t": kline.open_time,
            "T": kline.close_time,
            "s": kline.symbol,
            "i": kline.interval.value,
            "f": first_trade,
            "L": first_trade + max(kline.trades - 1, 0),
            "o": wire_number(kline.open),
            "c": wire_number(kline.close),
            "h": wire_number(kline.high),
            "l": wire_number(kline.low),
            "v": wire_number(kline.volume),
            "n": kline.trades,
            "x": closed,
            "q": wire_number(kline.quote_volume),
            "V": wire_number(kline.taker_buy_volume),
            "Q": wire_number(kline.taker_buy_quote_volume),
            "B": "0",
        },
    }


def mark_price_event(info: FundingInfo) -> dict[str, Any]:
    """`info` as a `<symbol>@markPrice` stream event (`E` is `info.time`)."""
    return {
        "e": "markPriceUpdate",
        "E": info.time,
        "s": info.symbol,
        "p": wire_number(info.mark_price),
        "P": wire_number(info.index_price),
        "i": wire_number(info.index_price),
        "r": wire_number(info.funding_rate),
        "T": info.next_funding_time,
    }


def kline_stream(symbol: str, interval: Interval) -> str:
    return f"{symbol.lower()}@kline_{interval.value}"


def generate_klines(
    symbol: str,
    interval: Interval,
    start_ms: int,
    count: int,
    *,
    seed: int = 7,
    start_price: float = 100.0,
) -> list[Kline]:
    """`count` valid, contiguous closed candles from `start_ms`: a seeded random walk with
    prices on a 0.01 grid, the same for the same arguments."""
    if start_ms % interval.ms:
        raise ValueError(f"{start_ms} is not aligned to {interval.value}")
    rng = random.Random(seed)
    klines: list[Kline] = []
    price = start_price
    for index in range(count):
        open_time = start_ms + index * interval.ms
        close = round(max(price * (1 + rng.gauss(0, 0.002)), 0.01), 2)
        volume = round(rng.uniform(1, 500), 3)
        klines.append(
            Kline(
                symbol=symbol,
                interval=interval,
                open_time=open_time,
                open=price,
                high=round(max(price, close) * (1 + rng.random() / 1000), 2),
                low=round(min(price, close) * (1 - rng.random() / 1000), 2),
                close=close,
                volume=volume,
                close_time=open_time + interval.ms - 1,
                quote_volume=round(volume * close, 2),
                trades=rng.randint(10, 5000),
                taker_buy_volume=round(volume / 2, 3),
                taker_buy_quote_volume=round(volume * close / 2, 2),
            )
        )
        price = close
    return klines


def generate_funding_rates(
    symbol: str, start_ms: int, count: int, *, every_hours: int = 8, seed: int = 7
) -> list[dict[str, Any]]:
    """`count` settled fundings from `start_ms`, one every `every_hours`, as `/fapi/v1/fundingRate`
    rows (for `FakeBinance.funding_rates[symbol]`): seeded rates of 8 decimals, the same for the
    same arguments, every third one stamped 1 ms late as Binance stamps some."""
    rng = random.Random(seed)
    return [
        {
            "symbol": symbol,
            "fundingTime": start_ms
            + index * every_hours * 3_600_000
            + (1 if index % 3 == 2 else 0),
            "fundingRate": f"{round(rng.gauss(0.0001, 0.0002), 8):.8f}",
            "markPrice": f"{100 + rng.uniform(-1, 1):.8f}",
        }
        for index in range(count)
    ]


def generate_open_interest(
    symbol: str, start_ms: int, count: int, *, seed: int = 7
) -> list[dict[str, Any]]:
    """`count` open interest rows from `start_ms`, one every 5 minutes, as
    `/futures/data/openInterestHist` rows (for `FakeBinance.open_interest_history[symbol]`):
    a seeded walk in contracts of 3 decimals and its value at a price near 100, the same for the
    same arguments, with the `CMCirculatingSupply` newer answers carry."""
    rng = random.Random(seed)
    contracts = 10_000.0
    rows: list[dict[str, Any]] = []
    for index in range(count):
        contracts = round(contracts * (1 + rng.gauss(0, 0.001)), 3)
        rows.append(
            {
                "symbol": symbol,
                "sumOpenInterest": f"{contracts:.8f}",
                "sumOpenInterestValue": f"{contracts * (100 + rng.uniform(-1, 1)):.8f}",
                "CMCirculatingSupply": "19600000.00000000",
                "timestamp": start_ms + index * OPEN_INTEREST_PERIOD_MS,
            }
        )
    return rows


class BinanceApiError(Exception):
    """Raised by a REST handler to answer `{code, msg}` with an HTTP status."""

    def __init__(self, status: int, code: int, msg: str) -> None:
        super().__init__(msg)
        self.status, self.code, self.msg = status, code, msg


@dataclass(frozen=True, slots=True)
class _Fault:
    status: int
    body: str
    headers: dict[str, str]
    path: str | None
    hang: bool = False
    executed: bool = False


@dataclass(eq=False, slots=True)
class _Subscriber:
    connection: ServerConnection
    combined: bool
    streams: list[str] = field(default_factory=list)


class FakeBinance:
    """The fake server; `async with FakeBinance() as fake` binds free ports on 127.0.0.1.

    Scripted state is plain data a test may edit: `exchange_info`, `premium_index`,
    `open_interest` and `funding_rates` start from the recorded payloads, `funding_info` (the
    symbols `/fapi/v1/fundingInfo` lists as adjusted) and `open_interest_history` (5-minute rows
    by symbol) empty; candles come from `set_klines`. `clock` is the server's clock
    (`/fapi/v1/time`, event times, weight minutes, and the 30 days of open interest history
    served).
    """

    def __init__(self, *, clock: Clock | None = None) -> None:
        self.clock = clock or WallClock()
        self.exchange_info: dict[str, Any] = load_payload("http_get_exchange_info.json")
        premium = load_payload("http_get_premium_index.json")
        self.premium_index: dict[str, dict[str, Any]] = {premium["symbol"]: premium}
        interest = load_payload("http_get_open_interest.json")
        self.open_interest: dict[str, dict[str, Any]] = {interest["symbol"]: interest}
        self.funding_rates: dict[str, list[dict[str, Any]]] = {}
        for row in load_payload("http_get_funding_rate.json"):
            self.funding_rates.setdefault(row["symbol"], []).append(row)
        self.funding_info: list[dict[str, Any]] = []
        self.open_interest_history: dict[str, list[dict[str, Any]]] = {}
        self.rest_routes: dict[tuple[str, str], _Handler] = {
            ("GET", "/fapi/v1/time"): lambda _: {"serverTime": self.clock.now_ms()},
            ("GET", "/fapi/v1/exchangeInfo"): lambda _: self.exchange_info,
            ("GET", "/fapi/v1/klines"): self._get_klines,
            ("GET", "/fapi/v1/premiumIndex"): self._get_premium_index,
            ("GET", "/fapi/v1/fundingRate"): self._get_funding_rate,
            ("GET", "/fapi/v1/fundingInfo"): lambda _: self.funding_info,
            ("GET", "/fapi/v1/openInterest"): self._get_open_interest,
            ("GET", "/futures/data/openInterestHist"): self._get_open_interest_hist,
        }
        """Handlers by (method, path): each takes the query and returns the JSON payload or
        raises `BinanceApiError`. Other routes answer 404 (faults still apply to them)."""
        self.request_checks: list[_RequestCheck] = []
        """Run on every REST request before its handler (raw query and headers at hand, e.g. to
        check a signature); each raises `BinanceApiError` to refuse the request."""
        self.ws_routes: dict[str, _WsHandler] = {}
        """WebSocket handlers by path (e.g. `/private/ws`), served beside the market routes."""
        self.requests: Counter[str] = Counter()
        """REST calls per path, faulted ones included."""
        self.extra_headers: dict[str, str] = {}
        """Headers added to every REST answer (e.g. `X-MBX-ORDER-COUNT-10S`)."""
        self.used_weight = 0
        """What the next `X-MBX-USED-WEIGHT-1M` reports, before this request's weight of 1."""
        self.ws_received: list[Any] = []
        """Every frame clients sent (decoded JSON, or the text when it is not JSON)."""
        self.ws_connections_accepted = 0
        self._klines: dict[tuple[str, Interval], list[Kline]] = {}
        self._faults: deque[_Fault] = deque()
        self._weight_minute = self.clock.now_ms() // MINUTE_MS
        self._subscribers: set[_Subscriber] = set()
        self._subscriptions_changed = asyncio.Condition()
        self._stalled = False
        self._stopping = asyncio.Event()
        self._http: _LoopbackHttpServer | None = None
        self._ws: Server | None = None

    # --- lifecycle --------------------------------------------------------------------------

    async def __aenter__(self) -> FakeBinance:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.stop()

    async def start(self) -> None:
        self._http = await _LoopbackHttpServer.start(self._rest_app())
        self._ws = await serve(
            self._serve_websocket, "127.0.0.1", 0, process_request=self._route, ping_interval=None
        )

    async def stop(self) -> None:
        self._stopping.set()
        if self._ws is not None:
            self._ws.close()
            await self._ws.wait_closed()
        if self._http is not None:
            await self._http.stop()

    @property
    def rest_url(self) -> str:
        """Base URL for `BinanceHttp` (what `BinanceEndpoints.rest_url` holds in production)."""
        return f"http://127.0.0.1:{_started(self._http).port}"

    @property
    def ws_url(self) -> str:
        """Base URL of the streams; clients append `/market/stream?streams=...`."""
        port = _started(self._ws).sockets[0].getsockname()[1]
        return f"ws://127.0.0.1:{port}"

    # --- scripting ----------------------------------------------------------------------------

    def set_klines(self, klines: Sequence[Kline]) -> None:
        """Serve `klines` from `/fapi/v1/klines`, replacing each series they belong to."""
        for symbol, interval in {(kline.symbol, kline.interval) for kline in klines}:
            series = [k for k in klines if k.symbol == symbol and k.interval == interval]
            self._klines[(symbol, interval)] = sorted(series, key=lambda k: k.open_time)

    def fail_next(
        self,
        count: int = 1,
        *,
        status: int,
        code: int | None = None,
        msg: str | None = None,
        body: str | None = None,
        retry_after: float | None = None,
        path: str | None = None,
    ) -> None:
        """Answer the next `count` REST calls (to `path`, or to any path) with `status` and a
        Binance `{code, msg}` body (defaults per status), or with `body` verbatim: a 200 with
        `body='{"serverTime": 17'` is a garbled answer. `retry_after` sets `Retry-After`."""
        if body is None:
            default_code, default_msg = _DEFAULT_ERRORS.get(status, (-1000, "Unknown error."))
            body = json.dumps({"code": code or default_code, "msg": msg or default_msg})
        headers = {"Retry-After": str(retry_after)} if retry_after is not None else {}
        self._faults.extend(_Fault(status, body, headers, path) for _ in range(count))

    def hang_next(self, count: int = 1, *, path: str | None = None, executed: bool = False) -> None:
        """Never answer the next `count` REST calls (until the fake stops): the client's read
        timeout fires. By default the request is lost before it does anything; with `executed`
        it takes effect first and only the answer is lost (an order placed nonetheless)."""
        fault = _Fault(503, "", {}, path, hang=True, executed=executed)
        self._faults.extend(fault for _ in range(count))

    # --- REST -----------------------------------------------------------------------------------

    def _rest_app(self) -> Starlette:
        return Starlette(routes=[Route("/{path:path}", self._dispatch, methods=_METHODS)])

    async def _dispatch(self, request: Request) -> Response:
        path = request.url.path
        self.requests[path] += 1
        fault = self._take_fault(path)
        if fault is None or fault.executed:
            response = self._handle(request)
        if fault is not None:
            response = await self._fault_response(fault)
        response.headers["X-MBX-USED-WEIGHT-1M"] = str(self._charge_weight())
        response.headers.update(self.extra_headers)
        return response

    def _handle(self, request: Request) -> Response:
        try:
            for check in self.request_checks:
                check(request)
        except BinanceApiError as error:
            return _error_response(error)
        handler = self.rest_routes.get((request.method, request.url.path))
        return _answer(handler, request.query_params)

    def _take_fault(self, path: str) -> _Fault | None:
        fault = next((f for f in self._faults if f.path in (None, path)), None)
        if fault is not None:
            self._faults.remove(fault)
        return fault

    async def _fault_response(self, fault: _Fault) -> Response:
        if fault.hang:
            await self._stopping.wait()
        return Response(
            fault.body, fault.status, headers=fault.headers, media_type="application/json"
        )

    def _charge_weight(self) -> int:
        minute = self.clock.now_ms() // MINUTE_MS
        if minute != self._weight_minute:
            self._weight_minute, self.used_weight = minute, 0
        self.used_weight += 1
        return self.used_weight

    def _get_klines(self, query: QueryParams) -> list[list[Any]]:
        symbol = self._symbol(query)
        interval = _parse(Interval, query.get("interval"), -1120, "Invalid interval.")
        limit = _limit(query, default=500, maximum=1500)
        series = self._klines.get((symbol, interval), [])
        open_times = [kline.open_time for kline in series]
        selected = _window(series, open_times, query, limit)
        return [kline_row(kline) for kline in selected]

    def _get_premium_index(self, query: QueryParams) -> Any:
        if "symbol" not in query:
            return list(self.premium_index.values())
        return _known(self.premium_index, self._symbol(query))

    def _get_funding_rate(self, query: QueryParams) -> list[dict[str, Any]]:
        rows = self.funding_rates.get(self._symbol(query), [])
        times = [row["fundingTime"] for row in rows]
        return _window(rows, times, query, _limit(query, default=100, maximum=1000))

    def _get_open_interest(self, query: QueryParams) -> dict[str, Any]:
        return _known(self.open_interest, self._symbol(query))

    def _get_open_interest_hist(self, query: QueryParams) -> list[dict[str, Any]]:
        """The 5-minute rows of the last 30 days by `clock`; a `startTime` before them is
        refused, as Binance refuses it. Other periods are refused too: the fake holds 5m rows."""
        symbol = self._symbol(query)
        if query.get("period") != "5m":
            raise BinanceApiError(400, -1130, "Data sent for parameter 'period' is not valid.")
        oldest = self.clock.now_ms() - OPEN_INTEREST_HISTORY_MS
        start = _parse(int, query.get("startTime", str(oldest)), -1100, "Illegal startTime.")
        if start < oldest:
            raise BinanceApiError(400, -1130, "parameter 'startTime' is invalid.")
        rows = [r for r in self.open_interest_history.get(symbol, []) if r["timestamp"] >= oldest]
        times = [row["timestamp"] for row in rows]
        return _window(rows, times, query, _limit(query, default=30, maximum=500))

    def _symbol(self, query: QueryParams) -> str:
        symbol = query.get("symbol")
        if symbol is None:
            raise BinanceApiError(400, -1102, "Mandatory parameter 'symbol' was not sent.")
        listed = {entry["symbol"] for entry in self.exchange_info["symbols"]}
        if symbol not in listed | {s for s, _ in self._klines}:
            raise BinanceApiError(400, -1121, "Invalid symbol.")
        return symbol

    # --- WebSocket --------------------------------------------------------------------------------

    async def wait_for_subscribers(self, stream: str, count: int = 1) -> None:
        """Return once `count` connections listen to `stream` (a connect returns before the
        server has registered the connection)."""
        async with asyncio.timeout(_WAIT_LIMIT_S), self._subscriptions_changed:
            await self._subscriptions_changed.wait_for(
                lambda: self.subscriber_count(stream) >= count
            )

    def subscriber_count(self, stream: str) -> int:
        return sum(stream in subscriber.streams for subscriber in self._subscribers)

    @property
    def connection_count(self) -> int:
        """WebSocket connections open now."""
        return len(self._subscribers)

    async def push(self, stream: str, event: dict[str, Any]) -> int:
        """Send `event` to every connection subscribed to `stream`, wrapped for combined-stream
        connections; returns how many got it (none while stalled)."""
        if self._stalled:
            return 0
        combined = json.dumps({"stream": stream, "data": event})
        raw = json.dumps(event)
        targets = [s for s in self._subscribers if stream in s.streams]
        sent = [await _send(s, combined if s.combined else raw) for s in targets]
        return sum(sent)

    async def push_kline(
        self, kline: Kline, *, closed: bool | None = None, event_time: int | None = None
    ) -> int:
        """Push `kline` as a kline event, closed (`x: true`) or forming; `closed` defaults to
        `kline.closed`, `event_time` to the server clock."""
        event = kline_event(
            kline,
            closed=kline.closed if closed is None else closed,
            event_time=self.clock.now_ms() if event_time is None else event_time,
        )
        return await self.push(kline_stream(kline.symbol, kline.interval), event)

    async def push_mark_price(self, info: FundingInfo) -> int:
        """Push `info` on `<symbol>@markPrice` (and `@markPrice@1s`)."""
        event = mark_price_event(info)
        stream = f"{info.symbol.lower()}@markPrice"
        return await self.push(stream, event) + await self.push(f"{stream}@1s", event)

    async def send_raw(self, text: str) -> int:
        """Send `text` as is (malformed JSON, an unknown event) to every connection."""
        return sum([await _send(subscriber, text) for subscriber in list(self._subscribers)])

    def drop_connections(self) -> int:
        """Cut every connection without a closing handshake (clients see code 1006)."""
        dropped = list(self._subscribers)
        for subscriber in dropped:
            subscriber.connection.transport.abort()
        return len(dropped)

    def stall(self) -> None:
        """Go silent: pushes are dropped and client frames (pings included) go unread, like a
        connection that is open but dead."""
        self._stalled = True
        for subscriber in self._subscribers:
            subscriber.connection.transport.pause_reading()

    def resume(self) -> None:
        self._stalled = False
        for subscriber in self._subscribers:
            subscriber.connection.transport.resume_reading()

    async def ping_clients(self, *, pong_wait: float = _WAIT_LIMIT_S) -> int:
        """Send a ping frame to every connection; returns how many answered with a pong within
        `pong_wait` seconds each."""
        pongs = [await _ping(s.connection, pong_wait) for s in list(self._subscribers)]
        return sum(pongs)

    def _route(self, connection: ServerConnection, request: WsRequest) -> WsResponse | None:
        """Refuse the handshake (404) outside the market routes and the plugged-in ones, as
        Binance does."""
        path = urlsplit(request.path).path
        if _is_market_path(path) or path in self.ws_routes:
            return None
        return connection.respond(HTTPStatus.NOT_FOUND, "Not Found\n")

    async def _serve_websocket(self, connection: ServerConnection) -> None:
        path = urlsplit(connection.request.path if connection.request else "").path
        plugged = self.ws_routes.get(path)
        if plugged is not None:
            await plugged(connection)
            return
        subscriber = _subscriber_for(connection)
        self.ws_connections_accepted += 1
        async with self._changing_subscriptions():
            self._subscribers.add(subscriber)
        try:
            async for frame in connection:
                await self._on_frame(subscriber, frame)
        except ConnectionClosed:
            pass  # dropped or closed by either side: just forget the connection
        finally:
            async with self._changing_subscriptions():
                self._subscribers.discard(subscriber)

    async def _on_frame(self, subscriber: _Subscriber, frame: str | bytes) -> None:
        try:
            request = json.loads(frame)
        except ValueError:
            self.ws_received.append(frame)
            answer: dict[str, Any] = {"error": {"code": 3, "msg": "Invalid JSON"}, "id": None}
        else:
            self.ws_received.append(request)
            answer = await self._answer_method(subscriber, request)
        await subscriber.connection.send(json.dumps(answer))

    async def _answer_method(self, subscriber: _Subscriber, request: Any) -> dict[str, Any]:
        """Binance's answer to a `{"method", "params", "id"}` frame."""
        if not isinstance(request, dict):
            return _ws_error(2, "Invalid request: expected an object", None)
        method, params, request_id = (request.get(k) for k in ("method", "params", "id"))
        if method == "LIST_SUBSCRIPTIONS":
            return {"result": list(subscriber.streams), "id": request_id}
        if method not in ("SUBSCRIBE", "UNSUBSCRIBE"):
            return _ws_error(2, f"Invalid request: unknown variant {method!r}", request_id)
        if not isinstance(params, list) or not all(isinstance(p, str) for p in params):
            return _ws_error(2, "Invalid request: params must be a list of strings", request_id)
        async with self._changing_subscriptions():
            if method == "SUBSCRIBE":
                subscriber.streams.extend(s for s in params if s not in subscriber.streams)
            else:
                subscriber.streams[:] = [s for s in subscriber.streams if s not in params]
        return {"result": None, "id": request_id}

    @asynccontextmanager
    async def _changing_subscriptions(self) -> AsyncIterator[None]:
        """Change who listens to what, then wake `wait_for_subscribers`."""
        async with self._subscriptions_changed:
            yield
            self._subscriptions_changed.notify_all()


class _LoopbackHttpServer:
    """uvicorn serving an ASGI app on a free 127.0.0.1 port, started and stopped directly:
    `Server.serve()` would install signal handlers and take ~0.2 s to shut down."""

    def __init__(self, server: uvicorn.Server, sock: socket.socket) -> None:
        self._server = server
        self.port: int = sock.getsockname()[1]

    @classmethod
    async def start(cls, app: Starlette) -> _LoopbackHttpServer:
        config = uvicorn.Config(app, lifespan="off", log_config=None, access_log=False)
        config.load()
        server = uvicorn.Server(config)
        server.lifespan = config.lifespan_class(config)  # what `serve()` sets before startup
        # IPPROTO_TCP spelled out: asyncio sets TCP_NODELAY only on sockets that say so, and
        # without it every answer waits ~40 ms for a delayed ACK.
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        sock.bind(("127.0.0.1", 0))
        await server.startup(sockets=[sock])
        return cls(server, sock)

    async def stop(self) -> None:
        for listener in self._server.servers:
            listener.close()
        for connection in list(self._server.server_state.connections):
            connection.shutdown()
        for listener in self._server.servers:
            await listener.wait_closed()


def _started(server: _T | None) -> _T:
    if server is None:
        raise RuntimeError("FakeBinance is not started: use `async with FakeBinance() as fake`")
    return server


def _answer(handler: _Handler | None, query: QueryParams) -> Response:
    if handler is None:
        return Response("Not Found", 404, media_type="text/plain")
    try:
        payload = handler(query)
    except BinanceApiError as error:
        return _error_response(error)
    return Response(json.dumps(payload), 200, media_type="application/json")


def _error_response(error: BinanceApiError) -> Response:
    body = json.dumps({"code": error.code, "msg": error.msg})
    return Response(body, error.status, media_type="application/json")


def _parse(kind: Callable[[str], _T], value: str | None, code: int, msg: str) -> _T:
    try:
        return kind(value or "")
    except ValueError:
        raise BinanceApiError(400, code, msg) from None


def _limit(query: QueryParams, *, default: int, maximum: int) -> int:
    limit = _parse(int, query.get("limit", str(default)), -1100, "Illegal characters in limit.")
    if not 1 <= limit <= maximum:
        raise BinanceApiError(400, -1130, "Data sent for parameter 'limit' is not valid.")
    return limit


def _window(items: Sequence[_T], times: Sequence[int], query: QueryParams, limit: int) -> list[_T]:
    """Binance's time-window paging: items with time in [startTime, endTime], ascending; the
    first `limit` from `startTime` when it is given, else the last `limit` up to `endTime`."""
    start = _parse(int, query.get("startTime", "0"), -1100, "Illegal characters in startTime.")
    end_text = query.get("endTime")
    end = _parse(int, end_text, -1100, "Illegal characters in endTime.") if end_text else None
    low = bisect.bisect_left(times, start)
    high = len(times) if end is None else bisect.bisect_right(times, end)
    inside = list(items[low:high])
    return inside[:limit] if "startTime" in query else inside[-limit:]


def _known(table: dict[str, dict[str, Any]], symbol: str) -> dict[str, Any]:
    if symbol not in table:
        raise BinanceApiError(400, -1121, "Invalid symbol.")
    return table[symbol]


def _is_market_path(path: str) -> bool:
    return path == "/market/stream" or path == "/market/ws" or path.startswith("/market/ws/")


def _subscriber_for(connection: ServerConnection) -> _Subscriber:
    """Streams named in the URL: `/market/stream?streams=a/b` or `/market/ws/a/b`."""
    target = urlsplit(connection.request.path if connection.request else "")
    if target.path == "/market/stream":
        names = parse_qs(target.query).get("streams", [""])[0]
        return _Subscriber(connection, combined=True, streams=_split_streams(names))
    names = target.path.removeprefix("/market/ws").lstrip("/")
    return _Subscriber(connection, combined=False, streams=_split_streams(names))


def _split_streams(names: str) -> list[str]:
    return [name for name in names.split("/") if name]


def _ws_error(code: int, msg: str, request_id: Any) -> dict[str, Any]:
    return {"error": {"code": code, "msg": msg}, "id": request_id}


async def _send(subscriber: _Subscriber, text: str) -> bool:
    try:
        await subscriber.connection.send(text)
    except ConnectionClosed:
        return False
    return True


async def _ping(connection: ServerConnection, pong_wait: float) -> bool:
    try:
        pong = await connection.ping()
        await asyncio.wait_for(pong, pong_wait)
    except (ConnectionClosed, TimeoutError):
        return False
    return True
