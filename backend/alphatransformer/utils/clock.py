"""Where time comes from. Live code reads the wall clock; a backtest hands in a replayed clock,
so nothing in the decision path may call `time.time()` directly."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Protocol


class Clock(Protocol):
    def now_ms(self) -> int:
        """Milliseconds since the Unix epoch, UTC."""
        ...


class WallClock:
    def now_ms(self) -> int:
        return time.time_ns() // 1_000_000


def to_datetime(timestamp_ms: int) -> datetime:
    return datetime.fromtimestamp(timestamp_ms / 1000, UTC)


def utc_now(clock: Clock) -> datetime:
    return to_datetime(clock.now_ms())


class ManualClock:
    """A clock that moves only when told to: replayed time for backtests, and tests."""

    def __init__(self, now_ms: int = 0) -> None:
        self.now = now_ms

    def now_ms(self) -> int:
        return self.now

    def advance(self, milliseconds: int) -> int:
        """Move forward (never back) and return the new time."""
        if milliseconds < 0:
            raise ValueError("a clock does not run backwards")
        self.now += milliseconds
        return self.now
