"""The replay's paper exchange: order updates wait for the replay, and the replay can wait for
the order manager to finish with every fill it released."""

from __future__ import annotations

import asyncio
from decimal import Decimal

from trading.fake_market import DAY_START_MS, FakeMarket

from alphatransformer.backtest.replay_exchange import FillsSettled, ReplayPaperExchange
from alphatransformer.config.schema import PaperExchangeConfig
from alphatransformer.trading.models import OrderRequest, OrderSide, OrderType, OrderUpdate
from alphatransformer.utils.clock import ManualClock


def request(client_id: str, order_type: OrderType = OrderType.MARKET) -> OrderRequest:
    stop = Decimal("59000") if order_type.is_conditional else None
    quantity = None if order_type.is_conditional else Decimal("0.01")
    return OrderRequest(
        symbol="BTCUSDT",
        side=OrderSide.SELL if order_type.is_conditional else OrderSide.BUY,
        type=order_type,
        client_order_id=client_id,
        quantity=quantity,
        stop_price=stop,
        close_position=order_type.is_conditional,
    )


async def test_updates_reach_listeners_only_when_released_and_in_order() -> None:
    clock = ManualClock(DAY_START_MS)
    market = FakeMarket(clock)
    market.set_price("BTCUSDT", 60_000.0)
    exchange = ReplayPaperExchange(PaperExchangeConfig(), market, clock)
    received: list[OrderUpdate] = []
    exchange.add_order_listener(received.append)

    filled = await exchange.place_order(request("entry"))
    resting = await exchange.place_order(request("stop", OrderType.STOP_MARKET))

    assert received == []
    assert exchange.holding
    assert exchange.release() == 1  # one of the two updates filled something
    assert [u.client_order_id for u in received] == [
        filled.client_order_id,
        resting.client_order_id,
    ]
    assert not exchange.holding
    assert exchange.release() == 0


async def test_waiting_for_fills_returns_once_the_listener_saw_them_all() -> None:
    settled = FillsSettled()

    async def order_manager() -> None:
        for _ in range(2):
            await asyncio.sleep(0)
            await settled()

    task = asyncio.create_task(order_manager())
    await settled.wait(2)

    assert task.done()
    await settled.wait(0)  # nothing more released: no wait
