"""How routes reach the running system."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from alphatransformer.runtime import Runtime


async def _runtime(request: Request) -> Runtime:
    # Async although it never awaits: a plain `def` dependency would run in a worker thread.
    runtime: Runtime = request.app.state.runtime
    return runtime


RuntimeDep = Annotated[Runtime, Depends(_runtime)]
