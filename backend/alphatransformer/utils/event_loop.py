"""The event loop for batch work (backtests, arenas): uvloop where it exists.

A backtest's cycles are mostly event-loop work (tasks, callbacks, the wake-ups of aiosqlite's
thread), and uvloop does it about 8 % faster (`benchmarks/backtest_speed.py`). uvicorn's
`standard` extra brings it on Linux and macOS; elsewhere the standard loop runs.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any, TypeVar

_T = TypeVar("_T")


def run_batch(main: Coroutine[Any, Any, _T]) -> _T:
    """`asyncio.run(main)`, on uvloop when it is installed."""
    try:
        import uvloop
    except ImportError:
        return asyncio.run(main)
    return uvloop.run(main)
