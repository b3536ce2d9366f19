"""The prompts: the rules carry the configured limits, the first message carries every figure an
Alpha Arena prompt does in under 40 % of its tokens, and template sets are swappable."""

from __future__ import annotations

import importlib.util
import sys
from dataclasses import replace
from decimal import Decimal
from importlib import resources
from pathlib import Path
from types import ModuleType

import pytest

from alphatransformer.agent import indicators
from alphatransformer.agent.llm_agent import ANSWER_TOOL
from alphatransformer.agent.prompt import (
    ExitPlan,
    OpenInterestAverages,
    PromptInputs,
    PromptTemplates,
    number,
    prompt_hash,
    render_symbol_block,
    render_system_prompt,
    render_user_message,
)
from alphatransformer.config import ConfigError
from alphatransformer.config.schema import MarketConfig, RiskConfig
from alphatransformer.market.simulated import SimulatedMarket
from alphatransformer.market.types import FundingInfo, Interval
from alphatransformer.trading.models import Account, MarginType, Position
from alphatransformer.utils.clock import ManualClock

REPO = Path(__file__).resolve().parents[3]
NOW = 1_767_225_600_000  # 2026-01-01 00:00 UTC
SYMBOLS = ("BTCUSDT", "ETHUSDT")
SHORT, LONG = Interval.M3, Interval.H4


def _market(symbols: tuple[str, ...] = SYMBOLS) -> SimulatedMarket:
    market = SimulatedMarket(symbols, MarketConfig(), ManualClock(NOW))
    market.load_history()
    return market


def _account(*positions: Position) -> Account:
    return Account(
        "USDT", Decimal("10500"), Decimal("0"), Decimal("8000"), Decimal("2500"), positions
    )


def _long_btc() -> Position:
    return Position(
        symbol="BTCUSDT",
        quantity=Decimal("0.17"),
        entry_price=Decimal("94000"),
        mark_price=Decimal("97000"),
        unrealized_pnl=Decimal("510"),
        leverage=5,
        margin_type=MarginType.ISOLATED,
        margin=Decimal("3196"),
        liquidation_price=Decimal("76000"),
    )


def _inputs(
    market: SimulatedMarket,
    account: Account,
    exit_plans: dict[str, ExitPlan] | None = None,
    initial_equity: Decimal | None = None,
) -> PromptInputs:
    return PromptInputs(
        NOW, SYMBOLS, market, account, SHORT, LONG, exit_plans or {}, initial_equity
    )


def _load_benchmark() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "prompt_tokens", REPO / "benchmarks" / "prompt_tokens.py"
    )
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def test_first_message_for_six_coins_is_at_most_40_percent_of_the_reference() -> None:
    count = _load_benchmark().measure()
    assert count.reference_tokens > 4000  # the real sample, counted, not a stub
    assert count.ratio <= 0.4, f"{count.tokens} tokens, {count.ratio:.1%} of the reference"


def test_default_templates_ship_inside_the_package() -> None:
    folder = resources.files("alphatransformer.agent") / "prompts" / "default"
    assert sorted(f.name for f in folder.iterdir()) == ["symbol.md", "system.md", "user.md"]


def test_system_prompt_states_the_limits_the_risk_gate_enforces() -> None:
    risk = RiskConfig(max_leverage=5, min_confidence=0.6, max_open_positions=2)
    text = render_system_prompt(
        PromptTemplates.load("default"), risk, short=SHORT, long=LONG, answer_tool=ANSWER_TOOL
    )
    assert "Leverage 1 to 5" in text
    assert "at most 2 open positions" in text
    assert "below 0.6 is rejected" in text
    assert "Every open needs a stop_loss" in text
    assert "never added to" in text
    for action in ("open_long", "open_short", "close", "hold"):
        assert action in text
    assert f"call {ANSWER_TOOL} once" in text


def test_system_prompt_without_a_required_stop_says_it_is_optional() -> None:
    text = render_system_prompt(
        PromptTemplates.load("default"),
        RiskConfig(require_stop_loss=False),
        short=SHORT,
        long=LONG,
        answer_tool=ANSWER_TOOL,
    )
    assert "stop_loss is optional" in text


def test_symbol_block_carries_the_indicator_series_oldest_first() -> None:
    market = _market()
    block = render_symbol_block(
        PromptTemplates.load("default"), market, "ETHUSDT", short=SHORT, long=LONG
    )
    short = indicators.compute_indicators(market.arrays("ETHUSDT", SHORT))
    long = indicators.compute_indicators(market.arrays("ETHUSDT", LONG))
    expected_rsi7 = ",".join(number(v, 2) for v in indicators.tail(short.rsi7, 10))
    expected_long_macd = ",".join(number(v, 3) for v in indicators.tail(long.macd, 10))
    lines = block.splitlines()
    assert lines[0] == "## ETHUSDT"
    assert lines[1].startswith(f"price {number(market.latest_price('ETHUSDT'), 8)}, ema20 ")
    assert f"3m rsi7: {expected_rsi7}" in lines
    assert f"4h macd: {expected_long_macd}" in lines
    assert any(line.startswith("3m rsi14: ") and line.count(",") == 9 for line in lines)
    assert any(line.startswith("4h ema20 ") and " vs ema50 " in line for line in lines)
    assert "atr3 " in block
    assert "volume " in block
    assert "funding " in block
    assert "OI " in block


@pytest.mark.parametrize(
    ("hours", "written"), [(8, "funding 0.01%,"), (4, "funding 0.01% per 4h,")]
)
def test_funding_names_its_interval_when_it_is_not_the_usual_8h(hours: int, written: str) -> None:
    class Funded(SimulatedMarket):
        def funding(self, symbol: str) -> FundingInfo | None:
            info = super().funding(symbol)
            assert info is not None
            return replace(info, funding_rate=0.0001, interval_hours=hours)

    market = Funded(SYMBOLS, MarketConfig(), ManualClock(NOW))
    market.load_history()
    block = render_symbol_block(
        PromptTemplates.load("default"), market, "ETHUSDT", short=SHORT, long=LONG
    )
    assert written in block.splitlines()[1]


def test_user_message_shows_account_return_and_positions_with_exit_plans() -> None:
    plan = ExitPlan(
        stop_loss=90000.0, take_profit=105000.0, invalidation_condition="4h close < 91000"
    )
    text = render_user_message(
        PromptTemplates.load("default"),
        _inputs(
            _market(),
            _account(_long_btc()),
            exit_plans={"BTCUSDT": plan},
            initial_equity=Decimal("10000"),
        ),
    )
    assert text.startswith("2026-01-01 00:00 UTC\n## BTCUSDT\n")
    assert "## ETHUSDT" in text
    assert "value 10500.00, return +5.00%, cash 8000.00" in text
    assert (
        "BTCUSDT long 0.17 @ 94000, pnl +510.00, 5x, liq 76000, stop 90000, target 105000, "
        "invalidation: 4h close < 91000"
    ) in text


def test_user_message_without_positions_or_start_says_so() -> None:
    text = render_user_message(PromptTemplates.load("default"), _inputs(_market(), _account()))
    assert "return -," in text
    assert text.endswith("Positions:\nnone")


@pytest.mark.parametrize(
    ("value", "digits", "text"),
    [
        (113862.44, 6, "113862"),
        (114012.5, 8, "114012.5"),
        (0.000123456, 3, "0.000123"),
        (-34.236, 3, "-34.2"),
        (8127913.408, 3, "8130000"),
        (2.0, 3, "2"),
        (0.0, 3, "0"),
        (None, 3, "-"),
        (float("nan"), 3, "-"),
    ],
)
def test_number_keeps_significant_digits_without_exponent(
    value: float | None, digits: int, text: str
) -> None:
    assert number(value, digits) == text


def test_a_template_directory_replaces_the_built_in_set(tmp_path: Path) -> None:
    (tmp_path / "system.md").write_text("Trade. Max $max_leverage x. Answer with $answer_tool.")
    (tmp_path / "user.md").write_text("$symbols")
    (tmp_path / "symbol.md").write_text("$symbol closes $close_series")
    templates = PromptTemplates.load(str(tmp_path))
    market = _market()
    closes = ",".join(number(v, 8) for v in market.arrays("BTCUSDT", SHORT).close[-10:].tolist())
    assert render_user_message(templates, _inputs(market, _account())).startswith(
        f"BTCUSDT closes {closes}\nETHUSDT closes "
    )
    system = render_system_prompt(
        templates, RiskConfig(max_leverage=3), short=SHORT, long=LONG, answer_tool="X"
    )
    assert system == "Trade. Max 3 x. Answer with X."


def test_unknown_placeholder_is_a_config_error_at_load(tmp_path: Path) -> None:
    for name in ("system.md", "user.md"):
        (tmp_path / name).write_text("ok")
    (tmp_path / "symbol.md").write_text("$symbol $sharpe_ratio")
    with pytest.raises(ConfigError, match="sharpe_ratio") as caught:
        PromptTemplates.load(str(tmp_path))
    assert caught.value.key == "agent.prompt"


def test_missing_template_set_or_file_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="no prompt template set 'nonexistent'"):
        PromptTemplates.load("nonexistent")
    (tmp_path / "system.md").write_text("ok")
    with pytest.raises(ConfigError, match=r"has no user\.md"):
        PromptTemplates.load(str(tmp_path))


def test_prompt_hash_changes_with_either_part() -> None:
    base = prompt_hash("rules", "market")
    assert len(base) == 64
    assert base == prompt_hash("rules", "market")
    assert base != prompt_hash("rules!", "market")
    assert base != prompt_hash("rules", "market!")
    assert base != prompt_hash("rulesm", "arket")


def test_open_interest_average_covers_the_readings_seen_so_far() -> None:
    market = _market(("BTCUSDT",))
    averages = OpenInterestAverages(window=2)
    first = market.open_interest("BTCUSDT")
    assert first is not None
    assert averages.observe(market, ["BTCUSDT"]) == {"BTCUSDT": first.open_interest}
    market.tick(NOW + 3_600_000)
    second = market.open_interest("BTCUSDT")
    assert second is not None
    assert averages.observe(market, ["BTCUSDT"]) == {
        "BTCUSDT": pytest.approx((first.open_interest + second.open_interest) / 2)
    }
