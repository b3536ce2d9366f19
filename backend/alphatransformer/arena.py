"""The live arena: every agent the config names, trading one market side by side.

The agents share one clock, one database, one market feed and one event bus (`SharedParts`);
each has its own model, risk gate, account, run id and decision loop. Their loops run
concurrently on the same schedule, so a slow or failing model delays only its own agent. One
agent is just an arena of one.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field

from alphatransformer.agent.decision_maker import DecisionMaker
from alphatransformer.config import AppConfig
from alphatransformer.database.engine import create_engine
from alphatransformer.database.migrate import upgrade_database
from alphatransformer.events import EventBus, Topic
from alphatransformer.market.market_data import MarketData
from alphatransformer.runtime import Runtime, SharedParts, build_market, open_runtime
from alphatransformer.trading.exchange import Exchange
from alphatransformer.utils.clock import Clock, WallClock

logger = logging.getLogger(__name__)

PRICE_SECONDS = 1.0
"""How often the prices of the traded symbols are published to `/ws/market`."""


class UnknownAgent(LookupError):
    def __init__(self, name: str, known: list[str]) -> None:
        super().__init__(f"no agent named {name!r}; the agents are {', '.join(known)}")
        self.name = name


@dataclass(frozen=True, slots=True)
class PriceTick:
    """One symbol's latest price and whether it is fresh enough to open a position on."""

    symbol: str
    price: float | None
    last_update_ms: int | None
    fresh: bool


@dataclass(slots=True)
class LiveArena:
    config: AppConfig
    shared: SharedParts
    agents: dict[str, Runtime]
    """By name, in the config's order."""
    _prices: asyncio.Task[None] | None = field(default=None, init=False)

    @property
    def market(self) -> MarketData:
        return self.shared.market

    @property
    def bus(self) -> EventBus:
        return self.shared.bus

    @property
    def first(self) -> Runtime:
        """The first agent configured: what a request that names no agent is about."""
        return next(iter(self.agents.values()))

    def agent(self, name: str | None) -> Runtime:
        """The agent named `name` (the first when None); `UnknownAgent` when there is none."""
        if name is None:
            return self.first
        runtime = self.agents.get(name)
        if runtime is None:
            raise UnknownAgent(name, list(self.agents))
        return runtime

    def selected(self, name: str | None) -> list[Runtime]:
        """The agent named `name`, or every agent when None."""
        return list(self.agents.values()) if name is None else [self.agent(name)]

    def prices(self) -> list[PriceTick]:
        max_age_ms = int(self.config.market.max_staleness_seconds * 1000)
        return [_price(self.market, symbol, max_age_ms) for symbol in self.config.symbols]

    async def start(self) -> None:
        """Start the market, then every agent at once (each reconciles before it trades)."""
        await self.market.start()
        await asyncio.gather(*(runtime.start() for runtime in self.agents.values()))
        self._prices = asyncio.create_task(self._publish_prices(), name="arena-prices")

    async def close(self) -> None:
        """Stop every agent (each finishes its cycle in progress), then the shared parts."""
        if self._prices is not None:
            self._prices.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._prices
        results = await asyncio.gather(
            *(runtime.close() for runtime in self.agents.values()), return_exceptions=True
        )
        for name, result in zip(self.agents, results, strict=True):
            if isinstance(result, BaseException):
                logger.error("agent %s did not close cleanly: %r", name, result)
        await self.market.stop()
        await self.shared.database.dispose()

    async def _publish_prices(self) -> None:
        while True:
            self.bus.publish(Topic.MARKET, self.prices())
            await asyncio.sleep(PRICE_SECONDS)


def _price(market: MarketData, symbol: str, max_age_ms: int) -> PriceTick:
    try:
        price: float | None = market.latest_price(symbol)
    except KeyError:
        price = None
    return PriceTick(
        symbol, price, market.last_update_ms(symbol), market.is_fresh(symbol, max_age_ms)
    )


async def open_arena(
    config: AppConfig,
    clock: Clock | None = None,
    decision_makers: Mapping[str, DecisionMaker] | None = None,
    *,
    market: MarketData | None = None,
    exchanges: Mapping[str, Exchange] | None = None,
) -> LiveArena:
    """Migrate the database and assemble every agent on the shared parts; nothing trades until
    `start()`. The mappings (by agent name) replace what the config would build: a scripted
    model or a fake venue in tests."""
    clock = clock or WallClock()
    database = create_engine(config.database.url, echo=config.database.echo)
    try:
        await upgrade_database(database)
        shared = SharedParts(
            clock=clock,
            database=database,
            market=market or build_market(config, clock),
            bus=EventBus(),
        )
        agents: dict[str, Runtime] = {}
        for spec in config.arena():
            agents[spec.name] = await open_runtime(
                spec.config,
                decision_maker=(decision_makers or {}).get(spec.name),
                exchange=(exchanges or {}).get(spec.name),
                run_id=spec.run_id,
                name=spec.name,
                shared=shared,
            )
    except BaseException:
        await database.dispose()
        raise
    return LiveArena(config, shared, agents)
