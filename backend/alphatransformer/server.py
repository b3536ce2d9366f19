"""`alphatransformer run`: one process serving the API with the engine in its lifespan."""

from __future__ import annotations

import gc
import ipaddress
import logging
import secrets
import socket

import uvicorn
from rich.console import Console
from rich.panel import Panel

from alphatransformer.api.app import create_app
from alphatransformer.config import AppConfig, ConfigError
from alphatransformer.utils.log_setup import configure_logging

logger = logging.getLogger(__name__)


def serve(config: AppConfig, host: str | None = None, port: int | None = None) -> None:
    """Run until Ctrl-C; the engine finishes its current cycle before the process exits."""
    host = host or config.api.host
    port = port or config.api.port
    check_exposure(host, config)
    # Without a configured token, control still needs one: a fresh one, shown once, below.
    token = config.api.token.get_secret_value() or secrets.token_urlsafe(24)
    configure_logging(config.logging, [*config.secrets(), token])
    _banner(config, host, port, None if config.api.token.get_secret_value() else token)
    app = create_app(config, api_token=token, exposed=not _is_loopback(host))
    server = _Server(
        uvicorn.Config(
            app,
            host=host,
            port=port,
            log_config=None,
            access_log=False,
            timeout_graceful_shutdown=30,
        )
    )
    try:
        server.run()
    except KeyboardInterrupt:
        # uvicorn re-raises Ctrl-C once its graceful shutdown is done: nothing is left to do.
        logger.info("stopped")
    except SystemExit:
        # uvicorn exits (status 3) when startup fails, having logged only a traceback.
        if server.started:
            raise
        raise StartupError(getattr(app.state, "startup_error", None)) from None


class StartupError(Exception):
    """The server never started serving; `cause` is what stopped it, when it is known."""

    def __init__(self, cause: BaseException | None) -> None:
        super().__init__(str(cause) if cause is not None else "the server did not start")
        self.cause = cause


class _Server(uvicorn.Server):
    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        """Once the engine runs, keep what imports and startup made out of later collections.

        Those ~300,000 objects (modules, classes, schemas, the runtime) live as long as the
        process; scanning them made every full garbage collection stop the event loop for
        ~100 ms, a pause each request in flight waited through.
        """
        await super().startup(sockets)
        gc.collect()
        gc.freeze()


def check_exposure(host: str, config: AppConfig) -> None:
    """Refuse to listen beyond loopback without an API token: the API can steer real trading."""
    if _is_loopback(host) or config.api.token.get_secret_value():
        return
    raise ConfigError(
        f"refusing to listen on {host} without api.token: anyone who reaches the port could "
        "watch and steer the agent; set ALPHA_API_TOKEN or bind 127.0.0.1",
        key="api.host",
    )


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _agents(config: AppConfig) -> str:
    """Each agent's name and model, as the leaderboard will show them."""
    described = []
    for spec in config.arena():
        agent = spec.config.agent
        model = agent.llm.model if agent.provider == "openai" else agent.provider
        if agent.provider == "rules" and agent.rules.style != "trend":
            model = f"rules, {agent.rules.style}"
        described.append(f"{spec.name} ({model})")
    return ", ".join(described)


def _banner(config: AppConfig, host: str, port: int, session_token: str | None) -> None:
    lines = [
        f"environment  {config.environment.value}",
        f"market       {config.market.source}",
        f"agents       {_agents(config)}",
        f"symbols      {', '.join(config.symbols)}",
        f"API          http://{host}:{port}/api/status  (docs at /docs)",
    ]
    if session_token is not None:
        lines.append(f"control      Authorization: Bearer {session_token}  (this run only)")
    if config.is_simulated_market:
        lines.append("")
        lines.append("SIMULATED MARKET: prices are synthetic, not Binance's. No real orders.")
    Console(stderr=True).print(
        Panel("\n".join(lines), title="AlphaTransformer", border_style="yellow"), highlight=False
    )
    if config.is_simulated_market:
        logger.warning("the market is SIMULATED: prices are synthetic, not Binance's")
