"""The `alphatransformer` command: one verb per task, discoverable with `--help`."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

import typer
from rich.console import Console

from alphatransformer.config import AppConfig, ConfigError, load_config
from alphatransformer.config.display import redacted_yaml
from alphatransformer.market.types import Interval

if TYPE_CHECKING:
    from alphatransformer.backtest.period import ReplayPeriod
    from alphatransformer.backtest.runner import ModelOptions, Progress

_T = TypeVar("_T")

DEFAULT_HISTORY = Path("data/history")
DEFAULT_REPORTS = Path("reports")
DEFAULT_CACHE_PATH = Path("data/model_cache.sqlite")

app = typer.Typer(
    help="AlphaTransformer: an LLM agent trading Binance USDⓈ-M perpetuals behind a risk gate.",
    no_args_is_help=True,
    add_completion=False,
)
config_app = typer.Typer(help="Inspect and validate the configuration.", no_args_is_help=True)
db_app = typer.Typer(help="Manage the database schema.", no_args_is_help=True)
data_app = typer.Typer(help="Fetch market history for backtests.", no_args_is_help=True)
app.add_typer(config_app, name="config")
app.add_typer(db_app, name="db")
app.add_typer(data_app, name="data")

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
    from alphatransformer.server import StartupError, serve
    from alphatransformer.trading.paper.state import PaperStateError

    try:
        serve(settings, host=host, port=port)
    except ConfigError as error:
        _err.print(f"[bold red]Cannot start[/]: {error}", highlight=False)
        raise typer.Exit(code=2) from None
    except StartupError as error:
        _err.print(f"[bold red]Cannot start[/]: {error}", highlight=False)
        # Exit 2 when the config can fix it (as for a broken config), 1 for anything else.
        fixable = isinstance(error.cause, ConfigError | PaperStateError)
        raise typer.Exit(code=2 if fixable else 1) from None


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


# --- backtests, the arena and their data ---------------------------------------------------

_DATE_FORMATS = ["%Y-%m-%d", "%Y-%m-%dT%H:%M"]
_MODEL_FLAGS = "Model and prompt"
_ACCOUNT_FLAGS = "Paper account"

SymbolsOption = Annotated[
    list[str] | None,
    typer.Option("--symbol", "-s", help="A symbol to trade; repeat for more (default: config)."),
]
IntervalOption = Annotated[
    Interval | None, typer.Option(help="Candle interval traded on (default: config's short).")
]
LongIntervalOption = Annotated[
    Interval | None, typer.Option(help="Trend interval (default: config's long).")
]
StartOption = Annotated[
    datetime,
    typer.Option(formats=_DATE_FORMATS, help="First decision, UTC (2024-01-01[T00:00])."),
]
EndOption = Annotated[
    datetime, typer.Option(formats=_DATE_FORMATS, help="End of the replay (excluded), UTC.")
]
EveryOption = Annotated[
    Interval | None,
    typer.Option("--every", help="Decision interval (default: every candle of --interval)."),
]
HistoryOption = Annotated[
    Path,
    typer.Option(
        help="Monthly history files: data download's, or Binance's CSV/zip archives laid out "
        "as SYMBOL/INTERVAL/SYMBOL-INTERVAL-YYYY-MM.csv (or .csv.gz, .zip); funding rates, "
        "replayed when present, as SYMBOL/fundingRate/SYMBOL-fundingRate-YYYY-MM.csv; open "
        "interest, shown to the agent when present, as daily Binance metrics files "
        "SYMBOL/metrics/SYMBOL-metrics-YYYY-MM-DD.csv (or .zip)."
    ),
]
AllowGapsOption = Annotated[
    bool, typer.Option(help="Accept holes in the history (filled with flat candles).")
]
BalanceOption = Annotated[
    Decimal | None,
    typer.Option(help="Starting balance, USDT (default: config).", rich_help_panel=_ACCOUNT_FLAGS),
]
TakerFeeOption = Annotated[
    Decimal | None,
    typer.Option(help="Taker fee rate, e.g. 0.0005.", rich_help_panel=_ACCOUNT_FLAGS),
]
MakerFeeOption = Annotated[
    Decimal | None, typer.Option(help="Maker fee rate.", rich_help_panel=_ACCOUNT_FLAGS)
]
SlippageOption = Annotated[
    Decimal | None,
    typer.Option(help="Slippage on market orders, basis points.", rich_help_panel=_ACCOUNT_FLAGS),
]
SeedOption = Annotated[
    int | None,
    typer.Option(
        help="Sampling seed sent to an LLM (part of the cache key).", rich_help_panel=_MODEL_FLAGS
    ),
]
ModelCacheOption = Annotated[
    Path,
    typer.Option(help="Model response cache file.", rich_help_panel=_MODEL_FLAGS),
]
NoModelCacheOption = Annotated[
    bool,
    typer.Option(
        "--no-model-cache",
        help="Always call the model, never the cache.",
        rich_help_panel=_MODEL_FLAGS,
    ),
]
ReportsOption = Annotated[Path, typer.Option(help="Folder the report folders go into.")]


@app.command()
def backtest(
    start: StartOption,
    end: EndOption,
    config: ConfigOption = None,
    symbol: SymbolsOption = None,
    interval: IntervalOption = None,
    long_interval: LongIntervalOption = None,
    every: EveryOption = None,
    history: HistoryOption = DEFAULT_HISTORY,
    allow_gaps: AllowGapsOption = False,
    balance: BalanceOption = None,
    taker_fee: TakerFeeOption = None,
    maker_fee: MakerFeeOption = None,
    slippage_bps: SlippageOption = None,
    provider: Annotated[
        str | None,
        typer.Option(help="rules or openai (default: config).", rich_help_panel=_MODEL_FLAGS),
    ] = None,
    model: Annotated[
        str | None,
        typer.Option(help="LLM model name (default: config).", rich_help_panel=_MODEL_FLAGS),
    ] = None,
    prompt: Annotated[
        str | None,
        typer.Option(help="Prompt set or folder (default: config).", rich_help_panel=_MODEL_FLAGS),
    ] = None,
    seed: SeedOption = None,
    model_cache: ModelCacheOption = DEFAULT_CACHE_PATH,
    no_model_cache: NoModelCacheOption = False,
    reports: ReportsOption = DEFAULT_REPORTS,
) -> None:
    """Replay history through the agent, risk gate and paper exchange; write a report.

    Results go to the configured database under a new run id, and to REPORTS/<run id>/:
    trades.csv (with its SHA-256 in report.json), equity.png and report.json.
    """
    settings = _replay_config(
        _load(config),
        symbol,
        market={"short_interval": interval, "long_interval": long_interval},
        paper=_paper(balance, taker_fee, maker_fee, slippage_bps),
        agent={"provider": provider, "prompt": prompt, "llm": {"model": model}},
    )
    period = _period(settings, history, start, end, every, allow_gaps)
    from alphatransformer.backtest.console import print_run
    from alphatransformer.backtest.runner import new_run_id, run_backtest

    llm = settings.agent.provider == "openai"
    run_id = new_run_id("backtest")
    with _model_options(llm and not no_model_cache, model_cache, seed) as options:
        saved = _replay(
            f"Backtest {run_id}",
            [settings],
            lambda progress: run_backtest(
                settings, period, options, run_id=run_id, reports=reports, progress=progress
            ),
        )
    print_run(_out, saved)


@app.command()
def arena(
    start: StartOption,
    end: EndOption,
    config: ConfigOption = None,
    entrant: Annotated[
        list[str] | None,
        typer.Option(
            "--entrant",
            "-e",
            help="NAME=FILE: an agent.yaml whose agent and trading.risk sections make one "
            "entrant; repeat for more. The rules model and buy-and-hold always take part.",
        ),
    ] = None,
    symbol: SymbolsOption = None,
    interval: IntervalOption = None,
    long_interval: LongIntervalOption = None,
    every: EveryOption = None,
    history: HistoryOption = DEFAULT_HISTORY,
    allow_gaps: AllowGapsOption = False,
    balance: BalanceOption = None,
    taker_fee: TakerFeeOption = None,
    maker_fee: MakerFeeOption = None,
    slippage_bps: SlippageOption = None,
    seed: SeedOption = None,
    model_cache: ModelCacheOption = DEFAULT_CACHE_PATH,
    no_model_cache: NoModelCacheOption = False,
    reports: ReportsOption = DEFAULT_REPORTS,
) -> None:
    """Several agents trade the same replayed market, each on its own paper account; rank them.

    --config sets the market, the period's symbols and intervals and the paper account, shared
    by every entrant. Reports go to REPORTS/<arena id>/<entrant>/, the leaderboard and a chart
    of every entrant's equity next to them. Exits with 1 when an entrant's model failed in
    every cycle (it never decided).
    """
    settings = _replay_config(
        _load(config),
        symbol,
        market={"short_interval": interval, "long_interval": long_interval},
        paper=_paper(balance, taker_fee, maker_fee, slippage_bps),
    )
    challengers = [_challenger(text) for text in entrant or []]
    period = _period(settings, history, start, end, every, allow_gaps)
    from alphatransformer.backtest.arena import run_arena
    from alphatransformer.backtest.console import never_decided_line, print_leaderboard
    from alphatransformer.backtest.runner import new_run_id

    llm = any(c.agent.provider == "openai" for _, c in challengers)
    arena_id = new_run_id("arena")
    with _model_options(llm and not no_model_cache, model_cache, seed) as options:
        outcome = _replay(
            f"Arena {arena_id}",
            [settings, *(c for _, c in challengers)],
            lambda progress: run_arena(
                settings,
                challengers,
                period,
                options,
                arena_id=arena_id,
                reports=reports,
                progress=progress,
            ),
        )
    print_leaderboard(_out, outcome)
    failure = never_decided_line(outcome.standings)
    if failure is not None:
        _err.print(f"[bold red]Arena {arena_id}[/]: {failure}", highlight=False)
        raise typer.Exit(code=1)


@data_app.command("download")
def data_download(
    start: StartOption,
    end: Annotated[
        datetime | None,
        typer.Option(formats=_DATE_FORMATS, help="End, excluded, UTC (default: now)."),
    ] = None,
    config: ConfigOption = None,
    symbol: SymbolsOption = None,
    interval: IntervalOption = None,
    root: Annotated[Path, typer.Option(help="Where the monthly files go.")] = DEFAULT_HISTORY,
    base_url: Annotated[
        str | None,
        typer.Option(help="Binance USDⓈ-M REST URL (default: config's production URL)."),
    ] = None,
) -> None:
    """Fetch candles and funding rates over REST into monthly files, and open interest into
    daily ones (SYMBOL/metrics/SYMBOL-metrics-YYYY-MM-DD.csv), resumably: complete files are
    skipped. Binance serves the last 30 days of open interest only: older days are listed, for
    Binance Vision's metrics archives to fill."""
    from alphatransformer.backtest.console import print_downloads, progress_bar
    from alphatransformer.backtest.downloads import download_all
    from alphatransformer.market.binance.errors import BinanceError
    from alphatransformer.utils.clock import WallClock

    settings = _load(config)
    symbols = _replay_config(settings, symbol).symbols
    chosen = interval or settings.market.short_interval
    now_ms = WallClock().now_ms()
    period = (_ms(start), now_ms if end is None else _ms(end))
    url = base_url or settings.binance.production.rest_url
    try:
        description = f"Downloading {chosen} candles, funding rates and open interest"
        with progress_bar(_err, description) as update:
            done = asyncio.run(
                download_all(url, root, symbols, chosen, period, now_ms=now_ms, progress=update)
            )
    except (BinanceError, ValueError) as error:
        _err.print(f"[bold red]Download failed[/]: {error}", highlight=False)
        raise typer.Exit(code=1) from None
    print_downloads(_out, done)


def _replay_config(
    settings: AppConfig,
    symbols: list[str] | None,
    **sections: dict[str, Any],
) -> AppConfig:
    """The config with the flags given applied; a bad flag exits with status 2 like a bad file."""
    from alphatransformer.backtest.overrides import with_overrides

    changes = {name: value for name, value in sections.items() if name != "paper"}
    if "paper" in sections:
        changes["trading"] = {"paper": sections["paper"]}
    try:
        return with_overrides(settings, symbols=symbols or (), sections=changes)
    except ConfigError as error:
        _err.print(f"[bold red]Configuration error[/]: {error}", highlight=False)
        raise typer.Exit(code=2) from None


def _paper(
    balance: Decimal | None, taker: Decimal | None, maker: Decimal | None, slippage: Decimal | None
) -> dict[str, Any]:
    return {
        "starting_balance": balance,
        "taker_fee": taker,
        "maker_fee": maker,
        "slippage_bps": slippage,
    }


def _period(
    settings: AppConfig,
    history: Path,
    start: datetime,
    end: datetime,
    every: Interval | None,
    allow_gaps: bool,
) -> ReplayPeriod:
    from alphatransformer.backtest.period import ReplayPeriod

    period = ReplayPeriod(
        history,
        _ms(start),
        _ms(end),
        every or settings.market.short_interval,
        allow_gaps=allow_gaps,
    )
    try:
        period.check(settings.market)
    except ValueError as error:
        _err.print(f"[bold red]Invalid period[/]: {error}", highlight=False)
        raise typer.Exit(code=2) from None
    return period


def _challenger(text: str) -> tuple[str, AppConfig]:
    """`NAME=FILE` as (name, config); a malformed flag or file exits with status 2."""
    from alphatransformer.backtest.arena import check_entrant_name

    name, separator, path = text.partition("=")
    try:
        if not separator or not path:
            raise ValueError(f"--entrant {text!r}: expected NAME=FILE")
        check_entrant_name(name)
    except ValueError as error:
        _err.print(f"[bold red]Invalid entrant[/]: {error}", highlight=False)
        raise typer.Exit(code=2) from None
    return name, _load(Path(path))


@contextmanager
def _model_options(cached: bool, path: Path, seed: int | None) -> Iterator[ModelOptions]:
    from alphatransformer.backtest.model_cache import ModelCache
    from alphatransformer.backtest.runner import ModelOptions

    cache = ModelCache(path) if cached else None
    try:
        yield ModelOptions(cache=cache, seed=seed)
    finally:
        if cache is not None:
            cache.close()


def _replay(
    title: str,
    configs: Sequence[AppConfig],
    job: Callable[[Progress], Coroutine[Any, Any, _T]],
) -> _T:
    """Run a backtest or an arena under a progress bar; missing or short history exits with 1.

    Logging follows the first config, with every config's secrets redacted. The engine's line
    per cycle is left out of the console: the database holds every cycle.
    """
    from alphatransformer.backtest.console import progress_bar
    from alphatransformer.backtest.period import BacktestDataError
    from alphatransformer.market.history_files import HistoryFileError
    from alphatransformer.utils.event_loop import run_batch
    from alphatransformer.utils.log_setup import configure_logging

    configure_logging(configs[0].logging, [s for c in configs for s in c.secrets()])
    logging.getLogger("alphatransformer.engine").setLevel(logging.ERROR)
    try:
        with progress_bar(_err, title) as update:
            return run_batch(job(update))
    except (HistoryFileError, BacktestDataError) as error:
        _err.print(f"[bold red]{title} failed[/]: {error}", highlight=False)
        raise typer.Exit(code=1) from None


def _ms(moment: datetime) -> int:
    """A flag's date (naive, meaning UTC) as milliseconds since the epoch."""
    return int(moment.replace(tzinfo=UTC).timestamp() * 1000)


def main() -> None:
    app()
