"""The exchange contract: what the order manager relies on, checked against every `Exchange`
implementation, so the paper exchange and the Binance adapter (on the fake venue) cannot drift
apart.

Both start alike: 10,000 USDT, taker fee 0.05 %, no slippage, BTCUSDT at 50,000 (tick 0.10,
step 0.001, min notional 100), leverage 20x cross. `move_price` is a candle reaching the new
price for the paper exchange, and a new last and mark price for the fake venue.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from decimal import Decimal
from typing import Protocol

import pytest
from trading.binance.venue import UpdateLog, binance_venue
from trading.fake_market import DAY_START_MS, HOUR_MS, MINUTE_MS, FakeMarket

from alphatransformer.config.schema import PaperExchangeConfig
from alphatransformer.trading.errors import (
    DefinitiveRejection,
    FilterRejection,
    InsufficientMargin,
    OrderNotFound,
)
from alphatransformer.trading.exchange import Exchange
from alphatransformer.trading.models import (
    MarginType,
    OrderRequest,
    OrderSide,
    OrderStatus,
    OrderType,
)
from alphatransformer.trading.paper.exchange import PaperExchange
from alphatransformer.utils.clock import ManualClock

D = Decimal
BUY, SELL = OrderSide.BUY, OrderSide.SELL
NEW, FILLED = OrderStatus.NEW, OrderStatus.FILLED


class Venue(Protocol):
    """An exchange under test and the hand that moves its market."""

    @property
    def exchange(self) -> Exchange: ...

    @property
    def log(self) -> UpdateLog: ...

    async def move_price(self, symbol: str, price: Decimal) -> None: ...


@dataclass
class PaperVenue:
    exchange: PaperExchange
    log: UpdateLog
    market: FakeMarket
    clock: ManualClock

    async def move_price(self, symbol: str, price: Decimal) -> None:
        """A one-minute candle from the last price straight to `price`."""
        self.clock.advance(MINUTE_MS)
        last, new = self.market.latest_price(symbol), float(price)
        self.market.push(symbol, last, max(last, new), min(last, new), new)


async def paper_venue() -> PaperVenue:
    clock = ManualClock(DAY_START_MS + HOUR_MS)
    market = FakeMarket(clock)
    market.set_price("BTCUSDT", 50_000.0)
    config = PaperExchangeConfig(slippage_bps=D(0), taker_fee=D("0.0005"))
    venue = PaperVenue(PaperExchange(config, market, clock), UpdateLog(), market, clock)
    venue.exchange.add_order_listener(venue.log)
    await venue.exchange.start()
    return venue


@pytest.fixture(params=["paper", "binance"])
async def venue(request: pytest.FixtureRequest) -> AsyncIterator[Venue]:
    if request.param == "paper":
        yield await paper_venue()
        return
    async with binance_venue() as binance:
        yield binance


def market(
    side: OrderSide, quantity: str, client_id: str, *, reduce_only: bool = False
) -> OrderRequest:
    return OrderRequest(
        "BTCUSDT", side, OrderType.MARKET, client_id, D(quantity), reduce_only=reduce_only
    )


def closing(order_type: OrderType, stop: str, client_id: str) -> OrderRequest:
    return OrderRequest(
        "BTCUSDT", SELL, order_type, client_id, stop_price=D(stop), close_position=True
    )


async def test_a_market_entry_fills_at_once_and_pays_the_taker_fee(venue: Venue) -> None:
    placed = await venue.exchange.place_order(market(BUY, "0.1", "en"))
    heard = await venue.log.wait_for(lambda u: u.client_order_id == "en" and u.status is FILLED)

    # 50,000 x 0.1 x 0.0005 = 2.5
    for update in (placed, heard):
        assert (update.status, update.filled_quantity, update.avg_price) == (
            FILLED,
            D("0.1"),
            D(50000),
        )
        assert (update.fee, update.fee_asset, update.realized_pnl) == (D("2.5"), "USDT", D(0))
    assert (await venue.exchange.account()).wallet_balance == D("9997.5")


async def test_a_client_order_id_names_one_order_only(venue: Venue) -> None:
    await venue.exchange.place_order(market(BUY, "0.1", "en"))

    with pytest.raises(DefinitiveRejection) as raised:
        await venue.exchange.place_order(market(BUY, "0.1", "en"))

    assert raised.value.code == -4116
    (position,) = (await venue.exchange.account()).positions
    assert position.quantity == D("0.1")


async def test_a_reduce_only_order_without_a_position_is_rejected(venue: Venue) -> None:
    with pytest.raises(DefinitiveRejection) as raised:
        await venue.exchange.place_order(market(SELL, "0.1", "cl", reduce_only=True))

    assert raised.value.code == -2022
    assert await venue.exchange.query_order("BTCUSDT", "cl") is None


@pytest.mark.parametrize(
    ("quantity", "code"),
    [
        ("0.0005", -1111),  # not a multiple of the 0.001 step
        ("0.001", -4164),  # 0.001 x 50,000 = 50, under the 100 minimum notional
    ],
)
async def test_an_order_breaking_a_filter_is_a_filter_rejection(
    venue: Venue, quantity: str, code: int
) -> None:
    with pytest.raises(FilterRejection) as raised:
        await venue.exchange.place_order(market(BUY, quantity, "en"))

    assert raised.value.code == code


async def test_an_order_beyond_the_free_margin_is_refused(venue: Venue) -> None:
    # 5 x 50,000 / 20 = 12,500 of initial margin, with 10,000 in the wallet.
    with pytest.raises(InsufficientMargin) as raised:
        await venue.exchange.place_order(market(BUY, "5", "en"))

    assert raised.value.code == -2019
    assert (await venue.exchange.account()).positions == ()


async def test_a_close_position_stop_rests_then_fills_when_the_price_reaches_it(
    venue: Venue,
) -> None:
    await venue.exchange.place_order(market(BUY, "0.1", "en"))
    placed = await venue.exchange.place_order(closing(OrderType.STOP_MARKET, "49500", "sl"))
    assert (placed.status, placed.stop_price, placed.close_position) == (NEW, D(49500), True)

    await venue.move_price("BTCUSDT", D(49800))
    assert [o.client_order_id for o in await venue.exchange.open_orders("BTCUSDT")] == ["sl"]

    await venue.move_price("BTCUSDT", D(49500))
    fill = await venue.log.wait_for(lambda u: u.client_order_id == "sl" and u.status is FILLED)

    # PnL (49,500 - 50,000) x 0.1 = -50; fee 49,500 x 0.1 x 0.0005 = 2.475.
    assert (fill.type, fill.quantity, fill.filled_quantity, fill.avg_price) == (
        OrderType.STOP_MARKET,
        D("0.1"),
        D("0.1"),
        D(49500),
    )
    assert (fill.fee, fill.realized_pnl) == (D("2.475"), D(-50))
    assert [u.status for u in venue.log.of("sl")] == [NEW, FILLED]
    assert await venue.exchange.query_order("BTCUSDT", "sl") == fill
    assert await venue.exchange.open_orders() == []
    account = await venue.exchange.account()
    # 10,000 - 2.5 - 50 - 2.475
    assert (account.wallet_balance, account.positions) == (D("9945.025"), ())


async def test_a_cancelled_order_is_canceled_and_an_unknown_one_is_not_found(
    venue: Venue,
) -> None:
    await venue.exchange.place_order(market(BUY, "0.1", "en"))
    await venue.exchange.place_order(closing(OrderType.TAKE_PROFIT_MARKET, "52000", "tp"))

    cancelled = await venue.exchange.cancel_order("BTCUSDT", "tp")

    assert (cancelled.client_order_id, cancelled.status) == ("tp", OrderStatus.CANCELED)
    assert await venue.exchange.open_orders() == []
    assert (await venue.exchange.query_order("BTCUSDT", "tp")) == cancelled
    for client_id in ("tp", "never-sent"):
        with pytest.raises(OrderNotFound):
            await venue.exchange.cancel_order("BTCUSDT", client_id)


async def test_a_query_for_an_id_never_sent_is_none(venue: Venue) -> None:
    assert await venue.exchange.query_order("BTCUSDT", "never-sent") is None


async def test_equity_is_the_wallet_plus_the_unrealized_pnl(venue: Venue) -> None:
    await venue.exchange.place_order(market(BUY, "0.1", "en"))

    await venue.move_price("BTCUSDT", D(51000))
    account = await venue.exchange.account()

    # Wallet 10,000 - 2.5; unrealized (51,000 - 50,000) x 0.1 = 100; initial margin
    # 0.1 x 51,000 / 20 = 255, so 9,997.5 + 100 - 255 = 9,842.5 is free.
    assert (account.wallet_balance, account.unrealized_pnl) == (D("9997.5"), D(100))
    assert account.equity == D("10097.5")
    assert (account.margin_used, account.available_balance) == (D(255), D("9842.5"))
    (position,) = account.positions
    assert (position.symbol, position.quantity, position.entry_price) == (
        "BTCUSDT",
        D("0.1"),
        D(50000),
    )
    assert (position.mark_price, position.unrealized_pnl, position.margin) == (
        D(51000),
        D(100),
        D(255),
    )
    assert (position.leverage, position.margin_type) == (20, MarginType.CROSSED)


async def test_symbol_filters_are_binance_s(venue: Venue) -> None:
    filters = await venue.exchange.symbol_filters("BTCUSDT")

    assert (filters.tick_size, filters.step_size, filters.market_step_size) == (
        D("0.10"),
        D("0.001"),
        D("0.001"),
    )
    assert (filters.min_qty, filters.market_max_qty, filters.min_notional) == (
        D("0.001"),
        D(120),
        D(100),
    )


async def test_leverage_and_margin_type_apply_to_the_position_opened_after(venue: Venue) -> None:
    await venue.exchange.set_leverage("BTCUSDT", 10)
    await venue.exchange.set_margin_type("BTCUSDT", MarginType.ISOLATED)
    await venue.exchange.set_margin_type("BTCUSDT", MarginType.ISOLATED)  # already: no error

    await venue.exchange.place_order(market(BUY, "0.1", "en"))

    (position,) = (await venue.exchange.account()).positions
    # Isolated margin put in: 0.1 x 50,000 / 10 = 500.
    assert (position.leverage, position.margin_type, position.margin) == (
        10,
        MarginType.ISOLATED,
        D(500),
    )
