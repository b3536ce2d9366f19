"""The arena: several agents trade the same replayed market over the same period, each with its
own paper account and run id, and a leaderboard compares them.

The built-in rules model and buy-and-hold always take part, as baselines: an LLM is worth its
cost only if it beats both. Entrants differ in model, prompt and risk limits; the market, the
period, the starting balance, fees and slippage are the same for all, so the comparison is fair.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from decimal import Decimal
from pathlib import Path

from alphatransformer.backtest.period import ReplayPeriod
from alphatransformer.backtest.report import PLOT_FILE, RunRecord, equity_curves, save_figure
from alphatransformer.backtest.runner import (
    Entrant,
    ModelOptions,
    Progress,
    RunResult,
    SavedRun,
    buy_and_hold_entrant,
    configured_entrant,
    entrant_config,
    entrant_run_id,
    run_entrants,
    save_run,
)
from alphatransformer.config import AppConfig

RULES_ENTRANT = "rules"
BUY_AND_HOLD_ENTRANT = "buy-and-hold"
BASELINES = (RULES_ENTRANT, BUY_AND_HOLD_ENTRANT)

LEADERBOARD_JSON = "leaderboard.json"
LEADERBOARD_CSV = "leaderboard.csv"

# Run ids are `<arena id>-<name>` and must fit the database's 64 characters (54 inside cycle
# ids); an arena id takes 27, so a name gets 24.
_NAME = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,23}$")


@dataclass(frozen=True, slots=True)
class Standing:
    """One leaderboard row. Ratios are None where undefined (no trades, a flat curve).

    `model_errors` counts the cycles whose model call failed (each held every symbol) out of
    `cycles`. An entrant with some errors is ranked by its return like any other, the count
    beside it; one whose every cycle failed `never_decided`: its flat return measures an
    outage, not a model, so it ranks after every entrant that decided.
    """

    name: str
    model: str | None
    run_id: str
    total_return: float | None
    sharpe: float | None
    max_drawdown: float | None
    win_rate: float | None
    fees: Decimal
    trades: int
    cost_usd: Decimal
    end_equity: Decimal | None
    cycles: int
    model_errors: int
    never_decided: bool


def check_entrant_name(name: str) -> str:
    """A name fit for a run id and a folder; the baselines' names are taken."""
    if not _NAME.fullmatch(name):
        raise ValueError(
            f"entrant name {name!r}: 1 to 24 of a-z, 0-9, '_', '.', '-', starting with a letter "
            "or digit"
        )
    if name in BASELINES:
        raise ValueError(f"entrant name {name!r} is a baseline's")
    return name


def arena_entrants(
    base: AppConfig, challengers: Sequence[tuple[str, AppConfig]], options: ModelOptions
) -> list[Entrant]:
    """The baselines, then each challenger: `base`'s market and account with the challenger's
    model, prompt and risk limits."""
    rules_agent = base.agent.model_copy(update={"provider": "rules"})
    rules = entrant_config(base, rules_agent, base.trading.risk)
    entrants = [
        configured_entrant(RULES_ENTRANT, rules, options),
        buy_and_hold_entrant(BUY_AND_HOLD_ENTRANT, base),
    ]
    names = set(BASELINES)
    for name, config in challengers:
        check_entrant_name(name)
        if name in names:
            raise ValueError(f"entrant name {name!r} is used twice")
        names.add(name)
        challenger = entrant_config(base, config.agent, config.trading.risk)
        entrants.append(configured_entrant(name, challenger, options))
    return entrants


def standing(name: str, model: str | None, run_id: str, record: RunRecord) -> Standing:
    performance, usage = record.performance, record.usage
    equity, trades = performance.equity, performance.trades
    drawdown = equity.max_drawdown
    return Standing(
        name=name,
        model=model,
        run_id=run_id,
        total_return=equity.total_return,
        sharpe=equity.sharpe,
        max_drawdown=None if drawdown is None else drawdown.fraction,
        win_rate=trades.win_rate,
        fees=trades.total_fees,
        trades=trades.trades,
        cost_usd=performance.llm_usage.cost_usd,
        end_equity=equity.end_equity,
        cycles=usage.cycles,
        model_errors=usage.errors,
        never_decided=0 < usage.errors == usage.cycles,
    )


def leaderboard(results: Sequence[RunResult]) -> list[Standing]:
    """The runs' standings, ranked."""
    return ranked(standing(r.name, r.model, r.run_id, r.record) for r in results)


def ranked(rows: Iterable[Standing]) -> list[Standing]:
    """Best total return first, ties by name, runs without a return after those with one;
    entrants that never decided after every entrant that did."""
    return sorted(rows, key=_rank)


def _rank(row: Standing) -> tuple[bool, bool, float, str]:
    return (row.never_decided, row.total_return is None, -(row.total_return or 0.0), row.name)


def write_leaderboard(folder: Path, rows: Sequence[Standing]) -> None:
    """`leaderboard.json` and `leaderboard.csv`: exact decimals as strings, ratios as floats."""
    folder.mkdir(parents=True, exist_ok=True)
    records = [_jsonable(row) for row in rows]
    text = json.dumps(records, indent=2, ensure_ascii=False) + "\n"
    (folder / LEADERBOARD_JSON).write_text(text, encoding="utf-8")
    table = io.StringIO()
    writer = csv.DictWriter(
        table, fieldnames=list(records[0]) if records else [], lineterminator="\n"
    )
    writer.writeheader()
    writer.writerows(records)
    (folder / LEADERBOARD_CSV).write_text(table.getvalue(), encoding="utf-8")


def _jsonable(row: Standing) -> dict[str, object]:
    return {k: str(v) if isinstance(v, Decimal) else v for k, v in asdict(row).items()}


@dataclass(frozen=True, slots=True)
class ArenaOutcome:
    arena_id: str
    folder: Path
    standings: list[Standing]
    runs: list[SavedRun]


async def run_arena(
    base: AppConfig,
    challengers: Sequence[tuple[str, AppConfig]],
    period: ReplayPeriod,
    options: ModelOptions,
    *,
    arena_id: str,
    reports: Path,
    progress: Progress | None = None,
) -> ArenaOutcome:
    """Run the baselines and the challengers in lockstep over `period`; write each entrant's
    report into `reports/<arena id>/<name>/`, and the leaderboard and a chart of every
    entrant's equity (`equity.png`) next to them."""
    entrants = arena_entrants(base, challengers, options)
    run_ids = [entrant_run_id(arena_id, entrant.name) for entrant in entrants]
    results = await run_entrants(entrants, run_ids, period, progress)
    folder = reports / arena_id
    runs = [
        save_run(result, folder / entrant.name, entrant.config, period, options.seed)
        for entrant, result in zip(entrants, results, strict=True)
    ]
    standings = leaderboard(results)
    write_leaderboard(folder, standings)
    curves = {result.name: result.record.equity for result in results}
    save_figure(equity_curves(curves, title=f"Arena {arena_id}"), folder / PLOT_FILE)
    return ArenaOutcome(arena_id, folder, standings, runs)
