"""The market WebSocket client: the real `BinanceStreams` against the fake Binance over loopback,
with dropped sockets, a stalled server, garbage frames and planned reconnects."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable
from dataclasses import replace

import pytest
from fakes.binance_server import FakeBinance, generate_klines
from websockets.exceptions import InvalidURI

from alphatransformer.market.binance.streams import (
    Backoff,
    BinanceStreams,
    StreamCounters,
    StreamOptions,
)
from alphatransformer.market.types import FundingInfo, Interval, Kline

START_MS = 1_735_689_600_000  # 2025-01-01 00:00 UTC
SYMBOLS = ("BTCUSDT", "ETHUSDT")
INTERVALS = (Interval.M3, Interval.H4)
STREAMS = {
    "btcusdt@kline_3m",
    "btcusdt@kline_4h",
    "ethusdt@kline_3m",
    "ethusdt@kline_4h",
    "btcusdt@markPrice@1s",
    "ethusdt@markPrice@1s",
}
# Reconnect at once (deterministic: no jitter); keep-alive as shipped unless a test says.
QUICK = StreamOptions(close_timeout_s=0.1, reconnect=Backoff(initial_s=0.01, max_s=0.05, jitter=0))
# A guard, not a timing assertion: a wait for something that never happens fails, not hangs.
WAIT_LIMIT_S = 5.0


async def until(condition: Callable[[], bool]) -> None:
    """Yield to the event loop until `condition()` holds: polled, since the state watched
    (counters, the fake's connections) belongs to code that signals nothing."""
    async with asyncio.timeout(WAIT_LIMIT_S):
        while not condition():  # noqa: ASYNC110
            await asyncio.sleep(0.005)


class Recorder:
    """Callbacks that keep what they are given."""

    def __init__(self) -> None:
        self.klines: list[Kline] = []
        self.marks: list[FundingInfo] = []
        self.connections = 0

    def streams(self, ws_url: str, options: StreamOptions = QUICK) -> BinanceStreams:
        return BinanceStreams(
            ws_url,
            SYMBOLS,
            INTERVALS,
            on_kline=self.klines.append,
            on_mark_price=self.marks.append,
            on_connected=self.connected,
            options=options,
        )

    def connected(self) -> None:
        self.connections += 1


@pytest.fixture
async def fake() -> AsyncIterator[FakeBinance]:
    async with FakeBinance() as server:
        yield server


@pytest.fixture
def recorder() -> Recorder:
    return Recorder()


@pytest.fixture
async def streams(fake: FakeBinance, recorder: Recorder) -> AsyncIterator[BinanceStreams]:
    client = recorder.streams(fake.ws_url)
    await client.start()
    await subscribed(fake, connections=1)
    yield client
    await client.stop()


async def subscribed(fake: FakeBinance, *, connections: int) -> None:
    """Wait until the `connections`-th connection is the one subscribed to every stream."""
    await until(
        lambda: (
            fake.ws_connections_accepted == connections
            and all(fake.subscriber_count(stream) == 1 for stream in STREAMS)
        )
    )


def candle(index: int = 0) -> Kline:
    return generate_klines("BTCUSDT", Interval.M3, START_MS, index + 1)[index]


async def test_one_connection_subscribes_every_kline_series_and_mark_price(
    fake: FakeBinance, streams: BinanceStreams
) -> None:
    assert set(streams.streams) == STREAMS
    assert streams.url.startswith(f"{fake.ws_url}/market/stream?streams=")
    assert streams.connected
    assert fake.connection_count == 1


async def test_kline_and_mark_price_events_reach_their_callbacks_parsed(
    fake: FakeBinance, streams: BinanceStreams, recorder: Recorder
) -> None:
    forming, closed = replace(candle(), closed=False), candle()
    mark = FundingInfo("ETHUSDT", 3401.5, 3400.25, 0.0001, START_MS + 8 * 3_600_000, START_MS)

    await fake.push_kline(forming)
    await fake.push_kline(closed)
    await fake.push_mark_price(mark)
    await until(lambda: len(recorder.marks) == 1)

    assert recorder.klines == [forming, closed]
    assert recorder.marks == [mark]  # pushed on @markPrice too, which is not subscribed
    assert streams.counters() == StreamCounters(messages=3, malformed=0, reconnects=0)


async def test_malformed_frames_are_counted_logged_once_and_the_stream_goes_on(
    fake: FakeBinance,
    streams: BinanceStreams,
    recorder: Recorder,
    caplog: pytest.LogCaptureFixture,
) -> None:
    garbage = [
        "{not json",
        "[]",
        '"kline"',
        '{"result": null, "id": 1}',
        '{"stream": "btcusdt@aggTrade", "data": {"e": "aggTrade", "p": "1"}}',
        '{"stream": "btcusdt@kline_3m", "data": {"e": "kline", "k": {"t": "soon"}}}',
        '{"stream": "btcusdt@markPrice@1s", "data": {"e": "markPriceUpdate", "s": "BTCUSDT"}}',
    ]
    caplog.set_level(logging.WARNING, logger="alphatransformer.market.binance.streams")

    for frame in garbage:
        await fake.send_raw(frame)
    await fake.push_kline(candle())
    await until(lambda: len(recorder.klines) == 1)

    assert recorder.klines == [candle()]
    assert streams.counters() == StreamCounters(messages=8, malformed=7, reconnects=0)
    assert streams.connected
    assert recorder.connections == 1
    assert len(caplog.records) == 1  # the rest are held back for a minute
    assert "{not json" in caplog.records[0].getMessage()


async def test_a_callback_that_raises_is_logged_and_the_stream_goes_on(
    fake: FakeBinance, caplog: pytest.LogCaptureFixture
) -> None:
    received: list[Kline] = []

    def fail_once(kline: Kline) -> None:
        received.append(kline)
        if len(received) == 1:
            raise RuntimeError("consumer bug")

    client = BinanceStreams(
        fake.ws_url,
        SYMBOLS,
        INTERVALS,
        on_kline=fail_once,
        on_mark_price=lambda _: None,
        on_connected=lambda: None,
        options=QUICK,
    )
    await client.start()
    await subscribed(fake, connections=1)

    await fake.push_kline(candle(0))
    await fake.push_kline(candle(1))
    await until(lambda: len(received) == 2)
    await client.stop()

    assert received == [candle(0), candle(1)]
    assert client.counters().malformed == 0
    assert "consumer bug" in caplog.text


async def test_a_dropped_connection_is_reopened_and_every_stream_subscribed_again(
    fake: FakeBinance, streams: BinanceStreams, recorder: Recorder
) -> None:
    assert fake.drop_connections() == 1

    await until(lambda: streams.counters().reconnects == 1)
    await subscribed(fake, connections=2)
    await fake.push_kline(candle())
    await until(lambda: len(recorder.klines) == 1)

    assert streams.connected
    assert recorder.connections == 2  # the owner hears of each connection, to backfill
    assert fake.connection_count == 1


async def test_a_stalled_server_is_detected_by_the_ping_timeout_and_replaced(
    fake: FakeBinance, recorder: Recorder
) -> None:
    # Given pings every 50 ms that must be answered within 50 ms
    options = replace(QUICK, ping_interval_s=0.05, ping_timeout_s=0.05, close_timeout_s=0.05)
    client = recorder.streams(fake.ws_url, options)
    await client.start()
    await subscribed(fake, connections=1)

    # When the server goes silent without closing anything
    fake.stall()
    await until(lambda: client.counters().reconnects == 1)
    fake.resume()

    # Then the client has given up on it and reads from a new connection
    await until(lambda: fake.ws_connections_accepted == 2)
    await until(lambda: fake.subscriber_count("btcusdt@kline_3m") >= 1)
    await until(lambda: fake.connection_count == 1)
    await fake.push_kline(candle())
    await until(lambda: len(recorder.klines) == 1)
    await client.stop()

    assert recorder.klines == [candle()]


async def test_the_connection_is_replaced_when_it_reaches_its_planned_age(
    fake: FakeBinance, recorder: Recorder, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="alphatransformer.market.binance.streams")
    client = recorder.streams(fake.ws_url, replace(QUICK, max_connection_age_s=0.1))
    await client.start()

    await until(lambda: client.counters().reconnects >= 2)
    await client.stop()

    assert recorder.connections >= 3
    assert "planned age" in caplog.text
    assert "lost" not in caplog.text


async def test_an_unreachable_server_is_retried_until_stopped(
    recorder: Recorder, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="alphatransformer.market.binance.streams")
    client = recorder.streams("ws://127.0.0.1:1")  # nothing listens on port 1

    await client.start()
    await until(lambda: caplog.text.count("connection lost") >= 3)
    await client.stop()

    assert not client.connected
    assert recorder.connections == 0


async def test_stop_closes_the_connection_and_start_and_stop_are_idempotent(
    fake: FakeBinance, recorder: Recorder
) -> None:
    client = recorder.streams(fake.ws_url)
    await client.start()
    await client.start()
    await subscribed(fake, connections=1)

    await client.stop()
    await client.stop()
    await until(lambda: fake.connection_count == 0)

    assert not client.connected
    assert fake.ws_connections_accepted == 1
    assert recorder.connections == 1


def test_a_malformed_url_is_refused_when_the_client_is_built(recorder: Recorder) -> None:
    with pytest.raises(InvalidURI):
        recorder.streams("fstream.binance.com")


def test_backoff_doubles_up_to_its_cap_and_jitter_only_shortens_it() -> None:
    steady = Backoff(initial_s=1.0, max_s=8.0, jitter=0.0)
    jittered = Backoff(initial_s=1.0, max_s=8.0, jitter=0.5)

    assert [steady.delay(attempt) for attempt in range(6)] == [1, 2, 4, 8, 8, 8]
    assert steady.delay(10_000) == 8  # no overflow however long the outage
    assert all(4.0 <= jittered.delay(5) <= 8.0 for _ in range(200))
