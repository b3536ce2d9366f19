"""A stop-loss fills while the user data stream is down and its events are lost: once the stream
is back, the engine reconciles before the agent's next cycle. The stop's row gets the venue's
fill, the take-profit Binance left resting for the gone position is cancelled, and no cycle runs
between the reconnect and the end of the reconciliation.

The runtime is the real one (engine, risk gate, order manager, reconciler, SQLite) on the real
Binance adapter against the fake Binance over loopback; only the model is scripted."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

import pytest
from fakes.binance_server import FakeBinance
from fakes.binance_trading import FakeBinanceTrading
from trading.binance.venue import (
    API_KEY,
    API_SECRET,
    PRICES,
    START_MS,
    WAIT_LIMIT_S,
    connect_exchange,
)
from trading.fake_market import FakeMarket

from alphatransformer.agent.answer import ModelAnswer
from alphatransformer.agent.decision import Action, TradeDecision
from alphatransformer.agent.decision_maker import DecisionRequest
from alphatransformer.config import AppConfig
from alphatransformer.database.models import TradeExecution
from alphatransformer.engine import TradingEngine
from alphatransformer.runtime import Runtime, open_runtime
from alphatransformer.trading.binance.exchange import STREAM_RECONNECTED
from alphatransformer.utils.clock import ManualClock

D = Decimal
CYCLE_SECONDS = 10


@dataclass(frozen=True)
class Sighting:
    """What a cycle's model call saw when it began."""

    cycle: int
    reconciliation: str | None
    take_profit_at_venue: str | None


@dataclass
class OneLongThenHold:
    """Opens 0.02 BTC long at 50,000 (1,010 USDT at the worst fill 50,025, the live adapter's
    5 bps slippage allowance; stop 49,000, target 52,000) once, then holds; notes what
    every call saw. Each answer takes a whole cycle of the test's clock, so the next cycle
    begins at once (one would slip in between the reconnect and the reconciliation's end if
    the engine let it), and the clock moves on enough that the adapter's request-weight budget
    (2,400 a minute, about 100 a cycle) never makes anything wait for the next minute."""

    venue: FakeBinanceTrading
    clock: ManualClock
    engine: TradingEngine | None = None
    cycles_done_at_reconnect: int | None = None
    sightings: list[Sighting] = field(default_factory=list)

    @property
    def model_name(self) -> str:
        return "scripted"

    async def decide(self, request: DecisionRequest) -> ModelAnswer:
        assert self.engine is not None
        self.clock.advance(CYCLE_SECONDS * 1000)
        take_profit = [
            a.status for a in self.venue.algos.values() if a.type == "TAKE_PROFIT_MARKET"
        ]
        self.sightings.append(
            Sighting(
                len(self.sightings) + 1,
                self.engine.status.reconciliation,
                take_profit[0] if take_profit else None,
            )
        )
        if len(self.sightings) > 1:
            return ModelAnswer(decisions=[], model="scripted")
        entry = TradeDecision(
            symbol="BTCUSDT",
            action=Action.OPEN_LONG,
            notional_usd=1010.0,
            leverage=5,
            stop_loss=49_000.0,
            take_profit=52_000.0,
            confidence=0.9,
            reasoning="scripted entry",
        )
        return ModelAnswer(decisions=[entry], model="scripted")

    def note_reconnect(self, _reason: str) -> None:
        assert self.engine is not None
        self.cycles_done_at_reconnect = self.engine.status.cycles

    def cycles_after_reconnect(self) -> list[Sighting]:
        """The cycles begun after the reconnect: a cycle already running then (the one after
        those done) may reach its model call later, and is left out."""
        if self.cycles_done_at_reconnect is None:
            return []
        return [s for s in self.sightings if s.cycle > self.cycles_done_at_reconnect + 1]


@dataclass
class Desk:
    runtime: Runtime
    venue: FakeBinanceTrading
    market: FakeMarket
    model: OneLongThenHold

    async def rows(self) -> dict[str, TradeExecution]:
        page = await self.runtime.executions.page(limit=100)
        return {row.client_order_id: row for row in page}


async def eventually(condition: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + WAIT_LIMIT_S
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.01)


@pytest.fixture
async def desk(tmp_path: Path) -> AsyncIterator[Desk]:
    clock = ManualClock(START_MS)
    async with FakeBinance(clock=clock) as fake:
        venue = FakeBinanceTrading(fake, api_key=API_KEY, api_secret=API_SECRET, prices=PRICES)
        market = FakeMarket(clock)
        market.set_price("BTCUSDT", float(PRICES["BTCUSDT"]))
        config = AppConfig.model_validate(
            {
                "symbols": ["BTCUSDT"],
                "database": {"url": f"sqlite+aiosqlite:///{tmp_path}/reconnect.db"},
                "agent": {"cycle_seconds": CYCLE_SECONDS},
            }
        )
        model = OneLongThenHold(venue, clock)
        runtime = await open_runtime(
            config, clock, model, market=market, exchange=connect_exchange(fake, clock=clock)
        )
        model.engine = runtime.engine
        await runtime.start()
        try:
            yield Desk(runtime, venue, market, model)
        finally:
            await runtime.close()


async def test_a_stop_filled_while_the_stream_was_down_is_reconciled_before_the_next_cycle(
    desk: Desk,
) -> None:
    venue, runtime = desk.venue, desk.runtime
    # Given a long with its stop-loss and take-profit resting at the venue,
    await eventually(lambda: runtime.engine.status.cycles >= 1, "the cycle that opens it")
    rows = await desk.rows()
    [entry_id] = [cid for cid, row in rows.items() if row.purpose == "entry"]
    prefix = entry_id.removesuffix("-en")
    stop_id, target_id = f"{prefix}-sl", f"{prefix}-tp"
    assert {cid: r.status for cid, r in rows.items()} == {
        entry_id: "FILLED",
        stop_id: "NEW",
        target_id: "NEW",
    }

    # when the stream drops, the stop fills while nobody listens, and the stream comes back,
    runtime.exchange.add_stale_listener(desk.model.note_reconnect)
    venue.user_events_lost = True
    assert venue.drop_user_streams() == 1
    desk.market.set_price("BTCUSDT", 48_900.0)
    await venue.set_price("BTCUSDT", D(48_900))  # fills the stop; its events are lost
    await venue.wait_for_user_streams(2)
    venue.user_events_lost = False
    await eventually(
        lambda: (runtime.engine.status.reconciliation or "").startswith(STREAM_RECONNECTED),
        "the reconciliation after the reconnect",
    )
    await eventually(lambda: len(desk.model.cycles_after_reconnect()) >= 1, "a later cycle")

    # then the stop's row holds the venue's fill: (48,900 - 50,000) x 0.02 = -22 realized,
    # fee 48,900 x 0.02 x 0.0005 = 0.489,
    rows = await desk.rows()
    stop = rows[stop_id]
    assert (stop.status, stop.filled_quantity, stop.avg_price) == ("FILLED", D("0.020"), D(48_900))
    assert (stop.realized_pnl, stop.fee) == (D(-22), D("0.489"))
    # the take-profit left for the gone position is cancelled, at the venue and in its row,
    assert rows[target_id].status == "CANCELED"
    assert {a.client_algo_id: a.status for a in venue.algos.values()} == {
        stop_id: "FINISHED",
        target_id: "CANCELED",
    }
    assert venue.position("BTCUSDT") is None
    assert (await runtime.exchange.account()).positions == ()
    # the decision that opened the position stays executed and nothing is left pending,
    opened = await runtime.decisions.get(int(prefix.removeprefix("at-")))
    assert opened is not None
    assert opened.status == "executed"
    assert await runtime.decisions.pending() == []
    status = runtime.engine.status
    assert status.state.value == "running"
    assert status.reconciled_at is not None
    assert "1 orphan protective orders cancelled" in (status.reconciliation or "")
    # and every cycle after the reconnect began once the reconciliation was over.
    for sighting in desk.model.cycles_after_reconnect():
        assert sighting.take_profit_at_venue == "CANCELED"
        assert (sighting.reconciliation or "").startswith(STREAM_RECONNECTED)
