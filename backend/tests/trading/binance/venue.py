"""The Binance adapter wired to the fake Binance over loopback, for the adapter's tests and the
exchange contract suite: the real client code, HTTP and WebSocket, against `FakeBinanceTrading`."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from decimal import Decimal

from fakes.binance_server import FakeBinance
from fakes.binance_trading import FakeBinanceTrading
from pydantic import SecretStr

from alphatransformer.config.schema import BinanceConfig, BinanceEndpoints
from alphatransformer.market.binance.http import RetryPolicy
from alphatransformer.trading.binance.exchange import BinanceExchange
from alphatransformer.trading.binance.streams import StreamSettings
from alphatransformer.trading.models import OrderUpdate
from alphatransformer.utils.clock import Clock, ManualClock

# The fake venue's account: any strings do, and these can not be mistaken for real keys.
API_KEY = "fake-venue-api-key"
API_SECRET = "fake-venue-api-secret"
# 2025-01-15 01:00:00 UTC.
START_MS = 1_736_902_800_000
PRICES = {"BTCUSDT": Decimal("50000"), "ETHUSDT": Decimal("2000")}
QUICK_RETRY = RetryPolicy(attempts=3, initial_delay=0.001, max_delay=0.002, jitter=0.0)
QUICK_STREAM = StreamSettings(reconnect_delay_s=0.001, max_reconnect_delay_s=0.01)
# A guard against a test hanging on an update that never comes, not a timing assertion.
WAIT_LIMIT_S = 5.0


def binance_config(api_key: str = API_KEY, api_secret: str = API_SECRET) -> BinanceConfig:
    return BinanceConfig(api_key=SecretStr(api_key), api_secret=SecretStr(api_secret))


@dataclass
class UpdateLog:
    """Every order update a listener got, and a way to wait for one."""

    updates: list[OrderUpdate] = field(default_factory=list)
    _changed: asyncio.Event = field(default_factory=asyncio.Event)

    def __call__(self, update: OrderUpdate) -> None:
        self.updates.append(update)
        self._changed.set()

    async def wait_for(self, predicate: Callable[[OrderUpdate], bool]) -> OrderUpdate:
        """The first update satisfying `predicate`, once there is one."""
        async with asyncio.timeout(WAIT_LIMIT_S):
            while (found := next((u for u in self.updates if predicate(u)), None)) is None:
                self._changed.clear()
                await self._changed.wait()
        return found

    def of(self, client_order_id: str) -> list[OrderUpdate]:
        return [u for u in self.updates if u.client_order_id == client_order_id]


@dataclass
class BinanceVenue:
    fake: FakeBinance
    venue: FakeBinanceTrading
    exchange: BinanceExchange
    log: UpdateLog
    server_clock: ManualClock

    async def move_price(self, symbol: str, price: Decimal) -> None:
        await self.venue.set_price(symbol, price)


def connect_exchange(
    fake: FakeBinance, *, clock: Clock, timeout: float = 5.0, config: BinanceConfig | None = None
) -> BinanceExchange:
    """A `BinanceExchange` on `fake`, with quick retries and reconnects."""
    return BinanceExchange(
        config or binance_config(),
        BinanceEndpoints(rest_url=fake.rest_url, ws_url=fake.ws_url),
        name="binance-fake",
        clock=clock,
        timeout=timeout,
        retry=QUICK_RETRY,
        stream=QUICK_STREAM,
    )


@asynccontextmanager
async def binance_venue(
    *, local_clock: Clock | None = None, http_timeout: float = 5.0
) -> AsyncIterator[BinanceVenue]:
    """A started adapter on a fresh fake account (10,000 USDT, taker fee 0.05 %); the adapter
    reads time from `local_clock` (by default the server's own manual clock)."""
    server_clock = ManualClock(START_MS)
    async with FakeBinance(clock=server_clock) as fake:
        venue = FakeBinanceTrading(fake, api_key=API_KEY, api_secret=API_SECRET, prices=PRICES)
        exchange = connect_exchange(fake, clock=local_clock or server_clock, timeout=http_timeout)
        log = UpdateLog()
        exchange.add_order_listener(log)
        await exchange.start()
        await venue.wait_for_user_streams()
        try:
            yield BinanceVenue(fake, venue, exchange, log, server_clock)
        finally:
            await exchange.stop()
