"""Signed requests as Binance checks them: HMAC-SHA256 (RFC 4231's test vector), the parameter
order of the documented example, a clock that drifted (-1021: re-sync once, then send again),
and keys that never leak."""

from __future__ import annotations

import logging
from decimal import Decimal

import pytest
from fakes.binance_server import FakeBinance
from fakes.binance_trading import FakeBinanceTrading
from trading.binance.venue import (
    API_KEY,
    API_SECRET,
    PRICES,
    START_MS,
    binance_config,
    binance_venue,
    connect_exchange,
)

from alphatransformer.config.errors import ConfigError
from alphatransformer.config.schema import BinanceConfig, BinanceEndpoints
from alphatransformer.market.binance.http import RequestSigner, hmac_sha256_hex
from alphatransformer.trading.binance.exchange import BinanceExchange
from alphatransformer.trading.errors import DefinitiveRejection
from alphatransformer.trading.models import OrderRequest, OrderSide, OrderStatus, OrderType
from alphatransformer.utils.clock import ManualClock

# "SIGNED Endpoint Examples for POST /fapi/v1/order", Binance USDⓈ-M API documentation.
DOC_TIMESTAMP = 1_591_702_613_943
DOC_QUERY = (
    "symbol=BTCUSDT&side=BUY&type=LIMIT&quantity=1&price=9000&timeInForce=GTC"
    "&recvWindow=5000&timestamp=1591702613943"
)
# RFC 4231, test case 2: HMAC-SHA256 with a short key.
RFC_KEY, RFC_DATA = "Jefe", "what do ya want for nothing?"
RFC_MAC = "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
ORDER = "/fapi/v1/order"


def entry(client_id: str = "at-1-en") -> OrderRequest:
    return OrderRequest("BTCUSDT", OrderSide.BUY, OrderType.MARKET, client_id, Decimal("0.1"))


def test_the_signature_is_hmac_sha256_as_the_rfc_defines_it() -> None:
    assert hmac_sha256_hex(RFC_KEY, RFC_DATA) == RFC_MAC


def test_timestamp_and_recv_window_follow_the_parameters_and_the_signature_comes_last() -> None:
    signer = RequestSigner(API_KEY, API_SECRET, lambda: DOC_TIMESTAMP, recv_window_ms=5000)
    params = {"symbol": "BTCUSDT", "side": "BUY", "type": "LIMIT", "quantity": "1"}

    query = signer.signed_query({**params, "price": "9000", "timeInForce": "GTC"})

    # The signature (checked above) signs exactly the query before it, which comes out as
    # Binance's documented example: parameters in order, then recvWindow and timestamp.
    assert query == f"{DOC_QUERY}&signature={hmac_sha256_hex(API_SECRET, DOC_QUERY)}"
    assert signer.headers == {"X-MBX-APIKEY": API_KEY}


def test_a_signer_shows_neither_key() -> None:
    signer = RequestSigner(API_KEY, API_SECRET, lambda: DOC_TIMESTAMP, recv_window_ms=5000)

    assert API_KEY not in repr(signer)
    assert API_SECRET not in repr(signer)


async def test_a_stale_timestamp_is_resynced_once_and_the_order_goes_through() -> None:
    async with binance_venue(local_clock=ManualClock(START_MS)) as v:
        # Binance's clock runs 10 s ahead of what the adapter measured at start: beyond the
        # 5 s recvWindow, so the first attempt is refused with -1021.
        v.server_clock.advance(10_000)
        time_calls = v.fake.requests["/fapi/v1/time"]

        placed = await v.exchange.place_order(entry())

        assert placed.status is OrderStatus.FILLED
        assert v.fake.requests[ORDER] == 2
        assert v.fake.requests["/fapi/v1/time"] == time_calls + 1
        assert v.venue.orders_created == 1


async def test_a_clock_that_stays_wrong_after_the_resync_is_a_rejection() -> None:
    async with binance_venue() as v:
        v.fake.fail_next(2, status=400, code=-1021, path=ORDER)

        with pytest.raises(DefinitiveRejection) as raised:
            await v.exchange.place_order(entry())

        assert raised.value.code == -1021
        assert v.fake.requests[ORDER] == 2
        assert v.venue.orders_created == 0


async def test_a_wrong_secret_is_refused_and_named_without_leaking_anything(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    async with FakeBinance(clock=ManualClock(START_MS)) as fake:
        venue = FakeBinanceTrading(fake, api_key=API_KEY, api_secret=API_SECRET, prices=PRICES)
        exchange = connect_exchange(
            fake, clock=fake.clock, config=binance_config(api_secret="not-the-secret")
        )
        await exchange.start()  # the listen key needs the API key only
        try:
            with pytest.raises(DefinitiveRejection) as raised:
                await exchange.place_order(entry())
        finally:
            await exchange.stop()

    assert raised.value.code == -1022
    assert venue.orders_created == 0
    shown = f"{raised.value!r} {raised.value} {raised.value.__cause__} {caplog.text}"
    assert "not-the-secret" not in shown
    assert API_KEY not in shown


async def test_an_unknown_api_key_is_refused_at_start() -> None:
    async with FakeBinance(clock=ManualClock(START_MS)) as fake:
        FakeBinanceTrading(fake, api_key=API_KEY, api_secret=API_SECRET, prices=PRICES)
        exchange = connect_exchange(
            fake, clock=fake.clock, config=binance_config(api_key="someone-else")
        )
        try:
            with pytest.raises(DefinitiveRejection) as raised:
                await exchange.start()
        finally:
            await exchange.stop()

    assert raised.value.code == -2015


def test_an_exchange_without_keys_is_a_configuration_error() -> None:
    endpoints = BinanceEndpoints(rest_url="http://127.0.0.1:9", ws_url="ws://127.0.0.1:9")

    with pytest.raises(ConfigError):
        BinanceExchange(BinanceConfig(), endpoints)
