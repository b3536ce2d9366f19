"""The execute step's contract: one pending decision in, its final status out."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from alphatransformer.agent.decision import TradeDecision
from alphatransformer.database.models import DecisionStatus


@dataclass(frozen=True, slots=True)
class DecisionOutcome:
    """`executed`, `rejected` (with the risk rule) or `failed` (with the error)."""

    status: DecisionStatus
    reason: str | None = None
    rule: str | None = None


class DecisionExecutor(Protocol):
    async def enforce(self, decisions: list[TradeDecision]) -> list[TradeDecision]:
        """The decisions as the risk rules leave them, before they are saved: the model's, or
        closes the rules impose (the daily loss limit with `daily_loss_action: flatten`)."""
        ...

    async def execute(self, decision: TradeDecision, decision_id: int) -> DecisionOutcome: ...
