"""The analyze step's contract: given the market and the account, propose one decision per symbol.

The rules model, an LLM agent and a scripted test model all implement it, so the workflow, the
risk gate and the order manager never know which one runs.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from alphatransformer.agent.answer import ModelAnswer
from alphatransformer.market.market_data import MarketData
from alphatransformer.trading.models import Account


@dataclass(frozen=True, slots=True)
class DecisionRequest:
    cycle_id: str
    now_ms: int
    symbols: tuple[str, ...]
    market: MarketData
    account: Account


class DecisionMaker(Protocol):
    @property
    def model_name(self) -> str: ...

    async def decide(self, request: DecisionRequest) -> ModelAnswer:
        """Propose decisions. May raise: the workflow turns any error into recorded HOLDs."""
        ...
