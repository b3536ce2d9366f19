"""The FastAPI application; its lifespan runs the trading engine in the same process."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware

from alphatransformer import __version__
from alphatransformer.agent.decision_maker import DecisionMaker
from alphatransformer.api.auth import ControlAuth
from alphatransformer.api.dashboard import mount_dashboard
from alphatransformer.api.errors import install_error_handlers
from alphatransformer.api.routes import (
    account,
    agent,
    arena,
    decisions,
    executions,
    health,
    metrics,
    performance,
    status,
    streams,
)
from alphatransformer.arena import open_arena
from alphatransformer.backtest.api import backtest_router
from alphatransformer.config import AppConfig
from alphatransformer.utils.clock import Clock

logger = logging.getLogger(__name__)


def create_app(
    config: AppConfig,
    *,
    api_token: str,
    exposed: bool = False,
    clock: Clock | None = None,
    decision_makers: Mapping[str, DecisionMaker] | None = None,
) -> FastAPI:
    """`api_token` guards control endpoints (and everything when `exposed`, i.e. not loopback);
    `decision_makers` replace the configured models of the agents they name (tests)."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        try:
            arena = await open_arena(config, clock, decision_makers)
        except Exception as error:
            app.state.startup_error = error  # for `serve` to report and exit non-zero
            raise
        app.state.arena = arena
        try:
            await arena.start()
        except Exception as error:
            app.state.startup_error = error
            await arena.close()
            raise
        logger.info(
            "trading engine started (%s, %d agent(s): %s)",
            config.environment.value,
            len(arena.agents),
            ", ".join(arena.agents),
        )
        try:
            yield
        finally:
            await arena.close()
            logger.info("trading engine stopped")

    app = FastAPI(
        title="AlphaTransformer",
        version=__version__,
        description="Watch and steer an LLM agent trading Binance USDⓈ-M perpetuals.",
        lifespan=lifespan,
    )
    app.state.api_token = api_token
    app.state.exposed = exposed
    app.state.performance_caches = {}
    if config.api.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=list(config.api.cors_origins),
            allow_methods=["GET", "POST"],
            allow_headers=["Authorization", "Content-Type"],
        )
    install_error_handlers(app)
    # Liveness stays open; streams check the token themselves (browsers send it as a query).
    app.include_router(health.router)
    app.include_router(streams.router)
    guarded = [ControlAuth] if exposed else []
    for module in (status, arena, decisions, executions, account, performance, agent, metrics):
        app.include_router(module.router, dependencies=guarded)
    app.include_router(backtest_router(), dependencies=guarded)
    mount_dashboard(app)
    return app
