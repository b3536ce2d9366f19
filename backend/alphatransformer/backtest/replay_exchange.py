"""The paper exchange as a replay needs it: order updates delivered between steps, never while
a step runs, so what they trigger happens at the same simulated moment in every run.

Live, order updates arrive on a stream whenever the venue sends them, and the order manager
records them in a task of its own; after each fill the engine snapshots the account (the equity
curve, the day's opening equity for the daily loss limit). In a replay that task would race
the cycle in progress: a snapshot could land before or after the cycle's next order depending
on thread timing, and runs of the same backtest could differ. Here the exchange holds its
updates until the replay releases them, after the candle step or the cycle that caused them,
and the replay then waits until the order manager has finished with every fill released.
"""

from __future__ import annotations

import asyncio

from alphatransformer.config.schema import PaperExchangeConfig
from alphatransformer.market.market_data import MarketData
from alphatransformer.trading.exchange import OrderListener
from alphatransformer.trading.models import OrderUpdate
from alphatransformer.trading.paper.exchange import PaperExchange
from alphatransformer.utils.clock import Clock

SETTLE_LIMIT_SECONDS = 60.0
"""A guard, not a schedule: the order manager takes milliseconds; a fill still unprocessed
after this long means it failed to record it (logged there), and the replay stops."""


class ReplayPaperExchange(PaperExchange):
    """`PaperExchange` whose order updates wait for `release()`."""

    def __init__(self, config: PaperExchangeConfig, market: MarketData, clock: Clock) -> None:
        super().__init__(config, market, clock)
        self._held_updates: list[OrderUpdate] = []
        self._receivers: list[OrderListener] = []
        super().add_order_listener(self._held_updates.append)

    def add_order_listener(self, listener: OrderListener) -> None:
        self._receivers.append(listener)

    def release(self) -> int:
        """Deliver the held updates, oldest first; return how many of them filled something."""
        held = list(self._held_updates)
        self._held_updates.clear()
        for update in held:
            for receiver in self._receivers:
                receiver(update)
        return sum(1 for update in held if update.filled_quantity > 0)

    @property
    def holding(self) -> bool:
        return bool(self._held_updates)


class FillsSettled:
    """The order manager's fill listener that counts the fills it has finished with (recorded,
    account snapshot taken: the engine's listener runs first), so the replay can wait for them."""

    def __init__(self) -> None:
        self._done = 0
        self._expected = 0
        self._changed = asyncio.Condition()

    async def __call__(self) -> None:
        async with self._changed:
            self._done += 1
            self._changed.notify_all()

    async def wait(self, released: int) -> None:
        """Wait until the `released` more fills are processed too."""
        self._expected += released
        async with asyncio.timeout(SETTLE_LIMIT_SECONDS), self._changed:
            await self._changed.wait_for(lambda: self._done >= self._expected)
