"""Binance USDⓈ-M market data over REST: server time, symbol filters, candles (paged past the
1,500-row limit), funding (history paged past its 1,000-row limit, and the symbols' settlement
intervals) and open interest (now, and its recent history in windows of 500 rows).

Endpoint paths and their request weights are declared here, as data, next to the calls that use
them; `BinanceHttp` enforces the budget.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Collection
from dataclasses import replace
from typing import TypeVar

from alphatransformer.market.binance.errors import MalformedMessage
from alphatransformer.market.binance.http import BinanceHttp, Params
from alphatransformer.market.binance.schemas import (
    FundingRate,
    parse_exchange_info,
    parse_funding_intervals,
    parse_funding_rates,
    parse_kline_row,
    parse_open_interest,
    parse_open_interest_history,
    parse_premium_index,
    parse_server_time,
)
from alphatransformer.market.history_files import OpenInterestStat
from alphatransformer.market.types import FundingInfo, Interval, Kline, OpenInterest
from alphatransformer.trading.filters import SymbolFilters
from alphatransformer.utils.clock import Clock, WallClock

TIME = "/fapi/v1/time"
EXCHANGE_INFO = "/fapi/v1/exchangeInfo"
KLINES = "/fapi/v1/klines"
PREMIUM_INDEX = "/fapi/v1/premiumIndex"
FUNDING_RATE = "/fapi/v1/fundingRate"
FUNDING_INFO = "/fapi/v1/fundingInfo"
OPEN_INTEREST = "/fapi/v1/openInterest"
OPEN_INTEREST_HIST = "/futures/data/openInterestHist"

WEIGHTS: dict[str, int] = {
    TIME: 1,
    EXCHANGE_INFO: 1,
    PREMIUM_INDEX: 1,  # with a symbol; 10 without
    # Funding history is paced by its own pool (500 per 5 minutes, shared with fundingInfo).
    FUNDING_RATE: 1,
    # Weight 0 on paper, but paced by that same pool: charged 1 like fundingRate.
    FUNDING_INFO: 1,
    OPEN_INTEREST: 1,
    # Weight 0 on paper, but paced by its own pool (1,000 requests per 5 minutes): charged 1
    # like fundingRate.
    OPEN_INTEREST_HIST: 1,
}
"""Request weight per endpoint; klines are priced by `limit` (`KLINES_WEIGHTS`)."""

KLINES_WEIGHTS: tuple[tuple[int, int], ...] = ((99, 1), (499, 2), (1000, 5), (1500, 10))
"""(largest `limit`, weight) tiers of `/fapi/v1/klines`."""

KLINES_MAX_LIMIT = 1500
KLINES_DEFAULT_LIMIT = 500
FUNDING_RATE_MAX_LIMIT = 1000
OPEN_INTEREST_HIST_MAX_LIMIT = 500
OPEN_INTEREST_HIST_DAYS = 30
"""Binance serves open interest history for the last 30 days only; an older start is refused."""
OPEN_INTEREST_HIST_PERIODS = frozenset(
    {
        Interval.M5,
        Interval.M15,
        Interval.M30,
        Interval.H1,
        Interval.H2,
        Interval.H4,
        Interval.H6,
        Interval.H12,
        Interval.D1,
    }
)


def klines_weight(limit: int) -> int:
    """Request weight of one klines call returning up to `limit` rows."""
    for largest, weight in KLINES_WEIGHTS:
        if limit <= largest:
            return weight
    raise ValueError(f"klines limit must be at most {KLINES_MAX_LIMIT}, got {limit}")


def _check_limit(limit: int, maximum: int) -> None:
    if not 1 <= limit <= maximum:
        raise ValueError(f"limit must be in [1, {maximum}], got {limit}")


def _time_range(start_ms: int | None, end_ms: int | None) -> dict[str, int]:
    params = {"startTime": start_ms, "endTime": end_ms}
    return {name: value for name, value in params.items() if value is not None}


class BinanceMarketRest:
    """Public market data of Binance USDⓈ-M, parsed into our types.

    `clock` is the local clock; `time_offset_ms()` learns how far Binance's clock is from it,
    which decides whether the newest candle of a klines answer is still forming (and is what
    signed requests will need for their `timestamp`).
    """

    def __init__(self, http: BinanceHttp, clock: Clock | None = None) -> None:
        self._http = http
        self._clock = clock or WallClock()
        self._offset_ms = 0

    def server_now_ms(self) -> int:
        """Binance's time now, by the local clock and the last measured offset."""
        return self._clock.now_ms() + self._offset_ms

    async def server_time(self) -> int:
        """Binance's clock, in milliseconds since the epoch."""
        return parse_server_time(await self._get(TIME))

    async def time_offset_ms(self) -> int:
        """Measure (and remember) server time minus local time, taking the local time halfway
        through the round trip."""
        sent = self._clock.now_ms()
        server = await self.server_time()
        received = self._clock.now_ms()
        self._offset_ms = server - (sent + received) // 2
        return self._offset_ms

    async def exchange_info(self) -> dict[str, SymbolFilters]:
        """Price and quantity filters of every listed symbol, by symbol."""
        return parse_exchange_info(await self._get(EXCHANGE_INFO))

    async def klines(
        self,
        symbol: str,
        interval: Interval,
        *,
        start_ms: int | None = None,
        end_ms: int | None = None,
        limit: int = KLINES_DEFAULT_LIMIT,
    ) -> list[Kline]:
        """Up to `limit` candles, oldest first: from `start_ms` on if given, else the newest up
        to `end_ms` (or now). A candle that has not closed yet by server time comes back with
        `closed=False`."""
        _check_limit(limit, KLINES_MAX_LIMIT)
        params: dict[str, str | int] = {
            "symbol": symbol,
            "interval": interval.value,
            "limit": limit,
            **_time_range(start_ms, end_ms),
        }
        rows = await self._http.get(KLINES, params, weight=klines_weight(limit))
        if not isinstance(rows, list):
            raise MalformedMessage("klines", f"expected a list, got {type(rows).__name__}")
        klines = [parse_kline_row(row, symbol, interval) for row in rows]
        # Only the newest candle can still be forming.
        if klines and klines[-1].close_time >= self.server_now_ms():
            klines[-1] = replace(klines[-1], closed=False)
        return klines

    async def klines_range(
        self,
        symbol: str,
        interval: Interval,
        start_ms: int,
        end_ms: int,
        *,
        page_limit: int = KLINES_MAX_LIMIT,
    ) -> AsyncIterator[Kline]:
        """Every candle opening in [start_ms, end_ms], oldest first, each exactly once, fetched
        page by page (see `_pages`)."""
        _check_limit(page_limit, KLINES_MAX_LIMIT)

        async def page(start: int) -> list[Kline]:
            return await self.klines(
                symbol, interval, start_ms=start, end_ms=end_ms, limit=page_limit
            )

        async for kline in _pages(page, start_ms, end_ms, page_limit, "klines"):
            yield kline

    async def premium_index(self, symbol: str) -> FundingInfo:
        """Mark price, index price and the current funding rate of `symbol`."""
        return parse_premium_index(await self._get(PREMIUM_INDEX, {"symbol": symbol}))

    async def funding_rates(
        self,
        symbol: str,
        *,
        start_ms: int | None = None,
        end_ms: int | None = None,
        limit: int = 100,
    ) -> list[FundingRate]:
        """Settled funding rates, oldest first: from `start_ms` on if given, else the newest."""
        _check_limit(limit, FUNDING_RATE_MAX_LIMIT)
        params: dict[str, str | int] = {
            "symbol": symbol,
            "limit": limit,
            **_time_range(start_ms, end_ms),
        }
        return parse_funding_rates(await self._get(FUNDING_RATE, params))

    async def funding_rates_range(
        self,
        symbol: str,
        start_ms: int,
        end_ms: int,
        *,
        page_limit: int = FUNDING_RATE_MAX_LIMIT,
    ) -> AsyncIterator[FundingRate]:
        """Every funding settled in [start_ms, end_ms], oldest first, each exactly once, fetched
        page by page (see `_pages`)."""
        _check_limit(page_limit, FUNDING_RATE_MAX_LIMIT)

        async def page(start: int) -> list[FundingRate]:
            return await self.funding_rates(symbol, start_ms=start, end_ms=end_ms, limit=page_limit)

        async for rate in _pages(page, start_ms, end_ms, page_limit, "fundingRate"):
            yield rate

    async def funding_intervals(self, symbols: Collection[str] | None = None) -> dict[str, int]:
        """Hours between funding settlements of the symbols Binance adjusted, by symbol (of
        `symbols` only, when given); a symbol left out settles every 8 hours."""
        return parse_funding_intervals(await self._get(FUNDING_INFO), symbols)

    async def open_interest(self, symbol: str) -> OpenInterest:
        """Open interest of `symbol` now, in contracts."""
        return parse_open_interest(await self._get(OPEN_INTEREST, {"symbol": symbol}))

    async def open_interest_history(
        self,
        symbol: str,
        period: Interval,
        *,
        start_ms: int | None = None,
        end_ms: int | None = None,
        limit: int = 30,
    ) -> list[OpenInterestStat]:
        """Open interest sampled every `period`, oldest first: from `start_ms` on if given, else
        the newest. Binance keeps only the last `OPEN_INTEREST_HIST_DAYS` days of it."""
        if period not in OPEN_INTEREST_HIST_PERIODS:
            raise ValueError(f"open interest history has no {period} period")
        _check_limit(limit, OPEN_INTEREST_HIST_MAX_LIMIT)
        params: dict[str, str | int] = {
            "symbol": symbol,
            "period": period.value,
            "limit": limit,
            **_time_range(start_ms, end_ms),
        }
        return parse_open_interest_history(await self._get(OPEN_INTEREST_HIST, params))

    async def open_interest_history_range(
        self,
        symbol: str,
        period: Interval,
        start_ms: int,
        end_ms: int,
        *,
        page_limit: int = OPEN_INTEREST_HIST_MAX_LIMIT,
    ) -> AsyncIterator[OpenInterestStat]:
        """Every open interest stamped in [start_ms, end_ms], oldest first, each exactly once,
        fetched in windows of `page_limit` periods.

        Windows rather than `_pages`' cursor: a window of `page_limit` periods holds no more rows
        than a page, so none is lost whether Binance fills a page from the window's start or
        its end, and a window with a hole in Binance's history (there are some) does not end
        the sweep as a short page would.
        """
        _check_limit(page_limit, OPEN_INTEREST_HIST_MAX_LIMIT)
        window_ms = page_limit * period.ms
        for start in range(start_ms, end_ms + 1, window_ms):
            end = min(start + window_ms - 1, end_ms)
            page = await self.open_interest_history(
                symbol, period, start_ms=start, end_ms=end, limit=page_limit
            )
            for stat in page:
                yield stat

    async def _get(self, path: str, params: Params | None = None) -> object:
        return await self._http.get(path, params, weight=WEIGHTS[path])


_Row = TypeVar("_Row", Kline, FundingRate)


async def _pages(
    fetch: Callable[[int], Awaitable[list[_Row]]],
    start_ms: int,
    end_ms: int,
    page_limit: int,
    what: str,
) -> AsyncIterator[_Row]:
    """Rows from `start_ms` to `end_ms`, page after page, each page starting 1 ms after the last
    row of the previous (so nothing comes twice), until a page is not full."""
    start = start_ms
    while start <= end_ms:
        page = await fetch(start)
        for row in page:
            yield row
        if len(page) < page_limit:
            return
        last = _row_time(page[-1])
        if last < start:
            raise MalformedMessage(what, f"page from {start} ends before it starts")
        start = last + 1


def _row_time(row: Kline | FundingRate) -> int:
    return row.open_time if isinstance(row, Kline) else row.funding_time
