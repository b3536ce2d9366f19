"""The trading engine: starts the feeds, runs decision cycles on a schedule, takes snapshots,
publishes what happened, and obeys the operator (pause, resume, close all, kill).

A cycle that fails is logged and reported in the status; it never stops the loop. Pausing or
stopping lets the cycle in progress finish, so no decision is left half-executed.

Reconciliation (database against exchange) runs at start and whenever the exchange says it may
have lost updates (its stream reconnected). It never overlaps a cycle, and the agent's cycles
wait until it has succeeded. A failed attempt is retried after `RECONCILE_RETRY_DELAYS`: the
network or Binance failing for a few seconds should not stop an unattended agent, while a
failure that outlasts the retries halts trading with the error, and `resume` reconciles before
the first cycle. While paused or halted it runs all the same (it settles rows, cancels orphaned
protective orders and restores stops, which guards open positions whether the agent trades or
not); while stopping it is left to the next start.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Sequence
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
from alphatransformer.events import AgentEvents, Topic
from alphatransformer.trading.reconciliation import Reconciler
from alphatransformer.trading.risk_gate import RiskGate
from alphatransformer.trading.snapshots import AccountSnapshotter
from alphatransformer.utils.clock import to_datetime

logger = logging.getLogger(__name__)

RECONCILE_RETRY_DELAYS = (1.0, 5.0, 15.0, 30.0)
"""Seconds to wait before each new attempt after a failed reconciliation; when the last one
fails too, trading halts."""
AT_START = "at start"


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
    """The latest reconciliation's outcome: what it settled, or why it is pending or failed."""
    reconciled_at: datetime | None = None
    outcomes: dict[str, int] = field(default_factory=dict)


class TradingEngine:
    def __init__(
        self,
        *,
        parts: CycleParts,
        gate: RiskGate,
        snapshotter: AccountSnapshotter,
        reconciler: Reconciler,
        events: AgentEvents,
        cycle_seconds: float,
        reconcile_retry_delays: Sequence[float] = RECONCILE_RETRY_DELAYS,
        owns_market: bool = True,
    ) -> None:
        """`owns_market`: start and stop the market with the engine; False when the market is
        shared by an arena's agents, which starts it before them and stops it after them."""
        self._parts = parts
        self._graph = build_cycle_graph(parts)
        self._gate = gate
        self._snapshotter = snapshotter
        self._reconciler = reconciler
        self._events = events
        self._clock = parts.clock
        self._cycle_seconds = cycle_seconds
        self._status = EngineStatus()
        self._retry_delays = tuple(reconcile_retry_delays)
        self._owns_market = owns_market
        self._loop_task: asyncio.Task[None] | None = None
        self._loop_stop = asyncio.Event()
        # Set when the loop should look again: it is to stop, or a reconciliation succeeded.
        self._wake = asyncio.Event()
        self._control = asyncio.Lock()
        # Held by whatever works on the account: a cycle or a reconciliation, one at a time.
        self._cycle_lock = asyncio.Lock()
        self._reconcile_task: asyncio.Task[None] | None = None
        self._requested = 0
        self._covered = 0
        self._request_reason = AT_START
        self._stopping = asyncio.Event()
        parts.exchange.add_stale_listener(self.request_reconciliation)

    @property
    def status(self) -> EngineStatus:
        return self._status

    async def start(self) -> None:
        """Start market data and the exchange, reconcile, record the account, begin cycling.

        Trading starts only once reconciliation succeeded; if it fails (retries included) the
        engine stays up, halted with the reason, so the API can show what is wrong.
        """
        self._set_state(EngineState.STARTING)
        self._stopping.clear()
        if self._owns_market:
            await self._parts.market.start()
        await self._parts.exchange.start()
        self._status.started_at = to_datetime(self._clock.now_ms())
        self.request_reconciliation(AT_START)
        if self._reconcile_task is not None:
            await self._reconcile_task
        if self._status.state is EngineState.STARTING:
            self._start_loop()

    async def stop(self) -> None:
        """Finish the cycle or reconciliation in progress, then stop the loop, the exchange and
        the market."""
        async with self._control:
            if self._status.state is EngineState.STOPPED:
                return
            self._set_state(EngineState.STOPPING)
            self._stopping.set()
            await self._stop_loop()
            if self._reconcile_task is not None:
                await self._reconcile_task
            await self._parts.exchange.stop()
            if self._owns_market:
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

    def request_reconciliation(self, reason: str) -> None:
        """Reconcile the database with the exchange before the agent's next cycle (the
        exchange's stale listener: `reason` says why its updates may have been lost)."""
        if self._status.state in (EngineState.STOPPING, EngineState.STOPPED):
            logger.info(
                "reconciliation asked for while stopping (%s): left to the next start", reason
            )
            return
        self._requested += 1
        self._request_reason = reason
        self._status.reconciliation = f"pending ({reason})"
        self._reconcile_soon()

    async def run_cycle(self) -> CycleReport:
        """Run one analyze -> save -> execute cycle and snapshot the account after it."""
        return await self._run(self._graph)

    async def _run(self, graph: CycleGraph) -> CycleReport:
        async with self._cycle_lock:
            return await self._cycle(graph)

    async def _cycle(self, graph: CycleGraph) -> CycleReport:
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

    @property
    def _reconciled(self) -> bool:
        """Whether every reconciliation asked for has succeeded since."""
        return self._covered == self._requested

    def _reconcile_soon(self) -> None:
        if self._reconcile_task is None or self._reconcile_task.done():
            self._reconcile_task = asyncio.create_task(
                self._reconcile_requested(), name="reconciliation"
            )

    async def _reconcile_requested(self) -> None:
        """Reconcile until no request is left (one may come in while another runs), unless the
        engine stops or a failure outlasts the retries."""
        while not self._reconciled and not self._stopping.is_set():
            if not await self._reconcile_with_retries():
                return

    async def _reconcile_with_retries(self) -> bool:
        """False when it gave up: the engine is stopping, or halted after the last retry."""
        delays = iter(self._retry_delays)
        while True:
            try:
                await self._reconcile()
                return True
            except Exception as exc:
                delay = next(delays, None)
                if self._stopping.is_set():
                    return False
                if delay is None:
                    logger.exception("reconciliation failed; not trading")
                    self._halt_unreconciled(f"reconciliation failed: {exc}")
                    return False
                failure = f"failed ({self._request_reason}): {exc}; retrying in {delay:g} s"
                self._status.reconciliation = failure
                logger.warning("reconciliation %s", failure)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), timeout=delay)
            if self._stopping.is_set():
                return False

    async def _reconcile(self) -> None:
        """One reconciliation, never during a cycle; the account is snapshot after it."""
        async with self._cycle_lock:
            covers, reason = self._requested, self._request_reason
            self._status.reconciliation = f"in progress ({reason})"
            report = await self._reconciler.run()
            await self.account_changed()
            self._covered = covers
        self._status.reconciliation = f"{reason}: {report.summary}"
        self._status.reconciled_at = to_datetime(self._clock.now_ms())
        logger.info("reconciled (%s): %s", reason, report.summary)
        self._wake.set()

    def _halt_unreconciled(self, reason: str) -> None:
        """Halt without waiting for the loop: it is idle, waiting for this reconciliation."""
        self._gate.halt(reason)
        self._status.reconciliation = reason
        self._loop_stop.set()
        self._wake.set()
        self._set_state(EngineState.HALTED, reason)

    async def _close_all(self, reason: str) -> None:
        operator = build_cycle_graph(replace(self._parts, decision_maker=CloseAllPositions(reason)))
        report = await self._run(operator)
        logger.warning("closing every position (%s): %s", reason, report.outcome)

    def _start_loop(self) -> None:
        """Cycle from now on (a loop halted by a failed reconciliation may still be winding
        down: it has its own stop event, so the two never both run a cycle)."""
        self._loop_stop = asyncio.Event()
        self._set_state(EngineState.RUNNING)
        self._loop_task = asyncio.create_task(self._loop(self._loop_stop), name="decision-loop")
        if not self._reconciled:
            self._reconcile_soon()

    async def _stop_loop(self) -> None:
        self._loop_stop.set()
        self._wake.set()
        if self._loop_task is not None:
            await self._loop_task
            self._loop_task = None
        self._status.next_cycle_at = None

    async def _loop(self, stop: asyncio.Event) -> None:
        cycle_ms = max(int(self._cycle_seconds * 1000), 1)
        next_ms = self._clock.now_ms()
        while await self._wait_for_turn(next_ms, stop):
            started_ms = self._clock.now_ms()
            if await self._scheduled_cycle(stop):
                next_ms = self._skip_missed_slots(started_ms + cycle_ms, cycle_ms)
                self._status.next_cycle_at = to_datetime(next_ms)

    async def _wait_for_turn(self, next_ms: int, stop: asyncio.Event) -> bool:
        """Wait until `next_ms` and until every reconciliation asked for has succeeded; False
        once the loop is to stop."""
        while not stop.is_set():
            delay = (next_ms - self._clock.now_ms()) / 1000 if self._reconciled else None
            if delay is not None and delay <= 0:
                return True
            self._wake.clear()
            try:
                await asyncio.wait_for(self._wake.wait(), timeout=delay)
            except TimeoutError:
                return True  # waited out the delay: the slot has come
        return False

    async def _scheduled_cycle(self, stop: asyncio.Event) -> bool:
        """The agent's cycle, unless a reconciliation was asked for meanwhile (it goes first)
        or the loop is to stop."""
        async with self._cycle_lock:
            if stop.is_set() or not self._reconciled:
                return False
            await self._cycle(self._graph)
            return True

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
        self._events.publish(Topic.DECISIONS, rows)
        await self.account_changed()
        self._events.publish(Topic.STATUS, self._status.state)

    async def account_changed(self) -> None:
        """Snapshot the account and push it to the streams: after every cycle, at start, and
        after each fill between cycles."""
        account = await self._snapshotter.take()
        self._events.publish(Topic.ACCOUNT, account)
        self._events.publish(Topic.POSITIONS, account.positions)

    def _set_state(self, state: EngineState, reason: str | None = None) -> None:
        self._status.state = state
        self._status.reason = reason
        self._events.publish(Topic.STATUS, state)


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
