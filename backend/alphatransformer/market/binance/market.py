"""Live Binance USDⓈ-M market data: REST history, WebSocket updates, REST backfill of gaps.

Every candle reaches the K-line cache exactly once, whatever the connection does. The cache
refuses a candle that would leave a hole (`GAP`) and answers `DUPLICATE` to one it already has,
so the feed only has to fill holes: when the cache reports a gap, and after every (re)connection
(something may have closed while no socket was open), the series' missing closed candles are
fetched over REST and inserted in order, and the stream events that arrived meanwhile (the
triggering one first) are inserted after them. A candle that came both ways is a harmless,
counted `DUPLICATE`.

Open interest has no stream, so it is polled; the mark price stream keeps `funding()` current,
stamped with the symbol's settlement interval (`fundingInfo`, polled hourly).
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Coroutine, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from alphatransformer.config.schema import AppConfig, BinanceEndpoints, Environment, MarketConfig
from alphatransformer.market.binance.errors import BinanceError
from alphatransformer.market.binance.http import BinanceHttp
from alphatransformer.market.binance.rest import KLINES_MAX_LIMIT, BinanceMarketRest
from alphatransformer.market.binance.streams import BinanceStreams, StreamOptions
from alphatransformer.market.cached_market import CachedMarket
from alphatransformer.market.kline_cache import InsertResult, KlineSeries
from alphatransformer.market.market_data import KlineListener
from alphatransformer.market.types import FundingInfo, Interval, Kline, OpenInterest
from alphatransformer.utils.clock import Clock, WallClock

logger = logging.getLogger(__name__)

SeriesKey = tuple[str, Interval]

# A backfill usually covers a few candles; pages of up to 99 cost the least weight (1).
_BACKFILL_PAGE_LIMIT = 99
# Settlement interval of a symbol `fundingInfo` does not list.
_DEFAULT_FUNDING_INTERVAL_HOURS = 8


@dataclass(frozen=True, slots=True)
class BinanceMarketOptions:
    """Timings of the live feed; tests shrink them to milliseconds."""

    streams: StreamOptions = field(default_factory=StreamOptions)
    open_interest_poll_s: float = 60.0
    funding_intervals_poll_s: float = 3600.0
    """How often `fundingInfo` is read again: Binance moves a symbol to 4 h or 1 h funding
    when its rate keeps hitting the cap, and a paper run lasts days."""
    backfill_attempts: int = 5
    """Rounds of fetch-and-insert before a backfill gives up until the series' next event (the
    REST history may lag the stream by a moment after a candle closes)."""
    backfill_retry_s: float = 1.0


def endpoints_for(config: AppConfig) -> BinanceEndpoints:
    """The endpoints market data comes from: the testnet's for `testnet`, production's
    otherwise (paper trading on live prices reads public data, which needs no key)."""
    if config.environment is Environment.TESTNET:
        return config.binance.testnet
    return config.binance.production


class BinanceMarket(CachedMarket):
    """`MarketData` from Binance USDⓈ-M: REST history, live stream updates, gap backfill."""

    def __init__(
        self,
        symbols: Sequence[str],
        market_config: MarketConfig,
        rest: BinanceMarketRest,
        streams_url: str,
        clock: Clock,
        *,
        options: BinanceMarketOptions = BinanceMarketOptions(),
        owned_http: BinanceHttp | None = None,
    ) -> None:
        """`streams_url` is the WebSocket base (`BinanceEndpoints.ws_url`); `owned_http`, when
        given, is the transport under `rest`, closed by `stop()`."""
        intervals = (market_config.short_interval, market_config.long_interval)
        super().__init__(symbols, intervals, market_config.cache_size, clock)
        self._short = market_config.short_interval
        self._history_candles = market_config.history_candles
        self._rest = rest
        self._options = options
        self._owned_http = owned_http
        self._streams = BinanceStreams(
            streams_url,
            self._symbols,
            self._intervals,
            on_kline=self._on_kline,
            on_mark_price=self._on_mark_price,
            on_connected=self._on_connected,
            options=options.streams,
        )
        self._funding: dict[str, FundingInfo] = {}
        self._funding_intervals: dict[str, int] = {}
        self._open_interest: dict[str, OpenInterest] = {}
        # Series being backfilled, with the stream events held back until the backfill is in.
        self._held: dict[SeriesKey, deque[Kline]] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._started = False
        self._backfilled = 0

    @classmethod
    def from_config(
        cls,
        config: AppConfig,
        clock: Clock | None = None,
        *,
        options: BinanceMarketOptions = BinanceMarketOptions(),
    ) -> BinanceMarket:
        """The market for `config`'s symbols, on the endpoints its environment reads from."""
        clock = clock or WallClock()
        endpoints = endpoints_for(config)
        http = BinanceHttp(endpoints.rest_url, clock=clock)
        return cls(
            config.symbols,
            config.market,
            BinanceMarketRest(http, clock),
            endpoints.ws_url,
            clock,
            options=options,
            owned_http=http,
        )

    @property
    def is_simulated(self) -> bool:
        return False

    @property
    def streams(self) -> BinanceStreams:
        """The WebSocket client, for its counters and connection state."""
        return self._streams

    @property
    def backfilled_candles(self) -> int:
        """Closed candles that came over REST to fill a hole (history excluded)."""
        return self._backfilled

    @property
    def backfills_running(self) -> int:
        """Series being backfilled now; their newest events wait until it is done."""
        return len(self._held)

    async def start(self) -> None:
        """Load history, funding (with its intervals) and open interest over REST, then open
        the streams and start polling open interest and funding intervals. A failing REST call
        raises, and nothing runs; a second call does nothing."""
        if self._started:
            return
        await self._rest.time_offset_ms()
        self._funding_intervals = await self._rest.funding_intervals(self._symbols)
        for symbol in self._symbols:
            for interval in self._intervals:
                await self._load_history(symbol, interval)
            self._funding[symbol] = self._with_interval(await self._rest.premium_index(symbol))
            self._open_interest[symbol] = await self._rest.open_interest(symbol)
        self._started = True
        await self._streams.start()
        self._spawn(self._poll_open_interest(), "binance-open-interest")
        self._spawn(self._poll_funding_intervals(), "binance-funding-intervals")

    async def stop(self) -> None:
        """Close the streams, cancel polling and backfills, close an owned transport; a second
        call does nothing."""
        self._started = False
        await self._streams.stop()
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self._held.clear()
        http, self._owned_http = self._owned_http, None
        if http is not None:
            await http.aclose()

    def add_listener(self, listener: KlineListener) -> None:
        """Call `listener` on every accepted live update (stream or backfill, not the history
        loaded by `start()`): per series, closed candles oldest first, each exactly once."""
        self._listeners.append(listener)

    def latest_price(self, symbol: str) -> float:
        """The forming short-interval candle's close, else the last closed one's."""
        series = self._cache.series(self._known(symbol), self._short)
        kline = series.forming or series.last_closed
        if kline is None:
            raise RuntimeError(f"no {symbol} candle yet: start the market first")
        return kline.close

    def funding(self, symbol: str) -> FundingInfo | None:
        return self._funding.get(self._known(symbol))

    def open_interest(self, symbol: str) -> OpenInterest | None:
        return self._open_interest.get(self._known(symbol))

    # --- history -------------------------------------------------------------------------------

    async def _load_history(self, symbol: str, interval: Interval) -> None:
        """The last `history_candles` closed candles and the forming one, into the cache
        without notifying listeners (as the other sources load history)."""
        limit = min(self._history_candles + 1, KLINES_MAX_LIMIT)
        klines = await self._rest.klines(symbol, interval, limit=limit)
        closed = [kline for kline in klines if kline.closed][-self._history_candles :]
        forming = [kline for kline in klines[-1:] if not kline.closed]
        for kline in closed + forming:
            result = self._cache.insert(kline)
            if result is not InsertResult.ACCEPTED:
                logger.warning("%s %s history candle rejected (%s)", symbol, interval, result)

    # --- live updates ----------------------------------------------------------------------------

    def _on_kline(self, kline: Kline) -> None:
        """A stream event: held back while its series is backfilled, else inserted at once."""
        if self._held:  # the hot path skips the lookup while nothing is being backfilled
            held = self._held.get((kline.symbol, kline.interval))
            if held is not None:
                held.append(kline)
                return
        if self._insert(kline) is InsertResult.GAP:
            self._backfill((kline.symbol, kline.interval), kline)

    def _on_mark_price(self, info: FundingInfo) -> None:
        if info.symbol in self._symbols:
            self._funding[info.symbol] = self._with_interval(info)

    def _on_connected(self) -> None:
        """Candles may have closed while no connection was open: check every series."""
        for symbol in self._symbols:
            for interval in self._intervals:
                self._backfill((symbol, interval), None)

    def _insert(self, kline: Kline) -> InsertResult:
        """Insert and notify listeners when accepted; other results are counted by the cache."""
        result = self._cache.insert(kline)
        if result is InsertResult.ACCEPTED:
            self._notify(kline)
        elif result is not InsertResult.GAP and result is not InsertResult.DUPLICATE:
            logger.debug(
                "%s %s candle rejected (%s): %s", kline.symbol, kline.interval, result, kline
            )
        return result

    # --- backfill ------------------------------------------------------------------------------

    def _backfill(self, key: SeriesKey, trigger: Kline | None) -> None:
        """Hold back the series' events (`trigger` first) and fetch its missing candles, unless
        a backfill of the series is already on its way."""
        held = self._held.get(key)
        if held is None:
            held = self._held[key] = deque()
            self._spawn(self._run_backfill(key), f"binance-backfill-{key[0]}-{key[1]}")
        if trigger is not None:
            held.append(trigger)

    async def _run_backfill(self, key: SeriesKey) -> None:
        """Fetch and insert the missing closed candles, then the held events, retrying while
        the held events still do not follow on (REST may lag the stream for a moment)."""
        series = self._cache.series(*key)
        try:
            for attempt in range(self._options.backfill_attempts):
                if attempt:
                    await asyncio.sleep(self._options.backfill_retry_s)
                try:
                    await self._insert_missing(series)
                except BinanceError as exc:
                    logger.warning("%s %s backfill failed: %s", key[0], key[1], exc)
                    continue
                if self._release_held(key):
                    return
            logger.error(
                "%s %s: hole not filled after %d backfills; the next event tries again",
                key[0],
                key[1],
                self._options.backfill_attempts,
            )
        finally:
            # No await between releasing the held events and this: none can slip in between.
            self._held.pop(key, None)

    async def _insert_missing(self, series: KlineSeries) -> None:
        """Insert, oldest first, the closed candles after the series' last closed one."""
        last = series.last_closed
        if last is None:
            return  # nothing to anchor a hole to: the first closed candle starts the series
        start_ms = last.open_time + series.interval.ms
        end_ms = self._rest.server_now_ms()
        rows = self._rest.klines_range(
            series.symbol, series.interval, start_ms, end_ms, page_limit=_BACKFILL_PAGE_LIMIT
        )
        async for kline in rows:
            if not kline.closed:
                continue  # the forming candle comes with the stream
            result = self._insert(kline)
            if result is InsertResult.ACCEPTED:
                self._backfilled += 1
            elif result is InsertResult.GAP:
                logger.warning("%s REST history has a hole before %s", series.symbol, kline)
                return

    def _release_held(self, key: SeriesKey) -> bool:
        """Insert the held events in arrival order; False, keeping the rest held, at the first
        that still leaves a hole."""
        held = self._held[key]
        while held:
            if self._insert(held[0]) is InsertResult.GAP:
                return False
            held.popleft()
        return True

    # --- open interest -------------------------------------------------------------------------

    async def _poll_open_interest(self) -> None:
        while True:
            await asyncio.sleep(self._options.open_interest_poll_s)
            for symbol in self._symbols:
                try:
                    self._open_interest[symbol] = await self._rest.open_interest(symbol)
                except BinanceError as exc:
                    logger.warning("%s open interest poll failed: %s", symbol, exc)

    # --- funding intervals ---------------------------------------------------------------------

    async def _poll_funding_intervals(self) -> None:
        """Re-read the intervals and restamp the stored funding; a failed read keeps the old
        intervals until the next one."""
        while True:
            await asyncio.sleep(self._options.funding_intervals_poll_s)
            try:
                self._funding_intervals = await self._rest.funding_intervals(self._symbols)
            except BinanceError as exc:
                logger.warning("funding intervals poll failed: %s", exc)
                continue
            self._funding = {s: self._with_interval(f) for s, f in self._funding.items()}

    def _with_interval(self, info: FundingInfo) -> FundingInfo:
        hours = self._funding_intervals.get(info.symbol, _DEFAULT_FUNDING_INTERVAL_HOURS)
        return replace(info, interval_hours=hours)

    def _spawn(self, work: Coroutine[Any, Any, None], name: str) -> None:
        task = asyncio.create_task(work, name=name)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
