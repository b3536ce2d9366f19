"""The live Binance market source, end to end: the real REST and WebSocket clients against the
fake Binance, which keeps closing candles while the test drops sockets, skips events, sends
garbage and answers 429. Whatever happens, the cache ends up holding the fake's series exactly:
no hole, no duplicate, and listeners see each closed candle once."""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import AsyncIterator, Callable
from dataclasses import replace

import pytest
from fakes.binance_server import FakeBinance, generate_klines, load_payload
from market.binance.fake_time import FakeTime
from market.binance.test_streams import QUICK, until

from alphatransformer.config.schema import AppConfig, Environment, MarketConfig
from alphatransformer.market.binance.http import BinanceHttp
from alphatransformer.market.binance.market import (
    BinanceMarket,
    BinanceMarketOptions,
    endpoints_for,
)
from alphatransformer.market.binance.rest import FUNDING_INFO, KLINES, BinanceMarketRest
from alphatransformer.market.binance.schemas import parse_premium_index
from alphatransformer.market.kline_cache import InsertResult
from alphatransformer.market.types import FundingInfo, Interval, Kline

T0 = 1_735_689_600_000  # 2025-01-01 00:00 UTC: aligned to every interval used here
SHORT, LONG = Interval.M3, Interval.M15
SYMBOLS = ("BTCUSDT", "ETHUSDT")
SERIES = [(symbol, interval) for symbol in SYMBOLS for interval in (SHORT, LONG)]
HISTORY = 60
CLOSED_BEFORE_T0 = 100
CONFIG = MarketConfig(
    short_interval=SHORT, long_interval=LONG, history_candles=HISTORY, cache_size=200
)
RECORDED_FUNDING = parse_premium_index(load_payload("http_get_premium_index.json"))
OPTIONS = BinanceMarketOptions(streams=QUICK, open_interest_poll_s=3600, backfill_retry_s=0.001)

MarketFactory = Callable[[BinanceMarketOptions], BinanceMarket]


class Venue:
    """The fake exchange's market moving on: each step one short interval passes, the candles
    that close are served over REST and streamed (unless nobody is meant to hear), and the next
    short candle starts forming."""

    def __init__(self, fake: FakeBinance, fake_time: FakeTime) -> None:
        self._fake = fake
        self._clock = fake_time.clock
        self.series = {
            (symbol, interval): generate_klines(
                symbol,
                interval,
                T0 - CLOSED_BEFORE_T0 * interval.ms,
                CLOSED_BEFORE_T0 + 200,
                seed=seed,
                start_price=price,
            )
            for seed, (symbol, price) in enumerate([("BTCUSDT", 95_000.0), ("ETHUSDT", 3_400.0)])
            for interval in (SHORT, LONG)
        }
        for symbol in SYMBOLS:
            fake.premium_index[symbol] = {**fake.premium_index["BTCUSDT"], "symbol": symbol}
            fake.open_interest[symbol] = {**fake.open_interest["BTCUSDT"], "symbol": symbol}
        self._serve()

    def closed(self, key: tuple[str, Interval]) -> list[Kline]:
        """The series' candles closed by now, oldest first."""
        now = self._clock.now_ms()
        return [kline for kline in self.series[key] if kline.close_time < now]

    def forming(self, key: tuple[str, Interval]) -> Kline:
        return replace(self.series[key][len(self.closed(key))], closed=False)

    def advance(self) -> list[Kline]:
        """One short interval passes unheard: what closes is only served over REST."""
        before = {key: len(self.closed(key)) for key in SERIES}
        self._clock.advance(SHORT.ms)
        self._serve()
        return [kline for key in SERIES for kline in self.closed(key)[before[key] :]]

    async def step(self) -> None:
        """One short interval passes: what closes is served and streamed, then a forming
        update of every series."""
        for kline in self.advance():
            await self._fake.push_kline(kline)
        for key in SERIES:
            await self._fake.push_kline(self.forming(key))

    def _serve(self) -> None:
        self._fake.set_klines([kline for key in SERIES for kline in self.closed(key)])


class Listener:
    """Records every update the market reports, to check that each closed candle comes once."""

    def __init__(self) -> None:
        self.updates: list[Kline] = []

    def __call__(self, kline: Kline) -> None:
        self.updates.append(kline)

    def closed(self, key: tuple[str, Interval]) -> list[Kline]:
        return [k for k in self.updates if k.closed and (k.symbol, k.interval) == key]


@pytest.fixture
def fake_time() -> FakeTime:
    return FakeTime(T0)


@pytest.fixture
async def fake(fake_time: FakeTime) -> AsyncIterator[FakeBinance]:
    """The fake on the test's clock, which the market's clock and sleeps share."""
    async with FakeBinance(clock=fake_time.clock) as server:
        yield server


@pytest.fixture
def venue(fake: FakeBinance, fake_time: FakeTime) -> Venue:
    return Venue(fake, fake_time)


@pytest.fixture
async def make_market(
    fake: FakeBinance, fake_time: FakeTime, http: BinanceHttp
) -> AsyncIterator[MarketFactory]:
    built: list[BinanceMarket] = []

    def build(options: BinanceMarketOptions = OPTIONS) -> BinanceMarket:
        rest = BinanceMarketRest(http, fake_time.clock)
        market = BinanceMarket(SYMBOLS, CONFIG, rest, fake.ws_url, fake_time.clock, options=options)
        built.append(market)
        return market

    yield build
    for market in built:
        await market.stop()


@pytest.fixture
async def market(make_market: MarketFactory, fake: FakeBinance, venue: Venue) -> BinanceMarket:
    """Started, connected, and done with the backfill every connection begins with."""
    market = make_market(OPTIONS)
    await market.start()
    await live(market, fake, connections=1)
    return market


async def live(market: BinanceMarket, fake: FakeBinance, *, connections: int) -> None:
    """Wait until the `connections`-th connection carries every stream and its backfill is in."""
    await until(
        lambda: (
            fake.ws_connections_accepted == connections
            and market.streams.connected
            and all(fake.subscriber_count(stream) == 1 for stream in market.streams.streams)
            and market.backfills_running == 0
        )
    )


async def caught_up(market: BinanceMarket, venue: Venue) -> None:
    """Wait until every series' newest closed candle is the venue's and no backfill runs."""
    await until(
        lambda: (
            market.backfills_running == 0
            and all(market.klines(*key)[-1:] == venue.closed(key)[-1:] for key in SERIES)
        )
    )


def broken_listener(kline: Kline) -> None:
    raise RuntimeError(f"consumer bug on {kline.open_time}")


def assert_exactly_the_venues_series(market: BinanceMarket, venue: Venue) -> None:
    for key in SERIES:
        held = market.klines(*key)
        assert held == venue.closed(key)[-len(held) :], key
        assert [k.open_time for k in held] == list(
            range(held[0].open_time, held[-1].open_time + 1, key[1].ms)
        ), key  # contiguous: no hole, no duplicate


async def test_start_loads_history_funding_and_open_interest_then_streams(
    make_market: MarketFactory, fake: FakeBinance, venue: Venue
) -> None:
    market = make_market(OPTIONS)

    await market.start()
    await live(market, fake, connections=1)

    assert not market.is_simulated
    for key in SERIES:
        assert market.klines(*key) == venue.closed(key)[-HISTORY:]
    assert market.latest_price("BTCUSDT") == venue.closed(("BTCUSDT", SHORT))[-1].close
    funding, interest = market.funding("ETHUSDT"), market.open_interest("ETHUSDT")
    assert funding == replace(RECORDED_FUNDING, symbol="ETHUSDT")
    assert interest is not None
    assert interest.open_interest == 81205.384
    assert market.backfilled_candles == 0  # the first connection's check found nothing missing
    assert fake.requests[KLINES] == 2 * len(SERIES)  # history, then that check, per series


async def test_every_candle_arrives_exactly_once_across_forced_disconnects(
    market: BinanceMarket, fake: FakeBinance, venue: Venue
) -> None:
    listener = Listener()
    market.add_listener(listener)
    missed: list[Kline] = []

    for outage in range(3):
        for _ in range(4):
            await venue.step()
        # The sockets drop and two short candles close before anyone reconnects.
        fake.drop_connections()
        missed += venue.advance() + venue.advance()
        await live(market, fake, connections=outage + 2)
    for _ in range(4):
        await venue.step()
    await caught_up(market, venue)

    assert_exactly_the_venues_series(market, venue)
    for key in SERIES:
        assert listener.closed(key) == venue.closed(key)[CLOSED_BEFORE_T0:], key
    assert market.streams.counters().reconnects == 3
    # Each outage missed 2 short candles per symbol, and the first one a 15-minute candle too;
    # each came once, over REST.
    assert market.backfilled_candles == len(missed) == 3 * 2 * 2 + 2
    assert market.cache.rejections()[InsertResult.CONFLICT] == 0


async def test_a_candle_the_stream_skips_is_backfilled_before_the_one_that_showed_the_gap(
    market: BinanceMarket, venue: Venue
) -> None:
    listener = Listener()
    market.add_listener(listener)
    btc = ("BTCUSDT", SHORT)

    skipped = venue.advance()  # closes, but its event never comes
    await venue.step()  # the next close finds a hole in every series that skipped one
    await caught_up(market, venue)

    assert_exactly_the_venues_series(market, venue)
    assert listener.closed(btc) == venue.closed(btc)[-2:]
    # REST gave the skipped candle and the one that showed the gap: it was served by then.
    assert len(skipped) == len(SYMBOLS)
    assert market.backfilled_candles == 2 * len(SYMBOLS)
    assert market.cache.rejections()[InsertResult.GAP] == len(SYMBOLS)
    # The stream's copy of each backfilled candle arrived after it, as a harmless duplicate.
    assert market.cache.rejections()[InsertResult.DUPLICATE] == len(SYMBOLS)
    assert market.forming(*btc) == venue.forming(btc)


async def test_a_429_during_backfill_is_waited_out(
    market: BinanceMarket, fake: FakeBinance, fake_time: FakeTime, venue: Venue
) -> None:
    venue.advance()
    venue.advance()
    fake.fail_next(1, status=429, retry_after=0.05, path=KLINES)

    await venue.step()
    await caught_up(market, venue)

    assert fake_time.sleeps[0] == 0.05  # the Retry-After was waited out, then it went on
    assert_exactly_the_venues_series(market, venue)
    assert market.backfilled_candles == 3 * len(SYMBOLS)


async def test_garbage_stale_and_repeated_messages_are_rejected_counted_and_survived(
    market: BinanceMarket, fake: FakeBinance, venue: Venue
) -> None:
    btc = ("BTCUSDT", SHORT)
    market.add_listener(broken_listener)  # logged on every update, never fatal
    before = venue.closed(btc)

    await fake.send_raw("{not json")
    await fake.send_raw('{"stream": "btcusdt@kline_3m", "data": {"e": "kline", "k": {"t": 1}}}')
    await fake.push_kline(before[-5])  # older than what the series holds
    await fake.push_kline(before[-1])  # the same candle again
    await fake.push_kline(replace(before[-1], volume=before[-1].volume + 1))  # rewrites history
    await venue.step()
    await caught_up(market, venue)

    assert market.streams.counters().malformed == 2
    rejections = market.cache.rejections()
    assert rejections[InsertResult.OUT_OF_ORDER] == 1
    assert rejections[InsertResult.DUPLICATE] == 1
    assert rejections[InsertResult.CONFLICT] == 1
    assert_exactly_the_venues_series(market, venue)
    assert market.streams.counters().reconnects == 0


async def test_mark_prices_update_funding_and_open_interest_is_polled(
    make_market: MarketFactory, fake: FakeBinance, venue: Venue
) -> None:
    market = make_market(replace(OPTIONS, open_interest_poll_s=0.01))
    await market.start()
    await live(market, fake, connections=1)
    mark = FundingInfo("BTCUSDT", 95_123.4, 95_100.0, -0.0002, T0 + 8 * 3_600_000, T0 + 1_000)

    fake.open_interest["ETHUSDT"] = {**fake.open_interest["ETHUSDT"], "openInterest": "1234.5"}
    await fake.push_mark_price(mark)
    await until(lambda: market.funding("BTCUSDT") == mark)
    await until(lambda: getattr(market.open_interest("ETHUSDT"), "open_interest", 0) == 1234.5)

    assert market.funding("ETHUSDT") != mark


def adjusted(symbol: str, hours: int) -> dict[str, object]:
    """A `/fapi/v1/fundingInfo` entry moving `symbol` to funding every `hours`."""
    return {
        "symbol": symbol,
        "adjustedFundingRateCap": "0.02500000",
        "adjustedFundingRateFloor": "-0.02500000",
        "fundingIntervalHours": hours,
        "disclaimer": False,
    }


def interval_hours(market: BinanceMarket, symbol: str) -> int | None:
    funding = market.funding(symbol)
    return None if funding is None else funding.interval_hours


async def test_funding_carries_the_symbols_settlement_interval_at_start_and_on_mark_prices(
    make_market: MarketFactory, fake: FakeBinance, venue: Venue
) -> None:
    fake.funding_info = [adjusted("BTCUSDT", 4), adjusted("BLZUSDT", 4)]
    market = make_market(OPTIONS)
    await market.start()
    await live(market, fake, connections=1)

    assert market.funding("BTCUSDT") == replace(RECORDED_FUNDING, interval_hours=4)
    assert interval_hours(market, "ETHUSDT") == 8  # not listed: the default
    assert fake.requests[FUNDING_INFO] == 1  # once for every symbol

    btc = FundingInfo("BTCUSDT", 95_123.4, 95_100.0, -0.0002, T0 + 4 * 3_600_000, T0 + 1_000)
    eth = FundingInfo("ETHUSDT", 3_401.2, 3_400.0, 0.0001, T0 + 8 * 3_600_000, T0 + 1_000)
    await fake.push_mark_price(btc)
    await fake.push_mark_price(eth)
    await until(lambda: market.funding("BTCUSDT") == replace(btc, interval_hours=4))
    await until(lambda: market.funding("ETHUSDT") == eth)


async def test_a_symbol_binance_moves_to_4h_funding_is_followed_by_the_next_refresh(
    make_market: MarketFactory, fake: FakeBinance, venue: Venue
) -> None:
    market = make_market(replace(OPTIONS, funding_intervals_poll_s=0.01))
    await market.start()
    await live(market, fake, connections=1)
    assert interval_hours(market, "ETHUSDT") == 8

    fake.funding_info = [adjusted("ETHUSDT", 4)]
    await until(lambda: interval_hours(market, "ETHUSDT") == 4)  # no mark price needed

    assert interval_hours(market, "BTCUSDT") == 8


async def test_a_failed_interval_refresh_is_logged_and_keeps_the_intervals_it_had(
    make_market: MarketFactory,
    fake: FakeBinance,
    venue: Venue,
    caplog: pytest.LogCaptureFixture,
) -> None:
    fake.funding_info = [adjusted("BTCUSDT", 4)]
    market = make_market(replace(OPTIONS, funding_intervals_poll_s=0.01))
    await market.start()
    await live(market, fake, connections=1)
    fake.funding_info = []  # would reset BTCUSDT to 8, but no refresh gets through
    fake.fail_next(1000, status=200, body='{"code": 0}', path=FUNDING_INFO)

    with caplog.at_level(logging.WARNING, logger="alphatransformer.market.binance.market"):
        await until(lambda: fake.requests[FUNDING_INFO] >= 3)  # two refreshes failed: polls on
        mark = FundingInfo("BTCUSDT", 95_123.4, 95_100.0, -0.0002, T0 + 4 * 3_600_000, T0)
        await fake.push_mark_price(mark)
        await until(lambda: market.funding("BTCUSDT") == replace(mark, interval_hours=4))

    assert "funding intervals poll failed" in caplog.text
    assert "fundingInfo: expected a list" in caplog.text


async def test_a_planned_reconnect_finds_nothing_missing_and_changes_nothing(
    make_market: MarketFactory, fake: FakeBinance, venue: Venue
) -> None:
    market = make_market(replace(OPTIONS, streams=replace(QUICK, max_connection_age_s=0.1)))
    await market.start()
    before = {key: market.klines(*key) for key in SERIES}

    await until(lambda: market.streams.counters().reconnects >= 1)
    await until(lambda: market.backfills_running == 0)

    assert {key: market.klines(*key) for key in SERIES} == before
    assert market.backfilled_candles == 0
    assert market.cache.rejections() == Counter()


async def test_stop_closes_everything_and_start_and_stop_are_idempotent(
    fake: FakeBinance, fake_time: FakeTime, venue: Venue
) -> None:
    http = BinanceHttp(fake.rest_url, clock=fake_time.clock, sleep=fake_time.sleep)
    rest = BinanceMarketRest(http, fake_time.clock)
    market = BinanceMarket(
        SYMBOLS, CONFIG, rest, fake.ws_url, fake_time.clock, options=OPTIONS, owned_http=http
    )
    await market.start()
    await market.start()
    await live(market, fake, connections=1)

    await market.stop()
    await market.stop()
    await until(lambda: fake.connection_count == 0)

    assert not market.streams.connected
    assert market.backfills_running == 0
    assert fake.ws_connections_accepted == 1
    with pytest.raises(RuntimeError, match="closed"):
        await rest.server_time()  # the owned transport is closed too


async def test_market_data_comes_from_production_unless_the_environment_is_testnet() -> None:
    paper = AppConfig()
    testnet = AppConfig.model_construct(environment=Environment.TESTNET)

    market = BinanceMarket.from_config(paper)
    await market.stop()  # closes the transport it made; nothing was ever sent

    assert endpoints_for(paper) == paper.binance.production
    assert endpoints_for(testnet) == testnet.binance.testnet
    assert market.streams.url.startswith("wss://fstream.binance.com/market/stream?streams=")
    assert market.symbols == paper.symbols
    assert market.intervals == (paper.market.short_interval, paper.market.long_interval)
