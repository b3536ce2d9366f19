"""The one HTTP transport to Binance USDⓈ-M: request weights, `Retry-After`, retries, typed errors.

Every request goes through `BinanceHttp.request`, which
- waits for the client-side weight budget (the server's `X-MBX-USED-WEIGHT-1M` plus what is in
  flight must stay under the limit, else it waits for the next minute);
- retries what is safe to retry: a refused connection (nothing was sent), a 429/418 once the
  `Retry-After` is over (the request was refused, not executed; a 418 only once), and a 5xx or a
  lost answer for GET only: a POST is never re-sent blindly, since it may have been executed;
- turns every failure into a `BinanceError` subclass.

With a `RequestSigner`, every request carries the `X-MBX-APIKEY` header and `signed=True` ones
(USER_DATA and TRADE endpoints) get `timestamp`, `recvWindow` and a `signature` over the query
string, made afresh for each attempt so a retry never goes out with a stale timestamp.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import math
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from types import TracebackType
from typing import Any
from urllib.parse import urlencode

import httpx
from tenacity import AsyncRetrying, RetryCallState, stop_after_attempt, wait_exponential_jitter

from alphatransformer.market.binance.errors import (
    BinanceAuthError,
    BinanceConnectionError,
    BinanceError,
    BinanceIpBanned,
    BinanceNoResponse,
    BinanceRateLimited,
    BinanceServerError,
    MalformedMessage,
    error_from_response,
)
from alphatransformer.utils.clock import Clock, WallClock

Sleep = Callable[[float], Awaitable[None]]
Params = Mapping[str, str | int]
ServerTime = Callable[[], int]

_MINUTE_MS = 60_000
_USED_WEIGHT_HEADER = "x-mbx-used-weight-1m"
_ORDER_COUNT_PREFIX = "x-mbx-order-count-"
# httpx errors raised before the request left this machine: always safe to send again.
_NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How hard to try: attempts in all, exponential backoff with jitter between them, and the
    longest `Retry-After` worth waiting inside one call (longer ones raise at once)."""

    attempts: int = 4
    initial_delay: float = 0.5
    max_delay: float = 8.0
    jitter: float = 0.5
    max_retry_after: float = 60.0


class WeightBudget:
    """A client-side throttle on Binance's per-minute request weight.

    It follows the server's count (`observe`) and adds what it lets through, so concurrent
    requests cannot overshoot between two answers; a 429/418 `pause`s every request, not only
    the one that was refused. Minutes are those of `clock`, like Binance's fixed windows.
    """

    def __init__(self, limit: int, clock: Clock, sleep: Sleep) -> None:
        if limit < 1:
            raise ValueError(f"weight limit must be positive, got {limit}")
        self.limit = limit
        self._clock = clock
        self._sleep = sleep
        self._minute = -1
        self._used = 0
        self._paused_until_ms = 0

    @property
    def used(self) -> int:
        """Weight used in the current minute, as far as this client knows."""
        self._roll_over(self._clock.now_ms())
        return self._used

    async def acquire(self, weight: int) -> None:
        """Wait until `weight` fits in the current minute (and any pause is over), then take it."""
        while (delay_ms := self._delay_ms(weight)) > 0:
            await self._sleep(delay_ms / 1000)
        self._used += weight

    def observe(self, used_weight: int) -> None:
        """Take the server's count; it never lowers what this client has let through."""
        self._roll_over(self._clock.now_ms())
        self._used = max(self._used, used_weight)

    def pause(self, seconds: float) -> None:
        """Hold every request for `seconds` (a 429 or 418 `Retry-After`)."""
        until = self._clock.now_ms() + math.ceil(seconds * 1000)
        self._paused_until_ms = max(self._paused_until_ms, until)

    def _delay_ms(self, weight: int) -> int:
        now = self._clock.now_ms()
        if now < self._paused_until_ms:
            return self._paused_until_ms - now
        self._roll_over(now)
        # A request heavier than the whole limit still goes out at the start of a minute.
        if self._used and self._used + weight > self.limit:
            return (self._minute + 1) * _MINUTE_MS - now
        return 0

    def _roll_over(self, now_ms: int) -> None:
        minute = now_ms // _MINUTE_MS
        if minute != self._minute:
            self._minute = minute
            self._used = 0


def hmac_sha256_hex(secret: str, payload: str) -> str:
    """Binance's HMAC-SHA256 signature of `payload`, as lowercase hex."""
    return hmac.new(secret.encode(), payload.encode(), hashlib.sha256).hexdigest()


class RequestSigner:
    """Signs USER_DATA and TRADE requests as Binance checks them: `timestamp` (Binance's clock,
    from `server_now_ms`) and `recvWindow` appended to the parameters, then `signature`, last,
    the HMAC-SHA256 of exactly the query string sent.

    Keys stay inside: `repr` shows neither, so a logged signer or a traceback leaks nothing.
    """

    def __init__(
        self, api_key: str, api_secret: str, server_now_ms: ServerTime, *, recv_window_ms: int
    ) -> None:
        if not api_key or not api_secret:
            raise ValueError("a request signer needs both an API key and a secret")
        self._api_key = api_key
        self._api_secret = api_secret
        self._server_now_ms = server_now_ms
        self.recv_window_ms = recv_window_ms

    def __repr__(self) -> str:
        return f"RequestSigner(recv_window_ms={self.recv_window_ms}, keys=hidden)"

    @property
    def headers(self) -> dict[str, str]:
        """The API key header every request of this account carries (listen-key calls need
        nothing else)."""
        return {"X-MBX-APIKEY": self._api_key}

    def signed_query(self, params: Params | None) -> str:
        """`params` with `recvWindow`, `timestamp` and `signature` added, as a query string."""
        stamped = {
            **(params or {}),
            "recvWindow": self.recv_window_ms,
            "timestamp": self._server_now_ms(),
        }
        query = urlencode(stamped)
        return f"{query}&signature={hmac_sha256_hex(self._api_secret, query)}"


class BinanceHttp:
    """Async HTTP client for one Binance USDⓈ-M base URL (`BinanceEndpoints.rest_url`)."""

    def __init__(
        self,
        base_url: str,
        *,
        timeout: float = 10.0,
        weight_limit: int = 2400,
        retry: RetryPolicy = RetryPolicy(),
        clock: Clock | None = None,
        sleep: Sleep = asyncio.sleep,
        signer: RequestSigner | None = None,
    ) -> None:
        self._client = httpx.AsyncClient(
            base_url=base_url, timeout=timeout, headers=signer.headers if signer else None
        )
        self._signer = signer
        self._retry = retry
        self._sleep = sleep
        self._backoff = wait_exponential_jitter(
            multiplier=retry.initial_delay, max=retry.max_delay, jitter=retry.jitter
        )
        self.budget = WeightBudget(weight_limit, clock or WallClock(), sleep)
        self.last_used_weight: int | None = None
        """`X-MBX-USED-WEIGHT-1M` of the last answer that carried it."""
        self.order_counts: dict[str, int] = {}
        """Last `X-MBX-ORDER-COUNT-<interval>` values, by interval (`"10S"`, `"1M"`)."""

    async def __aenter__(self) -> BinanceHttp:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._client.aclose()

    async def get(self, path: str, params: Params | None = None, *, weight: int = 1) -> Any:
        """GET `path` and return the decoded JSON; retried on 5xx and lost answers."""
        return await self.request("GET", path, params, weight=weight)

    async def request(
        self,
        method: str,
        path: str,
        params: Params | None = None,
        *,
        weight: int = 1,
        signed: bool = False,
    ) -> Any:
        """Send one request (with the retries that are safe for `method`) and return the JSON;
        `signed` ones need the client's `RequestSigner`."""
        retrying = AsyncRetrying(
            stop=stop_after_attempt(self._retry.attempts),
            wait=self._wait,
            retry=lambda state: self._should_retry(method, state),
            sleep=self._sleep,
            reraise=True,
        )
        return await retrying(self._send_once, method, path, params, weight, signed)

    async def _send_once(
        self, method: str, path: str, params: Params | None, weight: int, signed: bool
    ) -> Any:
        await self.budget.acquire(weight)
        try:
            if signed:
                response = await self._client.request(method, self._signed_target(path, params))
            else:
                response = await self._client.request(method, path, params=params)
        except _NOT_SENT as exc:
            raise BinanceConnectionError(None, f"{method} {path}: cannot connect: {exc!r}") from exc
        except httpx.TransportError as exc:
            raise BinanceNoResponse(None, f"{method} {path}: no answer: {exc!r}") from exc
        self._observe(response.headers)
        if response.is_error:
            raise self._error(response)
        try:
            return json.loads(response.content)
        except ValueError:
            raise MalformedMessage(
                f"{method} {path}", f"body is not JSON: {response.text[:120]!r}"
            ) from None

    def _signed_target(self, path: str, params: Params | None) -> str:
        """`path` with its signed query: it goes out exactly as signed, so httpx must not
        build the query again."""
        if self._signer is None:
            raise BinanceAuthError(None, f"{path} needs API keys, and none are set")
        return f"{path}?{self._signer.signed_query(params)}"

    def _observe(self, headers: httpx.Headers) -> None:
        for name, value in headers.items():
            if name == _USED_WEIGHT_HEADER and value.isdigit():
                self.last_used_weight = int(value)
                self.budget.observe(self.last_used_weight)
            elif name.startswith(_ORDER_COUNT_PREFIX) and value.isdigit():
                self.order_counts[name.removeprefix(_ORDER_COUNT_PREFIX).upper()] = int(value)

    def _error(self, response: httpx.Response) -> BinanceError:
        code, msg = _error_body(response)
        error = error_from_response(
            response.status_code, code, msg, retry_after=_retry_after(response.headers)
        )
        if isinstance(error, BinanceRateLimited) and error.retry_after is not None:
            self.budget.pause(error.retry_after)
        return error

    def _should_retry(self, method: str, state: RetryCallState) -> bool:
        error = state.outcome.exception() if state.outcome else None
        if isinstance(error, BinanceRateLimited):
            # Refused, so safe for any method; a ban that outlasts one wait is final.
            first_ban = not isinstance(error, BinanceIpBanned) or state.attempt_number == 1
            return first_ban and (error.retry_after or 0.0) <= self._retry.max_retry_after
        if isinstance(error, BinanceConnectionError):
            return True
        return isinstance(error, BinanceServerError) and method == "GET"

    def _wait(self, state: RetryCallState) -> float:
        error = state.outcome.exception() if state.outcome else None
        if isinstance(error, BinanceRateLimited) and error.retry_after is not None:
            return 0.0  # the budget holds every request until Retry-After is over
        return self._backoff(state)


def _error_body(response: httpx.Response) -> tuple[int | None, str]:
    """Binance's `{"code": int, "msg": str}`, or the raw text when the body is something else
    (a proxy's HTML page, an empty 503)."""
    try:
        body = response.json()
    except ValueError:
        body = None
    if isinstance(body, dict) and isinstance(body.get("code"), int):
        return body["code"], str(body.get("msg", ""))
    return None, response.text[:200] or response.reason_phrase


def _retry_after(headers: httpx.Headers) -> float | None:
    """`Retry-After` in seconds (Binance sends whole seconds; fractions are accepted)."""
    try:
        seconds = float(headers.get("retry-after", ""))
    except ValueError:
        return None
    return seconds if math.isfinite(seconds) and seconds >= 0 else None
