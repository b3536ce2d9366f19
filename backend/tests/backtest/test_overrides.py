"""Backtest flags over the config file: validated like the file, refused with the key named."""

from __future__ import annotations

from decimal import Decimal

import pytest

from alphatransformer.backtest.overrides import with_overrides
from alphatransformer.config import AppConfig, ConfigError
from alphatransformer.market.types import Interval


def test_given_flags_replace_their_keys_and_the_rest_stays() -> None:
    config = AppConfig()

    changed = with_overrides(
        config,
        symbols=["ADAUSDT", "BTCUSDT"],
        sections={
            "market": {"short_interval": Interval.M5, "long_interval": None},
            "trading": {"paper": {"starting_balance": Decimal("2500"), "taker_fee": None}},
            "agent": {"llm": {"model": None}},
        },
    )

    # A replay may trade a symbol the simulated market has no start price for.
    assert changed.symbols == ("ADAUSDT", "BTCUSDT")
    assert changed.market.short_interval is Interval.M5
    assert changed.market.long_interval is config.market.long_interval
    assert changed.trading.paper.starting_balance == Decimal("2500")
    assert changed.trading.paper.taker_fee == config.trading.paper.taker_fee
    assert changed.trading.risk == config.trading.risk
    assert changed.agent == config.agent


@pytest.mark.parametrize(
    ("symbols", "sections", "key"),
    [
        (["btcusdt"], {}, "symbols"),
        (["BTCUSDT", "BTCUSDT"], {}, "symbols"),
        ([], {"market": {"short_interval": Interval.H4}}, "market"),
        ([], {"trading": {"paper": {"taker_fee": Decimal("0.5")}}}, "trading.paper.taker_fee"),
        ([], {"agent": {"provider": "openai"}}, "agent"),
    ],
    ids=["lowercase-symbol", "repeated-symbol", "short-not-shorter", "fee", "llm-without-key"],
)
def test_a_bad_flag_is_a_config_error_naming_the_key(
    symbols: list[str], sections: dict[str, dict[str, object]], key: str
) -> None:
    with pytest.raises(ConfigError) as caught:
        with_overrides(AppConfig(), symbols=symbols, sections=sections)

    assert caught.value.key == key
