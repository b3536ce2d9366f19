"""The `alphatransformer` command: one verb per task, discoverable with `--help`."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from alphatransformer.config import AppConfig, ConfigError, load_config
from alphatransformer.config.display import redacted_yaml

app = typer.Typer(
    help="AlphaTransformer: an LLM agent trading Binance USDⓈ-M perpetuals behind a risk gate.",
    no_args_is_help=True,
    add_completion=False,
)
config_app = typer.Typer(help="Inspect and validate the configuration.", no_args_is_help=True)
db_app = typer.Typer(help="Manage the database schema.", no_args_is_help=True)
app.add_typer(config_app, name="config")
app.add_typer(db_app, name="db")

_err = Console(stderr=True)
_out = Console()

ConfigOption = Annotated[
    Path | None,
    typer.Option(
        "--config", "-c", help="Config file (default: config/agent.yaml, else built-in defaults)."
    ),
]


def _load(path: Path | None) -> AppConfig:
    """Load the config or exit with status 2 and a one-paragraph explanation."""
    try:
        return load_config(path)
    except ConfigError as error:
        _err.print(f"[bold red]Configuration error[/]: {error}", highlight=False, markup=True)
        raise typer.Exit(code=2) from None


@app.command()
def run(
    config: ConfigOption = None,
    host: Annotated[str | None, typer.Option(help="Bind address (default from config).")] = None,
    port: Annotated[int | None, typer.Option(help="Port (default from config).")] = None,
) -> None:
    """Start the API server and the trading engine in one process (Ctrl-C stops both)."""
    settings = _load(config)
    from alphatransformer.server import serve

    try:
        serve(settings, host=host, port=port)
    except ConfigError as error:
        _err.print(f"[bold red]Cannot start[/]: {error}", highlight=False)
        raise typer.Exit(code=2) from None


@config_app.command("check")
def config_check(config: ConfigOption = None) -> None:
    """Validate the config and print the effective values, secrets redacted."""
    settings = _load(config)
    _out.print(redacted_yaml(settings), end="", highlight=False, markup=False)
    _err.print("[green]Configuration is valid.[/]")


@db_app.command("upgrade")
def db_upgrade(
    config: ConfigOption = None,
    revision: Annotated[str, typer.Option(help="Target revision.")] = "head",
) -> None:
    """Apply the database migrations (the engine also does this at every start)."""
    from alphatransformer.database.engine import create_engine
    from alphatransformer.database.migrate import upgrade_database

    settings = _load(config)

    async def upgrade() -> str | None:
        engine = create_engine(settings.database.url)
        try:
            return await upgrade_database(engine, revision)
        finally:
            await engine.dispose()

    at = asyncio.run(upgrade())
    _out.print(f"Database is at revision {at}.")


def main() -> None:
    app()
