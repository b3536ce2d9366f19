"""A model's decision for one symbol, validated as untrusted input.

Field names follow the Alpha Arena answer (see shared/reference): the model proposes, the risk
gate disposes. Schema checks live here; checks that need the market or the account (stop on the
right side, size against equity) belong to the risk gate.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, FiniteFloat, model_validator

Positive = Annotated[FiniteFloat, Field(gt=0)]


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
    leverage: int | None = Field(default=None, ge=1, le=125)
    stop_loss: Positive | None = None
    take_profit: Positive | None = None
    invalidation_condition: str | None = Field(default=None, max_length=500)
    confidence: FiniteFloat = Field(ge=0, le=1)
    risk_usd: Annotated[FiniteFloat, Field(ge=0)] | None = None
    reasoning: str = Field(default="", max_length=4000)

    @model_validator(mode="after")
    def _opening_needs_a_size(self) -> TradeDecision:
        if self.action.opens and self.quantity is None and self.notional_usd is None:
            raise ValueError(f"{self.action.value} needs quantity or notional_usd")
        return self


def hold(symbol: str, reason: str) -> TradeDecision:
    """The safe decision for a symbol the model could not decide on (error, bad output...)."""
    return TradeDecision(symbol=symbol, action=Action.HOLD, confidence=0.0, reasoning=reason)
