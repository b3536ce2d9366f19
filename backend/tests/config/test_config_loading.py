"""Config loading: substitution, defaults, and a clear error for every kind of mistake."""

from __future__ import annotations

from pathlib import Path

import pytest

from alphatransformer.config import AppConfig, ConfigError, Environment, load_config
from alphatransformer.config.display import REDACTED, redacted_config, redacted_yaml

REPO = Path(__file__).resolve().parents[3]
SHIPPED = REPO / "config" / "agent.yaml"


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "agent.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def load(path: Path, **env: str) -> AppConfig:
    return load_config(path, env=env, dotenv_path=None)


def test_shipped_file_holds_exactly_the_built_in_defaults() -> None:
    assert load(SHIPPED) == AppConfig()


def test_defaults_run_offline_on_paper() -> None:
    config = AppConfig()
    assert config.environment is Environment.PAPER
    assert config.is_simulated_market
    assert config.agent.provider == "rules"
    assert config.api.host == "127.0.0.1"


def test_variable_is_substituted_from_the_environment(tmp_path: Path) -> None:
    path = write(tmp_path, "agent:\n  cycle_seconds: ${CYCLE}\n")
    assert load(path, CYCLE="7.5").agent.cycle_seconds == 7.5


def test_default_is_used_when_variable_is_unset_or_empty(tmp_path: Path) -> None:
    path = write(tmp_path, "api:\n  port: ${PORT:-8123}\n")
    assert load(path).api.port == 8123
    assert load(path, PORT="").api.port == 8123
    assert load(path, PORT="9000").api.port == 9000


def test_substitution_inside_a_longer_string_and_a_literal_dollar(tmp_path: Path) -> None:
    path = write(tmp_path, "agent:\n  llm:\n    model: ${VENDOR}/m-$${X}\n")
    assert load(path, VENDOR="acme").agent.llm.model == "acme/m-${X}"


def test_dotenv_file_is_read_and_the_environment_wins(tmp_path: Path) -> None:
    path = write(tmp_path, "agent:\n  llm:\n    model: ${MODEL}\n    base_url: ${URL}\n")
    dotenv = tmp_path / ".env"
    dotenv.write_text("MODEL=from-dotenv\nURL=http://127.0.0.1:1234/v1\n", encoding="utf-8")
    config = load_config(path, env={"MODEL": "from-env"}, dotenv_path=dotenv)
    assert config.agent.llm.model == "from-env"
    assert config.agent.llm.base_url == "http://127.0.0.1:1234/v1"


def test_missing_variable_names_the_file_the_key_and_the_variable(tmp_path: Path) -> None:
    path = write(tmp_path, "binance:\n  api_key: ${MISSING_KEY}\n")
    with pytest.raises(ConfigError) as caught:
        load(path)
    message = str(caught.value)
    assert str(path) in message
    assert "binance.api_key" in message
    assert "MISSING_KEY" in message


def test_malformed_reference_is_an_error(tmp_path: Path) -> None:
    path = write(tmp_path, "agent:\n  llm:\n    model: ${unclosed\n")
    with pytest.raises(ConfigError, match=r"agent\.llm\.model.*malformed"):
        load(path)


def test_unknown_key_is_refused_and_named(tmp_path: Path) -> None:
    path = write(tmp_path, "trading:\n  risk:\n    max_levrage: 5\n")
    with pytest.raises(ConfigError) as caught:
        load(path)
    assert caught.value.key == "trading.risk.max_levrage"
    assert "unknown key" in str(caught.value)


def test_wrong_type_names_the_key_and_the_value(tmp_path: Path) -> None:
    path = write(tmp_path, "trading:\n  risk:\n    max_leverage: ten\n")
    with pytest.raises(ConfigError) as caught:
        load(path)
    assert caught.value.key == "trading.risk.max_leverage"
    assert "'ten'" in str(caught.value)


def test_out_of_range_value_is_refused(tmp_path: Path) -> None:
    path = write(tmp_path, "trading:\n  risk:\n    max_leverage: 500\n")
    with pytest.raises(ConfigError, match=r"max_leverage.*less than or equal to 125"):
        load(path)


def test_several_problems_are_reported_together(tmp_path: Path) -> None:
    path = write(tmp_path, "api:\n  port: 0\n  hots: x\n")
    with pytest.raises(ConfigError, match=r"2 problems: api\.port: .*; api\.hots: unknown key"):
        load(path)


def test_yaml_syntax_error_gives_the_line(tmp_path: Path) -> None:
    path = write(tmp_path, "agent:\n  cycle_seconds: 5\n bad indent: [\n")
    with pytest.raises(ConfigError, match=r"invalid YAML at line 3"):
        load(path)


def test_top_level_must_be_a_mapping(tmp_path: Path) -> None:
    path = write(tmp_path, "- just\n- a list\n")
    with pytest.raises(ConfigError, match="top level must be a mapping"):
        load(path)


def test_missing_file_is_named(tmp_path: Path) -> None:
    path = tmp_path / "nowhere.yaml"
    with pytest.raises(ConfigError, match=r"nowhere\.yaml: file not found"):
        load(path)


def test_unreadable_file_is_a_config_error(tmp_path: Path) -> None:
    path = tmp_path / "agent.yaml"
    path.write_bytes(b"\xff\xfe\x00 not utf-8")
    with pytest.raises(ConfigError, match="cannot read the file"):
        load(path)


def test_empty_file_means_defaults(tmp_path: Path) -> None:
    assert load(write(tmp_path, "")) == AppConfig()


def test_production_without_keys_refuses_to_start(tmp_path: Path) -> None:
    path = write(tmp_path, "environment: production\n")
    with pytest.raises(ConfigError, match=r"production.*binance\.api_key"):
        load(path)


def test_real_orders_need_a_live_market(tmp_path: Path) -> None:
    path = write(tmp_path, "environment: testnet\nbinance:\n  api_key: k\n  api_secret: s\n")
    with pytest.raises(ConfigError, match="needs a live market source"):
        load(path)


def test_testnet_needs_keys_and_a_live_market(tmp_path: Path) -> None:
    path = write(tmp_path, "environment: testnet\nmarket:\n  source: binance\n")
    with pytest.raises(ConfigError, match=r"testnet.*binance\.api_key"):
        load(path)
    keyed = write(
        tmp_path,
        "environment: testnet\nmarket:\n  source: binance\n"
        "binance:\n  api_key: ${K}\n  api_secret: ${S}\n",
    )
    config = load(keyed, K="test-key", S="test-secret")
    assert config.environment is Environment.TESTNET
    assert config.binance.has_keys


def test_simulated_market_needs_start_prices_for_every_symbol(tmp_path: Path) -> None:
    path = write(tmp_path, "symbols: [BTCUSDT, PEPEUSDT]\n")
    with pytest.raises(ConfigError, match="start_prices for PEPEUSDT"):
        load(path)


def test_symbols_must_be_usdt_perpetual_names(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"symbols\.0"):
        load(write(tmp_path, "symbols: [btc-usd]\n"))


def test_openai_provider_needs_a_key_or_a_local_url(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"agent\.llm\.api_key"):
        load(write(tmp_path, "agent:\n  provider: openai\n"))
    local = load(
        write(
            tmp_path,
            "agent:\n  provider: openai\n  llm:\n    base_url: http://127.0.0.1:11434/v1\n",
        )
    )
    assert local.agent.llm.base_url == "http://127.0.0.1:11434/v1"


def test_config_is_frozen() -> None:
    config = AppConfig()
    with pytest.raises(ValueError, match="frozen"):
        config.api.port = 1  # type: ignore[misc]


def test_secrets_are_redacted_for_display(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "binance:\n  api_key: ${K}\n  api_secret: ${S}\n"
        "database:\n  url: postgresql+asyncpg://bot:hunter2pass@127.0.0.1/db\n",
    )
    config = load(path, K="binance-key-0123456789", S="binance-secret-0123456789")
    shown = redacted_yaml(config)
    assert "binance-key-0123456789" not in shown
    assert "binance-secret-0123456789" not in shown
    assert "hunter2pass" not in shown
    data = redacted_config(config)
    assert data["binance"]["api_key"] == REDACTED
    assert data["agent"]["llm"]["api_key"] == ""
    assert config.binance.api_key.get_secret_value() == "binance-key-0123456789"
    assert "binance-key-0123456789" not in repr(config)


def test_a_secret_of_the_wrong_type_is_not_echoed(tmp_path: Path) -> None:
    path = write(tmp_path, "binance:\n  api_secret: [s3cr3t-value-123]\n")
    with pytest.raises(ConfigError) as caught:
        load(path)
    assert "binance.api_secret" in str(caught.value)
    assert "s3cr3t-value-123" not in str(caught.value)


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("not a url", "not a database URL"),
        ("nosuchdb://host/db", "unknown database backend"),
        ("sqlite:///data/x.db", "the driver 'pysqlite' is not async"),
    ],
    ids=["unparseable", "unknown-backend", "sync-driver"],
)
def test_a_database_url_that_cannot_be_opened_is_a_config_error_naming_the_key(
    tmp_path: Path, url: str, reason: str
) -> None:
    path = write(tmp_path, f"database:\n  url: '{url}'\n")
    with pytest.raises(ConfigError) as caught:
        load(path)
    assert caught.value.key == "database.url"
    assert caught.value.path == path
    assert reason in str(caught.value)
