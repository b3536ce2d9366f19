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

if TYPE_CHECKING:
    # Only for annotations: the download command needs none of the agent machinery.
    from alphatransformer.backtest.arena import ArenaOutcome, Standing
    from alphatransformer.backtest.downloads import Downloads
    from alphatransformer.backtest.runner import SavedRun


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
    for column in ("fees", "trades", "cost $"):
        table.add_column(column, justify="right")
    for place, row in enumerate(outcome.standings, start=1):
        table.add_row(str(place), *_cells(row))
    console.print(table)
    console.print(f"Reports: {outcome.folder}")
    for saved in outcome.runs:
        console.print(f"  {saved.result.name}: trades.csv sha256 {saved.checksum}")


def print_downloads(console: Console, done: Downloads) -> None:
    """Per symbol and kind: the months fetched (with their counts) and the months skipped."""
    for kind, per_symbol in (("candles", done.candles), ("funding rates", done.funding)):
        for symbol, downloads in per_symbol.items():
            fetched = [f"{d.month.label} ({d.saved})" for d in downloads if not d.skipped]
            skipped = [d.month.label for d in downloads if d.skipped]
            parts = [f"fetched {', '.join(fetched)}" if fetched else "nothing fetched"]
            if skipped:
                parts.append(f"already complete: {', '.join(skipped)}")
            console.print(f"{symbol} {kind}: {'; '.join(parts)}", highlight=False)


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
    )


def _percent(value: float | None) -> str:
    return "n/a" if value is None else f"{value:+.2%}"


def _share(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.2%}"


def _ratio(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.2f}"


def _money(value: Decimal | None) -> str:
    return "n/a" if value is None else f"{value:,.2f}"
