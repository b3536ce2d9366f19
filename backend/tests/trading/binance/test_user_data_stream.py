"""The user data stream keeps its listen key alive, survives drops and expiries, and loses no
fill: whatever happened while it was away is queried once it is back."""

from __future__ import annotations

import asyncio
from decimal import Decimal

from fakes.binance_server import FakeBinance
from fakes.binance_trading import FakeBinanceTrading
from trading.binance.venue import API_KEY, API_SECRET, PRICES, START_MS, binance_venue

from alphatransformer.market.binance.http import BinanceHttp, RequestSigner
from alphatransformer.market.binance.rest import BinanceMarketRest
from alphatransformer.trading.binance.exchange import STREAM_RECONNECTED
from alphatransformer.trading.binance.rest import BinanceTradingRest
from alphatransformer.trading.binance.streams import StreamSettings, UserDataStream
from alphatransformer.trading.models import OrderRequest, OrderSide, OrderStatus, OrderType
from alphatransformer.utils.clock import ManualClock

D = Decimal
FILLED = OrderStatus.FILLED
LISTEN_KEY = "/fapi/v1/listenKey"


def entry(client_id: str) -> OrderRequest:
    return OrderRequest("BTCUSDT", OrderSide.BUY, OrderType.MARKET, client_id, D("0.1"))


def stop(client_id: str, trigger: str) -> OrderRequest:
    return OrderRequest(
        "BTCUSDT",
        OrderSide.SELL,
        OrderType.STOP_MARKET,
        client_id,
        stop_price=D(trigger),
        close_position=True,
    )


def filled(client_id: str) -> object:
    return lambda u: u.client_order_id == client_id and u.status is FILLED


async def test_a_fill_while_the_connection_was_down_is_recovered_after_reconnecting() -> None:
    async with binance_venue() as v:
        stale: list[str] = []
        v.exchange.add_stale_listener(stale.append)
        await v.exchange.place_order(entry("at-1-en"))
        await v.exchange.place_order(stop("at-1-sl", "49000"))

        assert v.venue.drop_user_streams() == 1
        await v.move_price("BTCUSDT", D(48500))  # its events go to a dead connection
        recovered = await v.log.wait_for(filled("at-1-sl"))

        assert v.exchange.stream.connects == 2
        assert stale == [STREAM_RECONNECTED]  # so that the owner reconciles the rest
        # PnL (48,500 - 50,000) x 0.1 = -150; fee 48,500 x 0.1 x 0.0005 = 2.425.
        assert (recovered.realized_pnl, recovered.fee) == (D(-150), D("2.425"))
        # And the new connection carries what comes next.
        await v.exchange.place_order(entry("at-2-en"))
        await v.exchange.place_order(stop("at-2-sl", "48000"))
        await v.move_price("BTCUSDT", D(47900))
        await v.log.wait_for(filled("at-2-sl"))


async def test_an_expired_listen_key_is_replaced_and_the_stream_resumes() -> None:
    async with binance_venue() as v:
        first_key = v.venue.listen_key

        await v.venue.expire_listen_key()
        await v.venue.wait_for_user_streams(2)
        await v.exchange.place_order(entry("at-3-en"))
        await v.exchange.place_order(stop("at-3-sl", "49000"))
        await v.move_price("BTCUSDT", D(49000))
        await v.log.wait_for(filled("at-3-sl"))

        assert v.venue.listen_key not in (None, first_key)


async def test_frames_that_are_not_events_are_skipped_and_the_stream_goes_on() -> None:
    async with binance_venue() as v:
        await v.venue.send_raw_to_user_streams('{"e": "ORDER_TRADE_UPD')
        await v.venue.send_raw_to_user_streams('{"e": "ORDER_TRADE_UPDATE", "o": {}}')
        await v.venue.send_raw_to_user_streams('{"e": "MARGIN_CALL", "cw": "3.16"}')
        await v.exchange.place_order(entry("at-4-en"))
        await v.exchange.place_order(stop("at-4-sl", "49000"))
        await v.move_price("BTCUSDT", D(49000))

        await v.log.wait_for(filled("at-4-sl"))


async def test_stopping_gives_the_listen_key_back() -> None:
    async with binance_venue() as v:
        assert v.venue.listen_key is not None
        await v.exchange.stop()

        assert v.venue.listen_key is None


class SteppedSleep:
    """A `sleep` that lets the first `free` calls through at once and holds every later one, so
    a keep-alive loop runs exactly `free` rounds."""

    def __init__(self, free: int) -> None:
        self.calls: list[float] = []
        self.held = asyncio.Event()
        self._free = free

    async def __call__(self, seconds: float) -> None:
        self.calls.append(seconds)
        if len(self.calls) > self._free:
            self.held.set()
            await asyncio.Event().wait()


async def open_stream(fake: FakeBinance, sleep: SteppedSleep) -> UserDataStream:
    clock = ManualClock(START_MS)
    signer = RequestSigner(API_KEY, API_SECRET, clock.now_ms, recv_window_ms=5000)
    http = BinanceHttp(fake.rest_url, clock=clock, signer=signer)
    rest = BinanceTradingRest(http, BinanceMarketRest(http, clock).time_offset_ms)
    settings = StreamSettings(keepalive_s=1800, reconnect_delay_s=0)

    async def nothing_missed() -> None:
        return None

    stream = UserDataStream(
        rest, fake.ws_url, lambda event: None, nothing_missed, settings=settings, sleep=sleep
    )
    await stream.start()
    return stream


async def test_the_listen_key_is_kept_alive_every_thirty_minutes() -> None:
    async with FakeBinance(clock=ManualClock(START_MS)) as fake:
        venue = FakeBinanceTrading(fake, api_key=API_KEY, api_secret=API_SECRET, prices=PRICES)
        sleep = SteppedSleep(free=1)
        stream = await open_stream(fake, sleep)
        await sleep.held.wait()
        await stream.stop()

    assert sleep.calls == [1800, 1800]
    assert fake.requests[LISTEN_KEY] == 3  # create, keep alive, close
    assert venue.listen_key is None


async def test_a_listen_key_binance_dropped_is_replaced_on_the_next_keep_alive() -> None:
    async with FakeBinance(clock=ManualClock(START_MS)) as fake:
        venue = FakeBinanceTrading(fake, api_key=API_KEY, api_secret=API_SECRET, prices=PRICES)
        sleep = SteppedSleep(free=2)  # one keep-alive, then the reconnect's delay
        stream = await open_stream(fake, sleep)
        first_key = venue.listen_key
        venue.lapse_listen_key()

        await venue.wait_for_user_streams(2)  # the keep-alive got -1125: new key, new socket
        new_key = venue.listen_key
        listen_key_calls = fake.requests[LISTEN_KEY]
        await stream.stop()

    assert new_key not in (None, first_key)
    assert listen_key_calls == 3  # create, keep-alive refused, create again
