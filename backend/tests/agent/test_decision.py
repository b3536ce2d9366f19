"""The decision model's invariants: the HOLD built for bad output can always be built, and a
number is a number, not a boolean read as 1."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from alphatransformer.agent.decision import MAX_REASONING_CHARS, Action, TradeDecision, close, hold

OPEN: dict[str, Any] = {
    "symbol": "BTCUSDT",
    "action": "open_long",
    "quantity": 0.01,
    "leverage": 3,
    "stop_loss": 93000.0,
    "confidence": 0.7,
}


@pytest.mark.parametrize(
    "length", [0, 1, MAX_REASONING_CHARS - 1, MAX_REASONING_CHARS, 4001, 10**6]
)
def test_hold_never_raises_for_any_reasoning_length(length: int) -> None:
    reason = "r" * length

    decision = hold("BTCUSDT", reason)

    assert decision.action is Action.HOLD
    assert decision.confidence == 0
    assert len(decision.reasoning) == min(length, MAX_REASONING_CHARS)
    if length > MAX_REASONING_CHARS:
        assert decision.reasoning.endswith("…")
    else:
        assert decision.reasoning == reason


def test_close_never_raises_for_any_reason_length() -> None:
    assert len(close("BTCUSDT", "c" * 10_000).reasoning) == MAX_REASONING_CHARS


@pytest.mark.parametrize(
    "field", ["quantity", "notional_usd", "leverage", "stop_loss", "take_profit", "confidence"]
)
@pytest.mark.parametrize("flag", [True, False])
def test_a_boolean_is_never_read_as_a_number(field: str, flag: bool) -> None:
    with pytest.raises(ValidationError, match=f"{field}\n.*a boolean is not a number"):
        TradeDecision.model_validate({**OPEN, field: flag})


def test_a_boolean_risk_usd_is_refused_too() -> None:
    with pytest.raises(ValidationError, match="a boolean is not a number"):
        TradeDecision.model_validate({**OPEN, "risk_usd": True})


def test_numbers_written_as_strings_are_read_as_the_same_numbers() -> None:
    quoted = {
        **OPEN,
        "quantity": "0.01",
        "leverage": "3",
        "stop_loss": "93000",
        "confidence": "0.7",
    }

    assert TradeDecision.model_validate(quoted) == TradeDecision.model_validate(OPEN)


@pytest.mark.parametrize("text", ["NaN", "inf", "-Infinity", "lots", ""])
def test_a_string_that_is_not_a_finite_number_is_refused(text: str) -> None:
    with pytest.raises(ValidationError, match="quantity"):
        TradeDecision.model_validate({**OPEN, "quantity": text})


def test_a_fractional_leverage_is_refused_not_rounded() -> None:
    with pytest.raises(ValidationError, match="leverage"):
        TradeDecision.model_validate({**OPEN, "leverage": 2.5})
