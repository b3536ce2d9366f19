"""Time for the Binance client tests that passes only when the code under test sleeps, so waits
are asserted exactly and cost no wall time."""

from __future__ import annotations

import asyncio
import math

from alphatransformer.market.binance.http import RetryPolicy
from alphatransformer.utils.clock import ManualClock

# 2025-01-15 00:00:15 UTC: 45 s before a minute ends.
START_MS = 1_736_899_215_000
# Deterministic backoff (no jitter): 0.01 s, 0.02 s, 0.04 s.
QUICK_RETRY = RetryPolicy(attempts=4, initial_delay=0.01, max_delay=0.04, jitter=0.0)


class FakeTime:
    """A manual clock and a `sleep` that records the wait and moves the clock by it (a zero
    sleep only yields to the loop, and is not recorded)."""

    def __init__(self, now_ms: int = START_MS) -> None:
        self.clock = ManualClock(now_ms)
        self.sleeps: list[float] = []

    async def sleep(self, seconds: float) -> None:
        if seconds > 0:
            self.sleeps.append(seconds)
            self.clock.advance(math.ceil(seconds * 1000))
        await asyncio.sleep(0)
