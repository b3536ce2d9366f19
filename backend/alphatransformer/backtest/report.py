"""A run's results, read back from the database, and the report folder written from them.

The numbers are `trading/performance.py`'s, computed from the run's rows exactly as
`/api/performance` computes them, so a backtest, an arena entrant and the live agent are
measured by one yardstick. The folder holds:

- `trades.csv`: the closed trades, one row per round trip, in the order they closed; its SHA-256
  is in `report.json`, the determinism check (a rerun must reproduce it byte for byte);
- `equity.png`: the equity curve over the drawdown from its running peak;
- `report.json`: the period and settings, the performance, model usage and cost (with the
  cycles whose model call failed, `model_errors`, out of all `cycles`), funding
  (whether it was replayed for every symbol, and what the account paid and received) and open
  interest (whether the agent was shown it for every symbol, and from when).
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from pydantic import TypeAdapter

from alphatransformer.backtest.period import FUNDING_SOURCE, OPEN_INTEREST_SOURCE
from alphatransformer.database.repositories import (
    DecisionRepository,
    ExecutionRepository,
    SnapshotRepository,
    UsageTotals,
)
from alphatransformer.trading.paper.ledger import IncomeRecord, IncomeType
from alphatransformer.trading.performance import (
    ClosedTrade,
    EquityPoint,
    LlmUsage,
    Performance,
    closed_trades,
    performance,
    whole_seconds,
)
from alphatransformer.utils.clock import to_datetime

TRADES_FILE = "trades.csv"
PLOT_FILE = "equity.png"
REPORT_FILE = "report.json"

TRADE_COLUMNS = (
    "symbol",
    "side",
    "opened_at",
    "closed_at",
    "quantity",
    "entry_price",
    "exit_price",
    "gross_pnl",
    "fees",
    "net_pnl",
    "hold_seconds",
)

_EVERY_SNAPSHOT = 2**62
"""`equity_series` thins to at most this many points: a backtest's curve is read whole."""

_PERFORMANCE = TypeAdapter(Performance)


@dataclass(frozen=True, slots=True)
class FundingRecord:
    """Funding over a backtest: the symbols replayed without funding rates (positions in them
    paid none), and what the paper account paid and received at funding times."""

    unreplayed: tuple[str, ...]
    paid: Decimal
    received: Decimal


@dataclass(frozen=True, slots=True)
class OpenInterestRecord:
    """Open interest over a backtest: the symbols replayed without it (the agent saw none), and
    those whose files start after the first decision, with the time of their first value (None:
    none in the period), before which the agent saw none."""

    unreplayed: tuple[str, ...]
    late_starts: Mapping[str, int | None]


@dataclass(frozen=True, slots=True)
class RunRecord:
    """Everything measured about one run; `funding` comes from the paper account's ledger and
    `open_interest` from the files replayed, neither of which the database holds, so a run read
    back from the database alone has None for both."""

    performance: Performance
    equity: list[EquityPoint]
    trades: list[ClosedTrade]
    usage: UsageTotals
    funding: FundingRecord | None = None
    open_interest: OpenInterestRecord | None = None


def funding_record(income: Iterable[IncomeRecord], unreplayed: Sequence[str]) -> FundingRecord:
    """Funding paid and received, from the account's ledger entries (others are ignored)."""
    amounts = [entry.income for entry in income if entry.income_type is IncomeType.FUNDING_FEE]
    return FundingRecord(
        tuple(unreplayed),
        paid=sum((-amount for amount in amounts if amount < 0), Decimal(0)),
        received=sum((amount for amount in amounts if amount > 0), Decimal(0)),
    )


async def load_run(
    decisions: DecisionRepository, executions: ExecutionRepository, snapshots: SnapshotRepository
) -> RunRecord:
    """The run's performance from its rows: the whole equity curve, every fill, model usage;
    unrealized PnL as of the last snapshot (the account at the run's end)."""
    _, series = await snapshots.equity_series(None, None, _EVERY_SNAPSHOT)
    fills = await executions.fills()
    usage = await decisions.usage_totals()
    unrealized = series[-1][3] if series else Decimal(0)
    equity = [(time, value) for time, value, _, _ in series]
    report = performance(
        equity,
        fills,
        unrealized,
        LlmUsage(
            usage.input_tokens, usage.output_tokens, usage.cost_usd, usage.cycles, usage.errors
        ),
    )
    return RunRecord(report, equity, closed_trades(fills), usage)


def trades_csv(trades: Sequence[ClosedTrade]) -> bytes:
    """The trade list as CSV bytes: exact decimals and UTC ISO times, nothing run-specific
    (no run id, no row id), so two runs of the same backtest give the same bytes."""
    text = io.StringIO()
    writer = csv.writer(text, lineterminator="\n")
    writer.writerow(TRADE_COLUMNS)
    writer.writerows(
        (
            trade.symbol,
            trade.side.value,
            _iso(trade.opened_at),
            _iso(trade.closed_at),
            trade.quantity,
            trade.entry_price,
            trade.exit_price,
            trade.gross_pnl,
            trade.fees,
            trade.net_pnl,
            int(whole_seconds(trade.hold_time).total_seconds()),
        )
        for trade in trades
    )
    return text.getvalue().encode()


def write_report(folder: Path, record: RunRecord, summary: dict[str, Any], title: str) -> str:
    """Write the trade list, the plot (titled `title`) and `report.json` (`summary` plus the
    measured results) into `folder`; return the trade list's SHA-256."""
    folder.mkdir(parents=True, exist_ok=True)
    trades = trades_csv(record.trades)
    checksum = hashlib.sha256(trades).hexdigest()
    (folder / TRADES_FILE).write_bytes(trades)
    plot_equity(record.equity, folder / PLOT_FILE, title=title)
    replayed = {
        "funding": None if record.funding is None else _funding_summary(record.funding),
        "open_interest": (
            None if record.open_interest is None else _open_interest_summary(record.open_interest)
        ),
    }
    document = {
        **summary,
        **{name: section for name, section in replayed.items() if section is not None},
        "performance": _PERFORMANCE.dump_python(record.performance, mode="json"),
        "model_usage": {
            "cycles": record.usage.cycles,
            "input_tokens": record.usage.input_tokens,
            "output_tokens": record.usage.output_tokens,
            "cost_usd": str(record.usage.cost_usd),
            "model_errors": record.usage.errors,
        },
        "files": {"trades": TRADES_FILE, "equity_plot": PLOT_FILE},
        "trades_csv_sha256": checksum,
    }
    text = json.dumps(document, indent=2, ensure_ascii=False) + "\n"
    (folder / REPORT_FILE).write_text(text, encoding="utf-8")
    return checksum


def _funding_summary(funding: FundingRecord) -> dict[str, Any]:
    return _replay_summary(
        funding.unreplayed,
        files="funding",
        consequence="positions in them paid no funding, so the PnL leaves it out "
        f"({FUNDING_SOURCE})",
        paid=str(funding.paid),
        received=str(funding.received),
        net=str(funding.received - funding.paid),
    )


def _open_interest_summary(open_interest: OpenInterestRecord) -> dict[str, Any]:
    summary = _replay_summary(
        open_interest.unreplayed,
        files="metrics",
        consequence=f"the agent was shown no open interest for them ({OPEN_INTEREST_SOURCE})",
    )
    if open_interest.late_starts:
        summary["starts_after_the_first_decision"] = {
            symbol: None if time is None else _iso(to_datetime(time))
            for symbol, time in open_interest.late_starts.items()
        }
    return summary


def _replay_summary(
    unreplayed: Sequence[str], *, files: str, consequence: str, **figures: str
) -> dict[str, Any]:
    """Whether a series was replayed for every symbol, `figures` about it, and for the symbols
    without files, which they are and what that left out: `no <files> files for ...`."""
    summary: dict[str, Any] = {"replayed": not unreplayed, **figures}
    if unreplayed:
        summary["not_replayed_for"] = list(unreplayed)
        summary["note"] = f"no {files} files for {', '.join(unreplayed)}: {consequence}"
    return summary


def plot_equity(points: Sequence[EquityPoint], path: Path, *, title: str) -> None:
    """Equity on top, drawdown from the running peak (in %) below, on one time axis."""
    times = _times(points)
    equity = [float(value) for _, value in points]
    figure = _figure()
    top, bottom = figure.subplots(2, 1, sharex=True, height_ratios=(3, 1))
    top.plot(times, equity, color="tab:blue", linewidth=1)
    _label(top, "equity (USDT)", title)
    bottom.fill_between(times, _drawdown_percent(equity), 0, color="tab:red", alpha=0.4)
    _label(bottom, "drawdown (%)")
    save_figure(figure, path)


def equity_curves(curves: Mapping[str, Sequence[EquityPoint]], *, title: str) -> Figure:
    """Several runs' equity on one time axis, a line and a legend entry per run, in order:
    an arena's entrants side by side."""
    figure = _figure()
    axes = figure.subplots()
    for name, points in curves.items():
        axes.plot(_times(points), [float(value) for _, value in points], linewidth=1, label=name)
    _label(axes, "equity (USDT)", title)
    axes.legend(loc="best")
    return figure


def _figure() -> Figure:
    """A figure on an Agg canvas of its own, never through pyplot's global state, so drawing
    needs no display and is safe inside a server process."""
    figure = Figure(figsize=(10, 6), layout="constrained")
    FigureCanvasAgg(figure)
    return figure


def _times(points: Sequence[EquityPoint]) -> npt.NDArray[np.datetime64]:
    """The points' times for a time axis, as numpy datetimes (without a zone: UTC's)."""
    naive = [time.astimezone(UTC).replace(tzinfo=None) for time, _ in points]
    return np.array(naive, dtype="datetime64[us]")


def _label(axes: Axes, ylabel: str, title: str | None = None) -> None:
    axes.set_ylabel(ylabel)
    if title is not None:
        axes.set_title(title)
    axes.grid(alpha=0.3)


def save_figure(figure: Figure, path: Path) -> None:
    """Write `figure` as a PNG, its time axis labels slanted to fit."""
    figure.autofmt_xdate()
    figure.savefig(path, dpi=100)


def _drawdown_percent(equity: Sequence[float]) -> list[float]:
    peak = float("-inf")
    falls: list[float] = []
    for value in equity:
        peak = max(peak, value)
        falls.append(-100 * (peak - value) / peak if peak > 0 else 0.0)
    return falls


def _iso(moment: datetime) -> str:
    return moment.isoformat(timespec="milliseconds")
