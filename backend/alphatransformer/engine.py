"""The trading engine: starts the feeds, runs decision cycles on a schedule, takes snapshots.

A cycle that fails is logged and reported in the status; it never stops the loop. Stopping
lets the cycle in progress finish, so no decision is left half-executed by a clean shutdown.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from langgraph.graph.state import CompiledStateGraph

from alphatransformer.agent.workflow import CycleState, run_cycle
from alphatransformer.database.models import DecisionStatus
from alphatransformer.market.market_data import MarketData
from alphatransformer.trading.exchange import Exchange
from alphatransformer.trading.snapshots import AccountSnapshotter
from alphatransformer.utils.clock import Clock, to_datetime

logger = logging.getLogger(__name__)


class EngineState(StrEnum):
    STARTING = "starting"
    RUNNING = "running"
    STOPPING = "stopping"
    STOPPED = "stopped"


@dataclass(frozen=True, slots=True)
class CycleReport:
    cycle_id: str
    started_at: datetime
    finished_at: datetime
    decisions: int
    executed: int
    rejected: int
    failed: int
    error: str | None = None

    @property
    def outcome(self) -> str:
        if self.error:
            return "error"
        return f"{self.decisions} decisions, {self.executed} executed, {self.rejected} rejected"


@dataclass(slots=True)
class EngineStatus:
    state: EngineState = EngineState.STOPPED
    started_at: datetime | None = None
    cycles: int = 0
    last_cycle: CycleReport | None = None
    next_cycle_at: datetime | None = None
    errors: list[str] = field(default_factory=list)


class TradingEngine:
    def __init__(
        self,
        *,
        graph: CompiledStateGraph[Any, Any, Any, Any],
        market: MarketData,
        exchange: Exchange,
        snapshotter: AccountSnapshotter,
        clock: Clock,
        cycle_seconds: float,
    ) -> None:
        self._graph = graph
        self._market = market
        self._exchange = exchange
        self._snapshotter = snapshotter
        self._clock = clock
        self._cycle_seconds = cycle_seconds
        self._status = EngineStatus()
        self._loop_task: asyncio.Task[None] | None = None
        self._stop_requested = asyncio.Event()

    @property
    def status(self) -> EngineStatus:
        return self._status

    async def start(self) -> None:
        """Start market data and the exchange, record the opening account, begin cycling."""
        self._status.state = EngineState.STARTING
        await self._market.start()
        await self._exchange.start()
        await self._snapshotter.take()
        self._status.started_at = to_datetime(self._clock.now_ms())
        self._status.state = EngineState.RUNNING
        self._stop_requested.clear()
        self._loop_task = asyncio.create_task(self._loop(), name="decision-loop")

    async def stop(self) -> None:
        """Finish the cycle in progress, then stop the loop, the exchange and the market."""
        if self._status.state is EngineState.STOPPED:
            return
        self._status.state = EngineState.STOPPING
        self._stop_requested.set()
        if self._loop_task is not None:
            await self._loop_task
            self._loop_task = None
        await self._exchange.stop()
        await self._market.stop()
        self._status.next_cycle_at = None
        self._status.state = EngineState.STOPPED

    async def run_cycle(self) -> CycleReport:
        """Run one analyze -> save -> execute cycle and snapshot the account after it."""
        started_ms = self._clock.now_ms()
        started_at = to_datetime(started_ms)
        cycle_id = f"{started_at:%Y%m%dT%H%M%S}-{self._status.cycles + 1}"
        try:
            state = await run_cycle(self._graph, cycle_id, started_ms)
            await self._snapshotter.take()
            report = _report(cycle_id, started_at, to_datetime(self._clock.now_ms()), state)
        except Exception as exc:
            logger.exception("cycle %s failed", cycle_id)
            report = CycleReport(
                cycle_id, started_at, to_datetime(self._clock.now_ms()), 0, 0, 0, 0, repr(exc)
            )
        self._status.last_cycle = report
        self._status.cycles += 1
        logger.info("cycle %s: %s", cycle_id, report.outcome)
        return report

    async def _loop(self) -> None:
        while not self._stop_requested.is_set():
            next_ms = self._clock.now_ms() + int(self._cycle_seconds * 1000)
            await self.run_cycle()
            self._status.next_cycle_at = to_datetime(next_ms)
            delay = max(0.0, (next_ms - self._clock.now_ms()) / 1000)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stop_requested.wait(), timeout=delay)


def _report(cycle_id: str, started: datetime, finished: datetime, state: CycleState) -> CycleReport:
    outcomes = state.get("outcomes", [])
    count = {status: sum(o.status is status for o in outcomes) for status in DecisionStatus}
    answer = state.get("answer")
    return CycleReport(
        cycle_id=cycle_id,
        started_at=started,
        finished_at=finished,
        decisions=len(state.get("decision_ids", [])),
        executed=count[DecisionStatus.EXECUTED],
        rejected=count[DecisionStatus.REJECTED],
        failed=count[DecisionStatus.FAILED],
        error=None if answer is None else answer.error,
    )
