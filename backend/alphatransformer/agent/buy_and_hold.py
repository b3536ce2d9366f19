"""Buy-and-hold, the baseline every arena is measured against: what holding the market earned.

It is a `DecisionMaker` like any model, so its orders go through the same risk gate, order
manager and paper exchange, and pay the same fees and slippage; `RiskConfig.for_buy_and_hold`
loosens its gate just enough to hold every symbol without stops.
"""

from __future__ import annotations

from decimal import Decimal

from alphatransformer.agent.answer import ModelAnswer
from alphatransformer.agent.decision import Action, TradeDecision, hold
from alphatransformer.agent.decision_maker import DecisionRequest

BUY_AND_HOLD_MODEL_NAME = "buy-and-hold"

INVESTED_SHARE = Decimal("0.99")
"""Share of equity bought; the rest pays the entry fees and slippage, so no order is refused
for want of margin."""


class BuyAndHold:
    """Buys every symbol flat, in equal notional, at 1x, without stop or target, then holds.

    Only flat symbols are bought, so an entry the gate refused (stale data at the start, say)
    is simply tried again at the next cycle.
    """

    @property
    def model_name(self) -> str:
        return BUY_AND_HOLD_MODEL_NAME

    async def decide(self, request: DecisionRequest) -> ModelAnswer:
        account = request.account
        notional = account.equity * INVESTED_SHARE / len(request.symbols)
        decisions = [
            hold(symbol, "buy-and-hold: holding the position")
            if account.position(symbol) is not None
            else TradeDecision(
                symbol=symbol,
                action=Action.OPEN_LONG,
                notional_usd=float(notional),
                leverage=1,
                confidence=1.0,
                reasoning="buy-and-hold: buying an equal share of the market",
            )
            for symbol in request.symbols
        ]
        return ModelAnswer(decisions=decisions, model=BUY_AND_HOLD_MODEL_NAME)
