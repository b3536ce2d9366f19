"""Binance's `{code, msg}` answers as exception types, one per family a caller can act on.

A caller catches the family it can handle (wait out a rate limit, re-sync the clock, round to
the filters, query an order whose outcome is unknown) and lets the rest travel up. `ambiguous`
says whether the request may have taken effect: a 5xx, a timeout or a garbled answer leaves an
order "in flight" until it is queried; everything else is a definitive refusal.
"""

from __future__ import annotations

from typing import ClassVar


class BinanceError(Exception):
    """An error answer from Binance (or the failure to get one), with its code and HTTP status."""

    ambiguous: ClassVar[bool] = False
    """True when the request may have been executed despite the error."""

    def __init__(
        self,
        code: int | None,
        msg: str,
        status: int | None = None,
        *,
        retry_after: float | None = None,
    ) -> None:
        self.code = code
        self.msg = msg
        self.status = status
        self.retry_after = retry_after
        """Seconds Binance asked us to wait (`Retry-After`), when it said."""
        status_text = f"HTTP {status} " if status is not None else ""
        code_text = f"code {code}: " if code is not None else ""
        super().__init__(f"{status_text}{code_text}{msg}")


class BinanceRateLimited(BinanceError):
    """HTTP 429 / -1003: too much weight; back off for `retry_after` seconds or risk a ban."""


class BinanceIpBanned(BinanceRateLimited):
    """HTTP 418: the IP is banned for `retry_after` seconds after ignoring 429s."""


class BinanceServerError(BinanceError):
    """HTTP 5xx or an internal error code: Binance may or may not have executed the request."""

    ambiguous = True


class BinanceNoResponse(BinanceServerError):
    """The request was sent but no answer came back (timeout, dropped connection)."""


class BinanceConnectionError(BinanceError):
    """No connection could be made: the request never reached Binance, so nothing happened."""


class BinanceTimestampError(BinanceError):
    """-1021: the request's timestamp is outside `recvWindow`; re-sync the server-time offset."""


class BinanceAuthError(BinanceError):
    """-1002, -1022, -2014, -2015: bad or unauthorised API key, or a bad signature."""


class BinanceFilterError(BinanceError):
    """-1013, -1111, -4014, -4023, -4164: price, quantity or notional break a symbol filter."""


class BinanceMarginError(BinanceError):
    """-2019: not enough margin for the order."""


class BinanceUnknownOrder(BinanceError):
    """-2011, -2013: no such order."""


class BinanceBadRequest(BinanceError):
    """Any other 4xx refusal (the -1xxx request errors and -4xxx order errors)."""


class MalformedMessage(BinanceError, ValueError):
    """A payload that does not have the shape Binance documents; `field` names the culprit.

    Ambiguous, because a garbled answer to an order request says nothing about the order.
    """

    ambiguous = True

    def __init__(self, field: str, problem: str) -> None:
        self.field = field
        super().__init__(None, f"malformed message: {field}: {problem}")


_BY_STATUS: dict[int, type[BinanceError]] = {
    418: BinanceIpBanned,
    429: BinanceRateLimited,
}

_BY_CODE: dict[int, type[BinanceError]] = {
    -1000: BinanceServerError,  # UNKNOWN
    -1001: BinanceServerError,  # DISCONNECTED
    -1006: BinanceServerError,  # UNEXPECTED_RESP
    -1007: BinanceServerError,  # TIMEOUT: "execution status unknown"
    -1008: BinanceServerError,  # SERVER_BUSY
    -1003: BinanceRateLimited,  # TOO_MANY_REQUESTS
    -1021: BinanceTimestampError,  # INVALID_TIMESTAMP
    -1002: BinanceAuthError,  # UNAUTHORIZED
    -1022: BinanceAuthError,  # INVALID_SIGNATURE
    -2014: BinanceAuthError,  # BAD_API_KEY_FMT
    -2015: BinanceAuthError,  # REJECTED_MBX_KEY
    -1013: BinanceFilterError,  # filter failure
    -1111: BinanceFilterError,  # BAD_PRECISION
    -4014: BinanceFilterError,  # PRICE_NOT_INCREASED_BY_TICK_SIZE
    -4023: BinanceFilterError,  # QTY_NOT_INCREASED_BY_STEP_SIZE
    -4164: BinanceFilterError,  # MIN_NOTIONAL
    -2019: BinanceMarginError,  # MARGIN_NOT_SUFFICIENT
    -2011: BinanceUnknownOrder,  # UNKNOWN_ORDER (cancel rejected)
    -2013: BinanceUnknownOrder,  # NO_SUCH_ORDER
}

_BY_STATUS_CLASS: dict[int, type[BinanceError]] = {
    4: BinanceBadRequest,
    5: BinanceServerError,
}


def error_from_response(
    status: int, code: int | None, msg: str, *, retry_after: float | None = None
) -> BinanceError:
    """The typed error for an error answer: by HTTP status (418, 429) first, then by Binance
    code, then by status class (4xx refused, 5xx ambiguous)."""
    error_type = (
        _BY_STATUS.get(status)
        or (_BY_CODE.get(code) if code is not None else None)
        or _BY_STATUS_CLASS.get(status // 100, BinanceError)
    )
    return error_type(code, msg, status, retry_after=retry_after)
