"""The built-in rules model as a `DecisionMaker`: offline, deterministic, free."""

from __future__ import annotations

import time

from alphatransformer.agent.answer import ModelAnswer
from alphatransformer.agent.decision_maker import DecisionRequest
from alphatransformer.agent.rules_strategy import decide
from alphatransformer.config.schema import RulesModelConfig
from alphatransformer.market.types import Interval

RULES_MODEL_NAME = "rules-v1"


class RulesDecisionMaker:
    def __init__(self, config: RulesModelConfig, short: Interval, long: Interval) -> None:
        self._config = config
        self._short = short
        self._long = long

    @property
    def model_name(self) -> str:
        return RULES_MODEL_NAME

    async def decide(self, request: DecisionRequest) -> ModelAnswer:
        started = time.perf_counter()
        market, account = request.market, request.account
        decisions = [
            decide(
                symbol,
                short=market.arrays(symbol, self._short),
                long=market.arrays(symbol, self._long),
                price=market.latest_price(symbol),
                position=account.position(symbol),
                equity=account.equity,
                config=self._config,
            )
            for symbol in request.symbols
        ]
        latency_ms = (time.perf_counter() - started) * 1000
        return ModelAnswer(decisions=decisions, model=RULES_MODEL_NAME, latency_ms=latency_ms)
