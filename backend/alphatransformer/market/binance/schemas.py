"""Binance USDⓈ-M wire format parsed into our types, strictly: anything off-shape raises one
`MalformedMessage` that names the field.

Prices come as decimal strings. Market data becomes floats (our `Kline`, `FundingInfo`); exchange
filters become exact `Decimal`s, since orders are quantized with them. The kline parsers sit on
the hot path of the live feed, so they take the fast route first and only work out which field
is to blame once something has failed.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, TypeVar

from alphatransformer.market.binance.errors import MalformedMessage
from alphatransformer.market.history_files import OpenInterestStat
from alphatransformer.market.types import FundingInfo, Interval, Kline, OpenInterest
from alphatransformer.trading.filters import SymbolFilters

_T = TypeVar("_T")
_Fields = tuple[tuple[str | int, Callable[[Any], object]], ...]

_INTERVALS: dict[str, Interval] = {interval.value: interval for interval in Interval}


@dataclass(frozen=True, slots=True)
class FundingRate:
    """One settled funding of `/fapi/v1/fundingRate`; old rows carry no mark price."""

    symbol: str
    funding_rate: float
    funding_time: int
    mark_price: float | None


# --- strict readers: each returns the value or raises TypeError/ValueError saying why ----------


def _int(value: Any) -> int:
    if type(value) is not int:
        raise TypeError(f"expected an integer, got {value!r}")
    return value


def _positive_int(value: Any) -> int:
    number = _int(value)
    if number < 1:
        raise ValueError(f"expected at least 1, got {value!r}")
    return number


def _float(value: Any) -> float:
    """A decimal string (Binance's way) or a JSON number, as a float."""
    if type(value) is bool or not isinstance(value, str | int | float):
        raise TypeError(f"expected a decimal string, got {value!r}")
    return float(value)


def _optional_float(value: Any) -> float | None:
    return None if value in (None, "") else _float(value)


def _decimal(value: Any) -> Decimal:
    if type(value) is not str:
        raise TypeError(f"expected a decimal string, got {value!r}")
    number = Decimal(value)
    if not number.is_finite():
        raise ValueError(f"expected a finite decimal, got {value!r}")
    return number


def _str(value: Any) -> str:
    if type(value) is not str:
        raise TypeError(f"expected a string, got {value!r}")
    return value


def _bool(value: Any) -> bool:
    if type(value) is not bool:
        raise TypeError(f"expected true or false, got {value!r}")
    return value


def _list(value: Any) -> list[Any]:
    if type(value) is not list:
        raise TypeError(f"expected a list, got {type(value).__name__}")
    return value


def _interval(value: Any) -> Interval:
    try:
        return _INTERVALS[value]
    except (KeyError, TypeError):
        raise ValueError(f"unknown interval {value!r}") from None


def _read(value: Any, read: Callable[[Any], _T], name: str) -> _T:
    """`read(value)`, or a `MalformedMessage` naming `name` and saying what is wrong."""
    try:
        return read(value)
    except (TypeError, ValueError, ArithmeticError) as exc:
        raise MalformedMessage(name, str(exc)) from None


def _field(container: Any, key: str | int, read: Callable[[Any], _T], where: str) -> _T:
    """`read(container[key])`, or a `MalformedMessage` naming `where.key`."""
    name = f"{where}.{key}" if isinstance(key, str) else f"{where}[{key}]"
    try:
        value = container[key]
    except (KeyError, IndexError, TypeError):
        raise MalformedMessage(name, "missing") from None
    return _read(value, read, name)


def _unwrap(message: Any) -> Any:
    """The event of a combined-stream message (`{"stream": ..., "data": event}`), or `message`."""
    return message.get("data", message) if isinstance(message, Mapping) else message


def _explain(container: Any, fields: _Fields, where: str) -> MalformedMessage:
    """The error for the first field of `container` that does not read (called after a fast
    parse failed, to name the culprit)."""
    try:
        for key, read in fields:
            _field(container, key, read, where)
    except MalformedMessage as error:
        return error
    return MalformedMessage(where, "unreadable")


# --- klines: the hot path -----------------------------------------------------------------------

_ROW_FIELDS: _Fields = (
    (0, _int),  # open time
    (1, _float),  # open
    (2, _float),  # high
    (3, _float),  # low
    (4, _float),  # close
    (5, _float),  # volume
    (6, _int),  # close time
    (7, _float),  # quote volume
    (8, _int),  # trades
    (9, _float),  # taker buy base volume
    (10, _float),  # taker buy quote volume
)

_EVENT_FIELDS: _Fields = (
    ("s", _str),
    ("i", _interval),
    ("t", _int),
    ("o", _float),
    ("h", _float),
    ("l", _float),
    ("c", _float),
    ("v", _float),
    ("T", _int),
    ("q", _float),
    ("n", _int),
    ("V", _float),
    ("Q", _float),
    ("x", _bool),
)


def parse_kline_row(row: Any, symbol: str, interval: Interval, *, closed: bool = True) -> Kline:
    """One row of `/fapi/v1/klines` (`[openTime, "open", ..., "takerBuyQuote", "ignore"]`).

    The row does not say whether the candle is still forming; the caller knows (`closed`).
    """
    try:
        open_time, close_time, trades = row[0], row[6], row[8]
        kline = Kline(
            symbol,
            interval,
            open_time,
            float(row[1]),
            float(row[2]),
            float(row[3]),
            float(row[4]),
            float(row[5]),
            close_time,
            float(row[7]),
            trades,
            float(row[9]),
            float(row[10]),
            closed,
        )
    except (IndexError, KeyError, TypeError, ValueError):
        raise _explain(row, _ROW_FIELDS, "kline row") from None
    if type(open_time) is not int or type(close_time) is not int or type(trades) is not int:
        raise _explain(row, _ROW_FIELDS, "kline row")
    return kline


def parse_kline_event(message: Any) -> Kline:
    """A `kline` stream event, bare or wrapped as combined streams send it
    (`{"stream": ..., "data": {...}}`); `x` says whether the candle is closed."""
    try:
        k = message.get("data", message)["k"]
        open_time, close_time, trades, closed, symbol = k["t"], k["T"], k["n"], k["x"], k["s"]
        kline = Kline(
            symbol,
            _INTERVALS[k["i"]],
            open_time,
            float(k["o"]),
            float(k["h"]),
            float(k["l"]),
            float(k["c"]),
            float(k["v"]),
            close_time,
            float(k["q"]),
            trades,
            float(k["V"]),
            float(k["Q"]),
            closed,
        )
    except (KeyError, TypeError, ValueError, AttributeError):
        raise _explain_kline_event(message) from None
    if (
        type(open_time) is not int
        or type(close_time) is not int
        or type(trades) is not int
        or type(closed) is not bool
        or type(symbol) is not str
    ):
        raise _explain_kline_event(message)
    return kline


def _explain_kline_event(message: Any) -> MalformedMessage:
    try:
        k = _field(_unwrap(message), "k", _mapping, "kline event")
    except MalformedMessage as error:
        return error
    return _explain(k, _EVENT_FIELDS, "kline event.k")


def _mapping(value: Any) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise TypeError(f"expected an object, got {type(value).__name__}")
    return value


# --- the rest: not hot, read field by field ----------------------------------------------------


def parse_server_time(payload: Any) -> int:
    """`/fapi/v1/time`: `{"serverTime": ms}`."""
    return _field(payload, "serverTime", _int, "time")


_FILTER_FIELDS: dict[str, tuple[str, str]] = {
    "tick_size": ("PRICE_FILTER", "tickSize"),
    "min_price": ("PRICE_FILTER", "minPrice"),
    "max_price": ("PRICE_FILTER", "maxPrice"),
    "step_size": ("LOT_SIZE", "stepSize"),
    "min_qty": ("LOT_SIZE", "minQty"),
    "max_qty": ("LOT_SIZE", "maxQty"),
    "market_step_size": ("MARKET_LOT_SIZE", "stepSize"),
    "market_min_qty": ("MARKET_LOT_SIZE", "minQty"),
    "market_max_qty": ("MARKET_LOT_SIZE", "maxQty"),
    # Futures name it `notional`; spot's MIN_NOTIONAL says `minNotional`.
    "min_notional": ("MIN_NOTIONAL", "notional"),
}


def parse_exchange_info(payload: Any) -> dict[str, SymbolFilters]:
    """`/fapi/v1/exchangeInfo` → the filters of every listed symbol, by symbol."""
    entries = _field(payload, "symbols", _list, "exchangeInfo")
    return {filters.symbol: filters for filters in map(parse_symbol_filters, entries)}


def parse_symbol_filters(entry: Any) -> SymbolFilters:
    """One `symbols[]` entry of exchangeInfo → its PRICE_FILTER, lot sizes and MIN_NOTIONAL."""
    symbol = _field(entry, "symbol", _str, "exchangeInfo.symbols[]")
    where = f"exchangeInfo {symbol}"
    by_type = {
        _field(item, "filterType", _str, f"{where}.filters[]"): item
        for item in _field(entry, "filters", _list, where)
    }
    values = {
        name: _field(by_type.get(filter_type), key, _decimal, f"{where} {filter_type}")
        for name, (filter_type, key) in _FILTER_FIELDS.items()
    }
    return SymbolFilters(symbol, **values)


def parse_premium_index(payload: Any) -> FundingInfo:
    """`/fapi/v1/premiumIndex?symbol=...`: mark price, index price and the current funding."""
    where = "premiumIndex"
    return FundingInfo(
        symbol=_field(payload, "symbol", _str, where),
        mark_price=_field(payload, "markPrice", _float, where),
        index_price=_field(payload, "indexPrice", _float, where),
        funding_rate=_field(payload, "lastFundingRate", _float, where),
        next_funding_time=_field(payload, "nextFundingTime", _int, where),
        time=_field(payload, "time", _int, where),
    )


def parse_mark_price_event(message: Any) -> FundingInfo:
    """A `markPriceUpdate` stream event (bare or combined-wrapped) → the same `FundingInfo`
    premiumIndex gives, stamped with the event time."""
    event = _unwrap(message)
    where = "markPriceUpdate"
    return FundingInfo(
        symbol=_field(event, "s", _str, where),
        mark_price=_field(event, "p", _float, where),
        index_price=_field(event, "i", _float, where),
        funding_rate=_field(event, "r", _float, where),
        next_funding_time=_field(event, "T", _int, where),
        time=_field(event, "E", _int, where),
    )


def parse_funding_rates(payload: Any) -> list[FundingRate]:
    """`/fapi/v1/fundingRate` rows, oldest first as Binance sends them."""
    return [_parse_funding_rate(row) for row in _read(payload, _list, "fundingRate")]


def _parse_funding_rate(row: Any) -> FundingRate:
    where = "fundingRate[]"
    return FundingRate(
        symbol=_field(row, "symbol", _str, where),
        funding_rate=_field(row, "fundingRate", _float, where),
        funding_time=_field(row, "fundingTime", _int, where),
        mark_price=_read(row.get("markPrice"), _optional_float, f"{where}.markPrice"),
    )


def parse_funding_intervals(payload: Any, symbols: Collection[str] | None = None) -> dict[str, int]:
    """`/fapi/v1/fundingInfo` → hours between settlements, by symbol. Binance lists only the
    symbols whose funding it adjusted: any other settles every 8 hours.

    Given `symbols`, only their entries are read: an odd entry for a symbol nobody trades must
    not stop the market from starting."""
    where = "fundingInfo[]"
    return {
        _field(entry, "symbol", _str, where): _field(
            entry, "fundingIntervalHours", _positive_int, where
        )
        for entry in _read(payload, _list, "fundingInfo")
        if symbols is None or (isinstance(entry, dict) and entry.get("symbol") in symbols)
    }


def parse_open_interest(payload: Any) -> OpenInterest:
    """`/fapi/v1/openInterest`: open interest in contracts at a transaction time."""
    where = "openInterest"
    return OpenInterest(
        symbol=_field(payload, "symbol", _str, where),
        open_interest=_field(payload, "openInterest", _float, where),
        time=_field(payload, "time", _int, where),
    )


def parse_open_interest_history(payload: Any) -> list[OpenInterestStat]:
    """`/futures/data/openInterestHist` rows, oldest first as Binance sends them; fields beyond
    the open interest (`CMCirculatingSupply`) are ignored."""
    where = "openInterestHist[]"
    return [
        OpenInterestStat(
            symbol=_field(row, "symbol", _str, where),
            time=_field(row, "timestamp", _int, where),
            open_interest=_field(row, "sumOpenInterest", _float, where),
            open_interest_value=_field(row, "sumOpenInterestValue", _float, where),
        )
        for row in _read(payload, _list, "openInterestHist")
    ]
