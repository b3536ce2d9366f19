"""The trading engine: starts the feeds, runs decision cycles on a schedule, takes snapshots,
publishes what happened, and obeys the operator (pause, resume, close all, kill).

A cycle that fails is logged and reported in the status; it never stops the loop. Pausing or
stopping lets the cycle in progress finish, so no decision is left half-executed.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass, field, replace
from datetime import datetime
from enum import StrEnum

from alphatransformer.agent.operator import CloseAllPositions
from alphatransformer.agent.workflow import (
    CycleGraph,
    CycleParts,
    CycleState,
    build_cycle_graph,
    run_cycle,
)
from alphatransformer.database.models import DecisionStatus
from alphatransformer.events import EventBus, Topic
from alphatransformer.trading.reconciliation import Reconciler
from alphatransformer.trading.risk_gate import RiskGate
from alphatransformer.trading.snapshots import AccountSnapshotter
from alphatransformer.utils.clock import to_datetime

logger = logging.getLogger(__name__)


class EngineState(StrEnum):
    STARTING = "starting"
    RUNNING = "running"
    PAUSED = "paused"
    HALTED = "halted"
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
        counts = f"{self.decisions} decisions, {self.executed} executed, {self.rejected} rejected"
        if self.failed:
            counts += f", {self.failed} failed"
        return f"error: {self.error}" if self.error else counts


@dataclass(slots=True)
class EngineStatus:
    state: EngineState = EngineState.STOPPED
    reason: str | None = None
    started_at: datetime | None = None
    cycles: int = 0
    failed_cycles: int = 0
    missed_cycles: int = 0
    last_cycle: CycleReport | None = None
    next_cycle_at: datetime | None = None
    reconciliation: str | None = None
    outcomes: dict[str, int] = field(default_factory=dict)


class TradingEngine:
    def __init__(
        self,
        *,
        parts: CycleParts,
        gate: RiskGate,
        snapshotter: AccountSnapshotter,
        reconciler: Reconciler,
        bus: EventBus,
        cycle_seconds: float,
    ) -> None:
        self._parts = parts
        self._graph = build_cycle_graph(parts)
        self._gate = gate
        self._snapshotter = snapshotter
        self._reconciler = reconciler
        self._bus = bus
        self._clock = parts.clock
        self._cycle_seconds = cycle_seconds
        self._status = EngineStatus()
        self._loop_task: asyncio.Task[None] | None = None
        self._pause_requested = asyncio.Event()
        self._control = asyncio.Lock()
        self._cycle_lock = asyncio.Lock()

    @property
    def status(self) -> EngineStatus:
        return self._status

    async def start(self) -> None:
        """Start market data and the exchange, reconcile, record the account, begin cycling.

        Trading starts only once reconciliation succeeded; if it fails the engine stays up,
        halted with the reason, so the API can show what is wrong.
        """
        self._set_state(EngineState.STARTING)
        await self._parts.market.start()
        await self._parts.exchange.start()
        self._status.started_at = to_datetime(self._clock.now_ms())
        try:
            report = await self._reconciler.run()
        except Exception as exc:
            logger.exception("reconciliation failed; not trading")
            self._gate.halt(f"reconciliation failed: {exc}")
            self._set_state(EngineState.HALTED, f"reconciliation failed: {exc}")
            return
        self._status.reconciliation = report.summary
        await self.account_changed()
        self._start_loop()

    async def stop(self) -> None:
        """Finish the cycle in progress, then stop the loop, the exchange and the market."""
        async with self._control:
            if self._status.state is EngineState.STOPPED:
                return
            self._set_state(EngineState.STOPPING)
            await self._stop_loop()
            await self._parts.exchange.stop()
            await self._parts.market.stop()
            self._set_state(EngineState.STOPPED)

    async def pause(self, *, close_positions: bool = False) -> bool:
        """Stop cycling after the cycle in progress; optionally close every position.

        Returns False when the engine was not running (nothing changed).
        """
        async with self._control:
            if self._status.state is not EngineState.RUNNING:
                return False
            await self._stop_loop()
            self._set_state(EngineState.PAUSED, "paused by the operator")
            if close_positions:
                await self._close_all("agent stopped by the operator")
            return True

    async def resume(self) -> bool:
        """Start cycling again (lifting a kill); False when it was already running."""
        async with self._control:
            if self._status.state not in (EngineState.PAUSED, EngineState.HALTED):
                return False
            self._gate.resume()
            self._start_loop()
            return True

    async def kill(self, reason: str) -> None:
        """Halt: no new entries, no more cycles, and every position closed now."""
        async with self._control:
            self._gate.halt(reason)
            if self._status.state is EngineState.RUNNING:
                await self._stop_loop()
            self._set_state(EngineState.HALTED, reason)
            await self._close_all(reason)

    async def run_cycle(self) -> CycleReport:
        """Run one analyze -> save -> execute cycle and snapshot the account after it."""
        return await self._run(self._graph)

    async def _run(self, graph: CycleGraph) -> CycleReport:
        async with self._cycle_lock:
            started_ms = self._clock.now_ms()
            started_at = to_datetime(started_ms)
            stamp = f"{started_at:%Y%m%dT%H%M%S%f}"[:-3]
            cycle_id = f"{self._parts.decisions.run_id}-{stamp}-{self._status.cycles + 1}"
            try:
                state = await run_cycle(graph, cycle_id, started_ms)
                report = _report(cycle_id, started_at, to_datetime(self._clock.now_ms()), state)
                await self._publish_cycle(state)
            except Exception as exc:
                logger.exception("cycle %s failed", cycle_id)
                self._status.failed_cycles += 1
                finished = to_datetime(self._clock.now_ms())
                report = CycleReport(cycle_id, started_at, finished, 0, 0, 0, 0, repr(exc))
            self._status.last_cycle = report
            self._status.cycles += 1
            logger.info("cycle %s: %s", cycle_id, report.outcome)
            return report

    async def _close_all(self, reason: str) -> None:
        operator = build_cycle_graph(replace(self._parts, decision_maker=CloseAllPositions(reason)))
        report = await self._run(operator)
        logger.warning("closing every position (%s): %s", reason, report.outcome)

    def _start_loop(self) -> None:
        self._pause_requested.clear()
        self._set_state(EngineState.RUNNING)
        self._loop_task = asyncio.create_task(self._loop(), name="decision-loop")

    async def _stop_loop(self) -> None:
        self._pause_requested.set()
        if self._loop_task is not None:
            await self._loop_task
            self._loop_task = None
        self._status.next_cycle_at = None

    async def _loop(self) -> None:
        cycle_ms = max(int(self._cycle_seconds * 1000), 1)
        while not self._pause_requested.is_set():
            next_ms = self._clock.now_ms() + cycle_ms
            await self.run_cycle()
            next_ms = self._skip_missed_slots(next_ms, cycle_ms)
            self._status.next_cycle_at = to_datetime(next_ms)
            delay = max(0.0, (next_ms - self._clock.now_ms()) / 1000)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._pause_requested.wait(), timeout=delay)

    def _skip_missed_slots(self, next_ms: int, cycle_ms: int) -> int:
        """A cycle that overran its slot is reported, and the next one waits for the next slot
        of the schedule, so cycles never overlap and never pile up."""
        late_ms = self._clock.now_ms() - next_ms
        if late_ms <= 0:
            return next_ms
        missed = late_ms // cycle_ms + 1
        self._status.missed_cycles += missed
        logger.warning("the cycle overran its %d ms slot; %d cycle(s) skipped", cycle_ms, missed)
        return next_ms + missed * cycle_ms

    async def _publish_cycle(self, state: CycleState) -> None:
        rows = state.get("rows", [])
        for row in rows:
            key = f"{row.action}:{row.status}"
            self._status.outcomes[key] = self._status.outcomes.get(key, 0) + 1
        self._bus.publish(Topic.DECISIONS, rows)
        await self.account_changed()

    async def account_changed(self) -> None:
        """Snapshot the account and push it to the streams: after every cycle, at start, and
        after each fill between cycles."""
        account = await self._snapshotter.take()
        self._bus.publish(Topic.ACCOUNT, account)
        self._bus.publish(Topic.POSITIONS, account.positions)

    def _set_state(self, state: EngineState, reason: str | None = None) -> None:
        self._status.state = state
        self._status.reason = reason
        self._bus.publish(Topic.STATUS, state)


def _report(cycle_id: str, started: datetime, finished: datetime, state: CycleState) -> CycleReport:
    outcomes = state.get("outcomes", [])
    count = {status: sum(o.status is status for o in outcomes) for status in DecisionStatus}
    answer = state.get("answer")
    return CycleReport(
        cycle_id=cycle_id,
        started_at=started,
        finished_at=finished,
        decisions=len(state.get("rows", [])),
        executed=count[DecisionStatus.EXECUTED],
        rejected=count[DecisionStatus.REJECTED],
        failed=count[DecisionStatus.FAILED],
        error=None if answer is None else answer.error,
    )
