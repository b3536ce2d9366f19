"""What one analyze step returns, and how it is made whole: exactly one decision per symbol."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from alphatransformer.agent.decision import TradeDecision, hold


@dataclass(frozen=True, slots=True)
class ModelAnswer:
    """The decisions of one cycle plus what producing them cost, for audit and the leaderboard."""

    decisions: list[TradeDecision]
    model: str
    input_tokens: int = 0
    output_tokens: int = 0
    latency_ms: float = 0.0
    cost_usd: Decimal = Decimal(0)
    prompt_hash: str | None = None
    error: str | None = None
    # What was wrong but did not stop the answer (one symbol's invalid decision, a usage block
    # that was not token counts); stored with the cycle, after the error if there is one.
    notes: list[str] = field(default_factory=list)
    # The whole exchange with the model (system prompt, messages, tool calls and results), as
    # JSON-able dicts (`{"type": ..., "data": ...}`, what `messages_from_dict` reads back).
    transcript: list[dict[str, Any]] | None = None


def complete_answer(answer: ModelAnswer, symbols: tuple[str, ...]) -> list[TradeDecision]:
    """One decision per configured symbol, in config order, then any the model invented.

    A symbol the model skipped becomes a HOLD saying so; a repeated symbol keeps its first
    decision; a symbol outside the config is kept (the risk gate rejects it, and the row shows
    what the model tried).
    """
    first: dict[str, TradeDecision] = {}
    for decision in answer.decisions:
        first.setdefault(decision.symbol, decision)
    reason = answer.error or "the model gave no decision for this symbol"
    completed = [first.get(symbol) or hold(symbol, reason) for symbol in symbols]
    extras = [d for s, d in first.items() if s not in symbols]
    return completed + extras
