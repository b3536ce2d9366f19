"""Operator actions as decisions: closing everything from the API goes through the same
save -> execute path as the model's decisions, so it is recorded and risk-checked alike."""

from __future__ import annotations

from alphatransformer.agent.answer import ModelAnswer
from alphatransformer.agent.decision import close, hold
from alphatransformer.agent.decision_maker import DecisionRequest

OPERATOR_MODEL_NAME = "operator"


class CloseAllPositions:
    """A `DecisionMaker` that closes every open position, with the operator's reason."""

    def __init__(self, reason: str) -> None:
        self._reason = reason

    @property
    def model_name(self) -> str:
        return OPERATOR_MODEL_NAME

    async def decide(self, request: DecisionRequest) -> ModelAnswer:
        held = {position.symbol for position in request.account.positions}
        decisions = [
            close(symbol, f"closed by the operator: {self._reason}")
            if symbol in held
            else hold(symbol, f"operator ({self._reason}): no position to close")
            for symbol in (*request.symbols, *sorted(held - set(request.symbols)))
        ]
        return ModelAnswer(decisions=decisions, model=OPERATOR_MODEL_NAME)
