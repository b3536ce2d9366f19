"""A model's decision for one symbol, validated as untrusted input.

Field names follow the Alpha Arena answer (see shared/reference): the model proposes, the risk
gate disposes. Schema checks live here; checks that need the market or the account (stop on the
right side, size against equity, numbers too large for any order) belong to the risk gate.

Types are strict where a loose reading would change the meaning: a boolean is not a number
(`"leverage": true` is refused, not read as 1x). Numbers written as JSON strings (`"0.7"`,
`"93000"`) are still accepted, as they always were: models quote numbers often, and the text
names the same number, so refusing it would only turn sound decisions into HOLDs.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, FiniteFloat, model_validator

MAX_REASONING_CHARS = 4000
TRUNCATED = "…"


def _not_a_boolean(value: object) -> object:
    """Refuse `true`/`false` where a number belongs: pydantic would read them as 1 and 0."""
    if isinstance(value, bool):
        raise ValueError("a boolean is not a number")
    return value


NotBoolean = BeforeValidator(_not_a_boolean)
Number = Annotated[FiniteFloat, NotBoolean]
Positive = Annotated[Number, Field(gt=0)]


class Action(StrEnum):
    OPEN_LONG = "open_long"
    OPEN_SHORT = "open_short"
    CLOSE = "close"
    HOLD = "hold"

    @property
    def opens(self) -> bool:
        return self in (Action.OPEN_LONG, Action.OPEN_SHORT)


class TradeDecision(BaseModel):
    """What the model wants done with one symbol this cycle."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    symbol: str = Field(min_length=1, max_length=20)
    action: Action
    quantity: Positive | None = Field(
        default=None, description="Size in the base asset (e.g. BTC); or give notional_usd."
    )
    notional_usd: Positive | None = Field(
        default=None, description="Size as USDT notional, used when quantity is not given."
    )
    leverage: Annotated[int, NotBoolean] | None = Field(default=None, ge=1, le=125)
    stop_loss: Positive | None = None
    take_profit: Positive | None = None
    invalidation_condition: str | None = Field(default=None, max_length=500)
    confidence: Number = Field(ge=0, le=1)
    risk_usd: Annotated[Number, Field(ge=0)] | None = None
    reasoning: str = Field(default="", max_length=MAX_REASONING_CHARS)

    @model_validator(mode="after")
    def _opening_needs_a_size(self) -> TradeDecision:
        if self.action.opens and self.quantity is None and self.notional_usd is None:
            raise ValueError(f"{self.action.value} needs quantity or notional_usd")
        return self


def hold(symbol: str, reason: str) -> TradeDecision:
    """The safe decision for a symbol the model could not decide on (error, bad output...).

    It must never fail, whatever the reason quotes (a rejected 5,000-character reasoning, say):
    a reason longer than a decision may hold is cut, and marked as cut, so one symbol's bad
    output is that symbol's HOLD instead of an exception that holds every symbol.
    """
    return TradeDecision(
        symbol=symbol, action=Action.HOLD, confidence=0.0, reasoning=_fitting(reason)
    )


def close(symbol: str, reason: str) -> TradeDecision:
    """A close the code decided on (the operator, the daily loss limit), saying why; like
    `hold`, it never fails on a long reason."""
    return TradeDecision(
        symbol=symbol, action=Action.CLOSE, confidence=1.0, reasoning=_fitting(reason)
    )


def _fitting(reason: str) -> str:
    """`reason` cut to what a decision may hold, marked as cut."""
    if len(reason) <= MAX_REASONING_CHARS:
        return reason
    return reason[: MAX_REASONING_CHARS - len(TRUNCATED)] + TRUNCATED
