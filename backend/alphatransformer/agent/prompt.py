"""The agent's prompts: the rules (system prompt) and the first message, a compact market snapshot.

The first message carries what an Alpha Arena prompt carries for every symbol (price, EMA20, MACD,
RSI7/RSI14 series, funding, open interest, long-timeframe EMA20/50, ATR3/14, volume and MACD/RSI
series) plus the account and open positions with their exit plans, so a typical cycle needs one
model call. It is compact on purpose: one block per symbol, numbers rounded to the digits that
carry information (RSI as integers, MACD and ATR to three significant digits, prices in full),
and no repeated prose, which keeps it under 40 % of the reference prompt's tokens (see
`benchmarks/prompt_tokens.py`).

Wording lives in template files (`string.Template`, `$name` placeholders), a built-in set under
`prompts/<name>/` or any directory holding the same three files: `agent.prompt` in the config
picks one. A template using an unknown placeholder is a config error when it is loaded, not a
`KeyError` in the middle of a cycle.
"""

from __future__ import annotations

import hashlib
import math
from collections import deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from functools import lru_cache
from importlib import resources
from pathlib import Path
from string import Template

from alphatransformer.agent.indicators import IndicatorSeries, compute_indicators, latest, tail
from alphatransformer.config.errors import ConfigError
from alphatransformer.config.schema import RiskConfig
from alphatransformer.market.market_data import FloatArray, MarketData
from alphatransformer.market.types import FundingInfo, Interval
from alphatransformer.trading.models import Account, Position
from alphatransformer.utils.clock import to_datetime

SERIES_LENGTH = 10
PRICE_DIGITS = 8  # prices in full: exchange prices have at most 8 significant digits
AVERAGE_DIGITS = 6  # EMAs: a millionth of the price is below any tick that matters
VALUE_DIGITS = 3  # MACD, ATR, volume: three digits say all a decision needs
OPEN_INTEREST_DIGITS = 4
RSI_DIGITS = 2
OPEN_INTEREST_WINDOW = 20  # readings averaged, one per cycle

_PLACEHOLDERS: dict[str, frozenset[str]] = {
    "system": frozenset(
        {
            "max_leverage",
            "max_open_positions",
            "max_position_share",
            "max_total_exposure",
            "stop_loss_rule",
            "min_confidence",
            "short",
            "long",
            "answer_tool",
        }
    ),
    "user": frozenset({"time", "symbols", "account_value", "total_return", "cash", "positions"}),
    "symbol": frozenset(
        {
            "symbol",
            "price",
            "ema20",
            "macd",
            "funding",
            "open_interest",
            "open_interest_average",
            "short",
            "close_series",
            "rsi7_series",
            "rsi14_series",
            "long",
            "long_ema20",
            "long_ema50",
            "long_atr3",
            "long_atr14",
            "long_volume",
            "long_volume_average",
            "long_macd_series",
            "long_rsi14_series",
        }
    ),
}


@dataclass(frozen=True, slots=True)
class PromptTemplates:
    """The three templates of one set: system prompt, first message, one symbol's block."""

    system: Template
    user: Template
    symbol: Template

    @classmethod
    def load(cls, source: str) -> PromptTemplates:
        """The built-in set named `source`, or the set in the directory `source` points to."""
        folder = _template_folder(source)
        texts = {part: _read_template(folder, part, source) for part in _PLACEHOLDERS}
        return cls(**{part: Template(text) for part, text in texts.items()})


def _template_folder(source: str) -> resources.abc.Traversable:
    built_in = resources.files("alphatransformer.agent") / "prompts" / source
    if built_in.is_dir():
        return built_in
    folder = Path(source).expanduser()
    if folder.is_dir():
        return folder
    raise ConfigError(
        f"no prompt template set {source!r}: neither a built-in set nor a directory",
        key="agent.prompt",
    )


def _read_template(folder: resources.abc.Traversable, part: str, source: str) -> str:
    file = folder / f"{part}.md"
    if not file.is_file():
        raise ConfigError(f"prompt set {source!r} has no {part}.md", key="agent.prompt")
    text = file.read_text(encoding="utf-8")
    unknown = set(Template(text).get_identifiers()) - _PLACEHOLDERS[part]
    if unknown:
        raise ConfigError(
            f"{part}.md of prompt set {source!r} uses unknown placeholders "
            f"{', '.join(sorted(unknown))}; known: {', '.join(sorted(_PLACEHOLDERS[part]))}",
            key="agent.prompt",
        )
    return text


@dataclass(frozen=True, slots=True)
class ExitPlan:
    """How the decision that opened a position meant to leave it, shown next to the position."""

    stop_loss: float | None = None
    take_profit: float | None = None
    invalidation_condition: str | None = None


@dataclass(frozen=True, slots=True)
class PromptInputs:
    """Everything the first message shows, as of one cycle."""

    now_ms: int
    symbols: tuple[str, ...]
    market: MarketData
    account: Account
    short: Interval
    long: Interval
    exit_plans: Mapping[str, ExitPlan] = field(default_factory=dict)
    initial_equity: Decimal | None = None
    open_interest_averages: Mapping[str, float] = field(default_factory=dict)


def render_system_prompt(
    templates: PromptTemplates,
    risk: RiskConfig,
    *,
    short: Interval,
    long: Interval,
    answer_tool: str,
) -> str:
    """The rules with the configured limits filled in: what the risk gate will enforce."""
    return templates.system.substitute(
        max_leverage=risk.max_leverage,
        max_open_positions=risk.max_open_positions,
        max_position_share=f"{risk.max_position_share:.0%}",
        max_total_exposure=f"{risk.max_total_exposure:g}",
        stop_loss_rule=_stop_loss_rule(risk),
        min_confidence=f"{risk.min_confidence:g}",
        short=short.value,
        long=long.value,
        answer_tool=answer_tool,
    )


def _stop_loss_rule(risk: RiskConfig) -> str:
    where = (
        f"on the losing side of the price, at most {risk.max_stop_distance:.0%} away; "
        "take_profit on the winning side"
    )
    if risk.require_stop_loss:
        return f"Every open needs a stop_loss {where}."
    return f"stop_loss is optional; when given it must be {where}."


def render_user_message(templates: PromptTemplates, inputs: PromptInputs) -> str:
    """The first message: one block per symbol, then the account and its open positions."""
    blocks = [
        render_symbol_block(
            templates,
            inputs.market,
            symbol,
            short=inputs.short,
            long=inputs.long,
            open_interest_average=inputs.open_interest_averages.get(symbol),
        )
        for symbol in inputs.symbols
    ]
    account = inputs.account
    return templates.user.substitute(
        time=to_datetime(inputs.now_ms).strftime("%Y-%m-%d %H:%M UTC"),
        symbols="\n".join(block.rstrip("\n") for block in blocks),
        account_value=f"{account.equity:.2f}",
        total_return=_total_return(account.equity, inputs.initial_equity),
        cash=f"{account.available_balance:.2f}",
        positions=_positions(account.positions, inputs.exit_plans),
    ).rstrip("\n")


def render_symbol_block(
    templates: PromptTemplates,
    market: MarketData,
    symbol: str,
    *,
    short: Interval,
    long: Interval,
    open_interest_average: float | None = None,
) -> str:
    """One symbol's numbers: short-timeframe momentum, long-timeframe trend, funding and OI."""
    candles = market.arrays(symbol, short)
    fast = compute_indicators(candles)
    slow = compute_indicators(market.arrays(symbol, long))
    funding = market.funding(symbol)
    open_interest = market.open_interest(symbol)
    return templates.symbol.substitute(
        symbol=symbol,
        price=number(market.latest_price(symbol), PRICE_DIGITS),
        ema20=number(latest(fast.ema20), AVERAGE_DIGITS),
        macd=number(latest(fast.macd), VALUE_DIGITS),
        funding=_funding(funding),
        open_interest=number(
            None if open_interest is None else open_interest.open_interest, OPEN_INTEREST_DIGITS
        ),
        open_interest_average=number(open_interest_average, OPEN_INTEREST_DIGITS),
        short=short.value,
        close_series=series(candles.close, PRICE_DIGITS),
        rsi7_series=series(fast.rsi7, RSI_DIGITS),
        rsi14_series=series(fast.rsi14, RSI_DIGITS),
        **_long_context(slow, long),
    )


@lru_cache(maxsize=64)
def _long_context(slow: IndicatorSeries, long: Interval) -> Mapping[str, str]:
    """Written once per long candle: `compute_indicators` hands out the same series until the
    long timeframe's next candle closes, which at 4 h is 80 cycles of 3 m."""
    return {
        "long": long.value,
        "long_ema20": number(latest(slow.ema20), AVERAGE_DIGITS),
        "long_ema50": number(latest(slow.ema50), AVERAGE_DIGITS),
        "long_atr3": number(latest(slow.atr3), VALUE_DIGITS),
        "long_atr14": number(latest(slow.atr14), VALUE_DIGITS),
        "long_volume": number(latest(slow.volume), VALUE_DIGITS),
        "long_volume_average": number(latest(slow.volume_average20), VALUE_DIGITS),
        "long_macd_series": series(slow.macd, VALUE_DIGITS),
        "long_rsi14_series": series(slow.rsi14, RSI_DIGITS),
    }


def _funding(info: FundingInfo | None) -> str:
    """The rate in percent; the interval is written only when it is not the 8 h the system
    prompt states, so prompts for 8 h symbols stay as they were (and cached answers valid)."""
    if info is None:
        return "-"
    rate = f"{number(info.funding_rate * 100, 2)}%"
    return rate if info.interval_hours == 8 else f"{rate} per {info.interval_hours}h"


def _total_return(equity: Decimal, initial: Decimal | None) -> str:
    if initial is None or initial <= 0:
        return "-"
    return f"{(equity / initial - 1) * 100:+.2f}%"


def _positions(positions: Iterable[Position], exit_plans: Mapping[str, ExitPlan]) -> str:
    lines = [_position_line(p, exit_plans.get(p.symbol)) for p in positions]
    return "\n".join(lines) if lines else "none"


def _position_line(position: Position, plan: ExitPlan | None) -> str:
    side = "long" if position.is_long else "short"
    parts = [
        f"{position.symbol} {side} {abs(position.quantity).normalize():f} "
        f"@ {number(float(position.entry_price), PRICE_DIGITS)}",
        f"pnl {position.unrealized_pnl:+.2f}",
        f"{position.leverage}x",
    ]
    if position.liquidation_price is not None:
        parts.append(f"liq {number(float(position.liquidation_price), PRICE_DIGITS)}")
    if plan is not None:
        parts += _exit_plan_parts(plan)
    return ", ".join(parts)


def _exit_plan_parts(plan: ExitPlan) -> list[str]:
    parts = []
    if plan.stop_loss is not None:
        parts.append(f"stop {number(plan.stop_loss, PRICE_DIGITS)}")
    if plan.take_profit is not None:
        parts.append(f"target {number(plan.take_profit, PRICE_DIGITS)}")
    if plan.invalidation_condition:
        parts.append(f"invalidation: {plan.invalidation_condition}")
    return parts


def number(value: float | None, digits: int) -> str:
    """`value` rounded to `digits` significant digits, written without exponent or trailing
    zeros (`113862.44` → `113862` at 6, `0.000123456` → `0.000123` at 3); `-` when missing."""
    if value is None or not math.isfinite(value):
        return "-"
    if value == 0:
        return "0"
    # `g` rounds the same way and drops trailing zeros; it only goes wrong by switching to an
    # exponent (below 1e-4, or at `digits` or more integer digits). The prompt writes
    # hundreds of these a cycle, so the short way is taken whenever it is right.
    short = f"{value:.{digits}g}"
    if "e" not in short:
        return short
    decimals = digits - 1 - math.floor(math.log10(abs(value)))
    text = f"{round(value, decimals):.{max(decimals, 0)}f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def series(values: FloatArray, digits: int) -> str:
    """The newest `SERIES_LENGTH` values of an indicator array, oldest first, comma-separated."""
    return ",".join(number(value, digits) for value in tail(values, SERIES_LENGTH))


def prompt_hash(system_prompt: str, first_message: str) -> str:
    """sha256 of what the model was shown, so identical prompts are recognisable in the audit."""
    digest = hashlib.sha256(system_prompt.encode())
    digest.update(b"\0")
    digest.update(first_message.encode())
    return digest.hexdigest()


class OpenInterestAverages:
    """Open interest averaged over the last readings, one per cycle, per symbol.

    `MarketData` holds only the latest reading, so the average the prompt shows (as Alpha Arena's
    does) is built here from what each cycle saw.
    """

    def __init__(self, window: int = OPEN_INTEREST_WINDOW) -> None:
        self._window = window
        self._readings: dict[str, deque[float]] = {}

    def observe(self, market: MarketData, symbols: Iterable[str]) -> dict[str, float]:
        """Record this cycle's readings and return the averages of the symbols that have any."""
        for symbol in symbols:
            reading = market.open_interest(symbol)
            if reading is not None:
                history = self._readings.setdefault(symbol, deque(maxlen=self._window))
                history.append(reading.open_interest)
        return {symbol: sum(h) / len(h) for symbol, h in self._readings.items() if h}
