"""What the backtest, arena and download commands show in a terminal: progress bars with an
ETA while they run, then the results as tables."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from decimal import Decimal
from typing import TYPE_CHECKING

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskProgressColumn,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table

from alphatransformer.backtest.downloads import Downloads, FileDownload, Outcome
from alphatransformer.market.binance.rest import OPEN_INTEREST_HIST_DAYS
from alphatransformer.utils.clock import to_datetime

if TYPE_CHECKING:
    # Only for annotations: the download command needs none of the agent machinery.
    from alphatransformer.backtest.arena import ArenaOutcome, Standing
    from alphatransformer.backtest.runner import SavedRun

# More files than this are shown as a range.
_LISTED_FILES = 3


@contextmanager
def progress_bar(console: Console, description: str) -> Iterator[Callable[[int, int], None]]:
    """A bar with elapsed time and ETA; yields `update(done, total)`."""
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        TaskProgressColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TextColumn("ETA"),
        TimeRemainingColumn(),
    )
    with Progress(*columns, console=console, transient=False) as progress:
        task = progress.add_task(description, total=None)

        def update(done: int, total: int) -> None:
            progress.update(task, completed=done, total=total)

        yield update


def print_run(console: Console, saved: SavedRun) -> None:
    """One run's headline figures, where its report went and its checksum."""
    result, record = saved.result, saved.result.record
    equity, trades = record.performance.equity, record.performance.trades
    usage = record.usage
    drawdown = equity.max_drawdown
    table = Table(title=f"Backtest {result.run_id} ({result.model})", show_header=False)
    rows = [
        ("cycles", str(result.cycles)),
        ("equity", f"{_money(equity.start_equity)} -> {_money(equity.end_equity)}"),
        ("total return", _percent(equity.total_return)),
        ("Sharpe", _ratio(equity.sharpe)),
        ("max drawdown", _share(None if drawdown is None else drawdown.fraction)),
        ("trades", f"{trades.trades} (win rate {_share(trades.win_rate)})"),
        ("fees", _money(trades.total_fees)),
        ("tokens", f"{usage.input_tokens} in, {usage.output_tokens} out"),
        ("model cost", f"${_money(usage.cost_usd)}"),
    ]
    stats = result.cache_stats
    if stats is not None:
        rows.append(("model calls", f"{stats.calls} ({stats.hits} from the cache)"))
    rows += [("report", str(saved.folder)), ("trades.csv sha256", saved.checksum)]
    for name, value in rows:
        table.add_row(name, value)
    console.print(table)


def print_leaderboard(console: Console, outcome: ArenaOutcome) -> None:
    """The standings, best first, then where the reports went."""
    table = Table(title=f"Arena {outcome.arena_id}")
    for column in ("#", "entrant", "model", "return", "Sharpe", "max DD", "win rate"):
        table.add_column(column)
    for column in ("fees", "trades", "cost $", "model errors"):
        table.add_column(column, justify="right")
    for place, row in enumerate(outcome.standings, start=1):
        table.add_row(str(place), *_cells(row))
    console.print(table)
    console.print(f"Reports: {outcome.folder}")
    for saved in outcome.runs:
        console.print(f"  {saved.result.name}: trades.csv sha256 {saved.checksum}")


def print_downloads(console: Console, done: Downloads) -> None:
    """Per symbol and kind: the files fetched (with their counts), those already complete, and
    the open interest days Binance no longer serves, then where to get those."""
    kinds = (
        ("candles", done.candles),
        ("funding rates", done.funding),
        ("open interest", done.open_interest),
    )
    for kind, per_symbol in kinds:
        for symbol, files in per_symbol.items():
            console.print(f"{symbol} {kind}: {_download_summary(files)}", highlight=False)
    unserved = [
        file
        for files in done.open_interest.values()
        for file in files
        if file.outcome is Outcome.UNSERVED
    ]
    if unserved:
        after = max(file.span.end_ms for file in unserved)
        console.print(
            f"Binance's REST API serves the last {OPEN_INTEREST_HIST_DAYS} days of open interest "
            "only: to replay the "
            f"days before {to_datetime(after):%Y-%m-%d}, drop Binance Vision's daily metrics "
            "files (data/futures/um/daily/metrics/SYMBOL/SYMBOL-metrics-YYYY-MM-DD.zip) into "
            f"{unserved[0].path.parents[2]}/SYMBOL/metrics/.",
            highlight=False,
        )


def _download_summary(files: Sequence[FileDownload]) -> str:
    """`fetched ...; already complete: ...; not served over REST: ...`, the parts there are."""
    fetched = [file for file in files if file.outcome is Outcome.FETCHED]
    parts = [f"fetched {_listed(fetched, counted=True)}" if fetched else "nothing fetched"]
    for outcome in (Outcome.SKIPPED, Outcome.UNSERVED):
        those = [file for file in files if file.outcome is outcome]
        if those:
            parts.append(f"{outcome}: {_listed(those, counted=False)}")
    return "; ".join(parts)


def _listed(files: Sequence[FileDownload], *, counted: bool) -> str:
    """A few files by name (with their counts), more as a range: a download of open interest
    has a file a day."""
    if len(files) <= _LISTED_FILES:
        return ", ".join(
            f"{file.span.label} ({file.saved})" if counted else file.span.label for file in files
        )
    total = f" ({sum(file.saved for file in files)} in all)" if counted else ""
    return f"{len(files)} from {files[0].span.label} to {files[-1].span.label}{total}"


def _cells(row: Standing) -> Sequence[str]:
    return (
        row.name,
        row.model or "",
        _percent(row.total_return),
        _ratio(row.sharpe),
        _share(row.max_drawdown),
        _share(row.win_rate),
        _money(row.fees),
        str(row.trades),
        _money(row.cost_usd),
        f"{row.model_errors}/{row.cycles}" if row.model_errors else "0",
    )


def never_decided_line(rows: Sequence[Standing]) -> str | None:
    """One line naming the entrants whose model failed in every cycle; None if none did."""
    silent = ", ".join(f"{row.name} ({row.cycles} cycles)" for row in rows if row.never_decided)
    if not silent:
        return None
    return f"never decided, every model call failed: {silent}; decision_cycles.error says why"


def _percent(value: float | None) -> str:
    return "n/a" if value is None else f"{value:+.2%}"


def _share(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.2%}"


def _ratio(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.2f}"


def _money(value: Decimal | None) -> str:
    return "n/a" if value is None else f"{value:,.2f}"
