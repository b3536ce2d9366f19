"""The Binance adapter against the fake venue, end to end over loopback: the numbers the adapter
reports (order updates, account) must be the venue's own, to the cent.

Unless a test says otherwise: 10,000 USDT, taker fee 0.05 %, BTCUSDT at 50,000 (tick 0.10,
step 0.001, min notional 100), leverage 20x cross.
"""

from __future__ import annotations

from decimal import Decimal

import pytest
from fakes.binance_ledger import Holding
from trading.binance.venue import binance_venue, connect_exchange

from alphatransformer.trading.binance.schemas import AccountChange
from alphatransformer.trading.errors import AmbiguousOutcome, DefinitiveRejection, OrderNotFound
from alphatransformer.trading.models import (
    MarginType,
    OrderRequest,
    OrderSide,
    OrderStatus,
    OrderType,
)

D = Decimal
BUY, SELL = OrderSide.BUY, OrderSide.SELL
FILLED = OrderStatus.FILLED


def market(side: OrderSide, quantity: str, client_id: str) -> OrderRequest:
    return OrderRequest("BTCUSDT", side, OrderType.MARKET, client_id, D(quantity))


def closing(order_type: OrderType, stop: str, client_id: str) -> OrderRequest:
    return OrderRequest(
        "BTCUSDT", SELL, order_type, client_id, stop_price=D(stop), close_position=True
    )


async def test_a_protected_long_stopped_out_agrees_with_the_venue_to_the_cent() -> None:
    async with binance_venue() as v:
        exchange = v.exchange
        await exchange.set_leverage("BTCUSDT", 10)
        entry = await exchange.place_order(market(BUY, "0.1", "at-1-en"))
        stop = await exchange.place_order(closing(OrderType.STOP_MARKET, "49000", "at-1-sl"))
        target = await exchange.place_order(
            closing(OrderType.TAKE_PROFIT_MARKET, "52000", "at-1-tp")
        )

        # Entry: 0.1 at 50,000; fee 50,000 x 0.1 x 0.0005 = 2.5.
        assert (entry.status, entry.filled_quantity, entry.avg_price) == (
            FILLED,
            D("0.1"),
            D(50000),
        )
        assert (entry.fee, entry.realized_pnl) == (D("2.5"), D(0))
        assert (stop.status, target.status) == (OrderStatus.NEW, OrderStatus.NEW)
        resting = {o.client_order_id for o in await exchange.open_orders("BTCUSDT")}
        assert resting == {"at-1-sl", "at-1-tp"}
        assert v.venue.leverage["BTCUSDT"] == 10

        # The price gaps through the stop: the triggered market order fills at 48,900.
        await v.move_price("BTCUSDT", D("48900"))
        stopped = await v.log.wait_for(
            lambda u: u.client_order_id == "at-1-sl" and u.status is FILLED
        )

        # PnL (48,900 - 50,000) x 0.1 = -110; fee 48,900 x 0.1 x 0.0005 = 2.445.
        assert (stopped.filled_quantity, stopped.avg_price) == (D("0.1"), D(48900))
        assert (stopped.fee, stopped.realized_pnl) == (D("2.445"), D(-110))
        assert stopped.type is OrderType.STOP_MARKET
        assert stopped.close_position
        assert await exchange.query_order("BTCUSDT", "at-1-sl") == stopped

        cancelled = await exchange.cancel_order("BTCUSDT", "at-1-tp")
        assert cancelled.status is OrderStatus.CANCELED
        assert await exchange.open_orders() == []

        # Wallet: 10,000 - 2.5 - 110 - 2.445 = 9,885.055.
        account = await exchange.account()
        assert account.wallet_balance == D("9885.055") == v.venue.wallet_balance
        assert account.positions == ()
        assert entry.fee + stopped.fee == D("4.945") == v.venue.fees_paid
        assert entry.realized_pnl + stopped.realized_pnl == D(-110) == v.venue.realized_pnl


async def test_a_lost_answer_is_ambiguous_and_the_query_finds_the_one_order_placed() -> None:
    async with binance_venue(http_timeout=0.3) as v:
        v.fake.hang_next(path="/fapi/v1/order", executed=True)

        with pytest.raises(AmbiguousOutcome):
            await v.exchange.place_order(market(BUY, "0.1", "at-2-en"))
        found = await v.exchange.query_order("BTCUSDT", "at-2-en")

        assert found is not None
        assert (found.status, found.filled_quantity, found.fee) == (FILLED, D("0.1"), D("2.5"))
        assert v.venue.orders_created == 1
        assert v.venue.position("BTCUSDT") == Holding(D("0.1"), D(50000))


async def test_a_lost_request_is_ambiguous_and_the_query_says_no_order_exists() -> None:
    async with binance_venue(http_timeout=0.3) as v:
        v.fake.hang_next(path="/fapi/v1/order")

        with pytest.raises(AmbiguousOutcome):
            await v.exchange.place_order(market(BUY, "0.1", "at-3-en"))

        assert await v.exchange.query_order("BTCUSDT", "at-3-en") is None
        assert v.venue.orders_created == 0


async def test_after_a_restart_orders_are_found_by_client_id_in_either_endpoint() -> None:
    async with binance_venue() as v:
        await v.exchange.place_order(market(BUY, "0.1", "at-4-en"))
        await v.exchange.place_order(closing(OrderType.STOP_MARKET, "49000", "at-4-sl"))
        await v.move_price("BTCUSDT", D(48000))
        await v.exchange.place_order(market(BUY, "0.1", "at-5-en"))
        await v.exchange.place_order(closing(OrderType.STOP_MARKET, "47000", "at-5-sl"))
        restarted = connect_exchange(v.fake, clock=v.server_clock)
        try:
            entry = await restarted.query_order("BTCUSDT", "at-4-en")
            stopped = await restarted.query_order("BTCUSDT", "at-4-sl")
            resting = await restarted.query_order("BTCUSDT", "at-5-sl")
            with pytest.raises(OrderNotFound):
                await restarted.cancel_order("BTCUSDT", "at-4-sl")  # filled: not open
            cancelled = await restarted.cancel_order("BTCUSDT", "at-5-sl")
        finally:
            await restarted.stop()

    assert entry is not None
    assert (entry.type, entry.status) == (OrderType.MARKET, FILLED)
    # The stop fired at 48,000: PnL (48,000 - 50,000) x 0.1 = -200, fee 2.4.
    assert stopped is not None
    assert (stopped.type, stopped.status) == (OrderType.STOP_MARKET, FILLED)
    assert (stopped.avg_price, stopped.fee, stopped.realized_pnl) == (D(48000), D("2.4"), D(-200))
    assert resting is not None
    assert resting.status is OrderStatus.NEW
    assert cancelled.status is OrderStatus.CANCELED


async def test_the_venue_refuses_a_client_id_another_session_already_used() -> None:
    async with binance_venue() as v:
        await v.exchange.place_order(market(BUY, "0.1", "at-6-en"))
        other = connect_exchange(v.fake, clock=v.server_clock)
        try:
            with pytest.raises(DefinitiveRejection) as raised:
                await other.place_order(closing(OrderType.STOP_MARKET, "49000", "at-6-en"))
        finally:
            await other.stop()

        assert raised.value.code == -4116
        assert v.venue.orders_created == 1


async def test_a_limit_order_rests_and_fills_as_maker_when_the_price_comes_to_it() -> None:
    async with binance_venue() as v:
        request = OrderRequest("BTCUSDT", BUY, OrderType.LIMIT, "at-7-en", D("0.1"), price=D(49000))
        placed = await v.exchange.place_order(request)
        assert placed.status is OrderStatus.NEW
        assert [o.client_order_id for o in await v.exchange.open_orders()] == ["at-7-en"]

        await v.move_price("BTCUSDT", D(48950))
        filled = await v.log.wait_for(
            lambda u: u.client_order_id == "at-7-en" and u.status is FILLED
        )

    # Maker fee 49,000 x 0.1 x 0.0002 = 0.98.
    assert (filled.avg_price, filled.fee) == (D(49000), D("0.98"))


async def test_an_open_position_is_reported_with_its_settings_and_marks() -> None:
    async with binance_venue() as v:
        changes: list[AccountChange] = []
        v.exchange.add_account_listener(changes.append)
        await v.exchange.set_margin_type("BTCUSDT", MarginType.ISOLATED)
        await v.exchange.set_leverage("BTCUSDT", 5)
        await v.exchange.place_order(market(BUY, "0.1", "at-8-en"))
        await v.move_price("BTCUSDT", D(51000))

        account = await v.exchange.account()

    # Wallet 10,000 - 2.5; unrealized (51,000 - 50,000) x 0.1 = 100.
    assert (account.wallet_balance, account.unrealized_pnl) == (D("9997.5"), D(100))
    assert account.equity == D("10097.5")
    (position,) = account.positions
    assert (position.quantity, position.entry_price, position.mark_price) == (
        D("0.1"),
        D(50000),
        D(51000),
    )
    assert (position.leverage, position.margin_type) == (5, MarginType.ISOLATED)
    # Isolated margin put in at entry: 0.1 x 50,000 / 5 = 1,000.
    assert position.margin == D(1000)
    assert changes[-1].wallet_balances == {"USDT": D("9997.5")}
    assert changes[-1].positions[0].quantity == D("0.1")
