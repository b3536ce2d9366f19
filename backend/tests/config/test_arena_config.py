"""The `agents` list: each agent's config is the shared sections with its own keys laid over."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from alphatransformer.config import AppConfig, ConfigError, Environment, load_config
from alphatransformer.config.schema import SINGLE_AGENT

LIVE_KEYS = "binance: {api_key: k, api_secret: s}\nmarket: {source: binance}\n"


def load(tmp_path: Path, text: str) -> AppConfig:
    path = tmp_path / "agent.yaml"
    path.write_text(text, encoding="utf-8")
    return load_config(path, env={}, dotenv_path=None)


def test_without_agents_the_agent_section_is_an_arena_of_one() -> None:
    [spec] = AppConfig().arena()

    assert (spec.name, spec.run_id) == (SINGLE_AGENT, "live")
    assert spec.config.agent == AppConfig().agent


def test_an_agent_overlays_only_the_keys_it_sets(tmp_path: Path) -> None:
    config = load(
        tmp_path,
        """
agent: {rules: {ema_fast: 10, ema_slow: 40}}
trading: {risk: {max_leverage: 7, min_confidence: 0.6}}
agents:
  - name: fast
    rules: {style: mean_reversion}
    risk: {min_confidence: 0.7}
    starting_balance: 2500
  - name: plain
""",
    )
    fast, plain = config.arena()

    assert (fast.run_id, plain.run_id) == ("live-fast", "live-plain")
    rules = fast.config.agent.rules
    assert (rules.style, rules.ema_fast, rules.ema_slow) == ("mean_reversion", 10, 40)
    risk = fast.config.trading.risk
    assert (risk.max_leverage, risk.min_confidence) == (7, 0.7)
    assert fast.config.trading.paper.starting_balance == Decimal(2500)
    assert plain.config.trading.risk.min_confidence == 0.6
    assert plain.config.trading.paper.starting_balance == Decimal(10000)
    assert fast.config.agents is None


def test_buy_and_hold_gets_a_gate_that_lets_it_hold_every_symbol(tmp_path: Path) -> None:
    config = load(tmp_path, "agents: [{name: hodl, provider: buy_and_hold}]\n")
    [spec] = config.arena()

    risk = spec.config.trading.risk
    assert (risk.require_stop_loss, risk.max_open_positions) == (False, 3)


@pytest.mark.parametrize(
    ("agents", "message"),
    [
        ("[{name: a}, {name: a}]", "agent names must not repeat: a"),
        ("[]", "at least one agent"),
        ("[{name: Bad Name}]", "agents.0.name"),
        ("[{name: a, unknown: 1}]", "agents.0.unknown"),
        ("[{name: gpt, provider: openai}]", "needs agent.llm.api_key"),
    ],
)
def test_a_bad_arena_is_a_config_error(tmp_path: Path, agents: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        load(tmp_path, f"agents: {agents}\n")


def test_with_real_orders_two_agents_on_one_account_are_refused(tmp_path: Path) -> None:
    same = "{api_key: k1, api_secret: s1}"
    text = f"environment: testnet\n{LIVE_KEYS}agents:\n"
    text += f"  - {{name: a, binance: {same}}}\n  - {{name: b, binance: {same}}}\n"

    with pytest.raises(ConfigError, match="'a' and 'b' use the same Binance account") as error:
        load(tmp_path, text)
    assert "s1" not in str(error.value)


def test_with_real_orders_every_agent_of_an_arena_needs_its_own_keys(tmp_path: Path) -> None:
    text = f"environment: testnet\n{LIVE_KEYS}agents:\n  - {{name: a}}\n  - {{name: b}}\n"

    with pytest.raises(ConfigError, match=r"agent 'a'.*its own binance\.api_key"):
        load(tmp_path, text)


def test_agents_with_their_own_sub_accounts_trade_on_testnet(tmp_path: Path) -> None:
    text = f"environment: testnet\n{LIVE_KEYS}agents:\n"
    text += "  - {name: a, binance: {api_key: k1, api_secret: s1}}\n"
    text += "  - {name: b, binance: {api_key: k2, api_secret: s2}}\n"
    config = load(tmp_path, text)

    assert config.environment is Environment.TESTNET
    keys = [spec.config.binance.api_key.get_secret_value() for spec in config.arena()]
    assert keys == ["k1", "k2"]
    assert {"s1", "s2", "k1", "k2"} <= set(config.secrets())
