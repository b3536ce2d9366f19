"""Every Binance error family reaches the order manager as the trading error it means: a request
that may have been executed is ambiguous, everything else a typed, definitive refusal."""

from __future__ import annotations

from decimal import Decimal

import pytest
from trading.binance.venue import API_KEY, API_SECRET, binance_venue

from alphatransformer.market.binance.errors import BinanceBadRequest, MalformedMessage
from alphatransformer.market.binance.http import BinanceHttp, RequestSigner
from alphatransformer.market.binance.rest import BinanceMarketRest
from alphatransformer.trading.binance.errors import trading_error
from alphatransformer.trading.binance.rest import BinanceTradingRest
from alphatransformer.trading.errors import (
    AmbiguousOutcome,
    DefinitiveRejection,
    ExchangeError,
    FilterRejection,
    InsufficientMargin,
    OrderNotFound,
)
from alphatransformer.trading.models import MarginType, OrderRequest, OrderSide, OrderType

ORDER = "/fapi/v1/order"
ENTRY = OrderRequest("BTCUSDT", OrderSide.BUY, OrderType.MARKET, "at-1-en", Decimal("0.1"))


@pytest.mark.parametrize(
    ("status", "code", "expected"),
    [
        (503, None, AmbiguousOutcome),  # POST is never re-sent after a 5xx
        (500, -1007, AmbiguousOutcome),  # "Timeout waiting for response; status unknown"
        (400, -1013, FilterRejection),
        (400, -1111, FilterRejection),
        (400, -4014, FilterRejection),
        (400, -4023, FilterRejection),
        (400, -4164, FilterRejection),
        (400, -4005, FilterRejection),
        (400, -2019, InsufficientMargin),
        (400, -2011, OrderNotFound),
        (400, -2013, OrderNotFound),
        (401, -2014, DefinitiveRejection),
        (401, -2015, DefinitiveRejection),
        (400, -1022, DefinitiveRejection),
        (400, -4120, DefinitiveRejection),
        (400, -2022, DefinitiveRejection),
        (429, -1003, DefinitiveRejection),  # refused three times: not executed
    ],
)
async def test_an_order_refusal_arrives_as_its_trading_error(
    status: int, code: int | None, expected: type[ExchangeError]
) -> None:
    async with binance_venue() as v:
        v.fake.fail_next(3, status=status, code=code, path=ORDER)

        with pytest.raises(ExchangeError) as raised:
            await v.exchange.place_order(ENTRY)

    assert type(raised.value) is expected
    assert raised.value.code == (code or -1008)


async def test_a_garbled_answer_to_an_order_is_ambiguous() -> None:
    async with binance_venue() as v:
        v.fake.fail_next(status=200, body='{"orderId": 83', path=ORDER)

        with pytest.raises(AmbiguousOutcome):
            await v.exchange.place_order(ENTRY)


def test_a_malformed_payload_is_ambiguous_since_it_says_nothing_about_the_order() -> None:
    assert type(trading_error(MalformedMessage("order", "cut short"))) is AmbiguousOutcome


async def test_the_order_endpoint_refuses_conditional_types_as_binance_does() -> None:
    """Since 2025-12 stops and take-profits live in the Algo Service; the adapter routes them
    there, and the fake refuses them where Binance does."""
    stop = OrderRequest(
        "BTCUSDT",
        OrderSide.SELL,
        OrderType.STOP_MARKET,
        "sl",
        stop_price=Decimal(49000),
        close_position=True,
    )
    async with binance_venue() as v:
        signer = RequestSigner(API_KEY, API_SECRET, v.server_clock.now_ms, recv_window_ms=5000)
        async with BinanceHttp(v.fake.rest_url, signer=signer) as http:
            rest = BinanceTradingRest(http, BinanceMarketRest(http).time_offset_ms)
            with pytest.raises(BinanceBadRequest) as raised:
                await rest.new_order(stop)

    assert raised.value.code == -4120


async def test_setting_the_margin_type_already_set_is_not_an_error() -> None:
    async with binance_venue() as v:
        await v.exchange.set_margin_type("BTCUSDT", MarginType.ISOLATED)
        await v.exchange.set_margin_type("BTCUSDT", MarginType.ISOLATED)  # Binance: -4046

        assert v.venue.margin_type["BTCUSDT"] == "ISOLATED"


async def test_a_leverage_out_of_range_is_refused() -> None:
    async with binance_venue() as v:
        with pytest.raises(DefinitiveRejection) as raised:
            await v.exchange.set_leverage("BTCUSDT", 200)

    assert raised.value.code == -4028
