"""The analyze step as a tool-calling agent: `create_agent` with a structured final answer.

One agent is compiled per decision maker over the tools and the chat model (an LLM behind any
OpenAI-compatible endpoint, or the offline rules model); each cycle runs it inside its own
`cycle_context`, hands it the rules and the compact market snapshot, and lets it call tools
until it calls `TradingDecisions`. Bounds: a model-call
limit per cycle (first answer, tool rounds and retries share it), a graph recursion limit, and
one retry when the final answer does not fit its schema.

The final answer is parsed in two steps, on purpose. Its schema (`ProposedDecision`) is loose:
any item with a symbol passes, and every other field takes any JSON value (shown to the model
as the type it should be), so one symbol's bad numbers or wrong types cannot sink the whole
answer. Each item is then validated strictly as a `TradeDecision`; an item that fails
(confidence 7, leverage 500, NaN, `"leverage": true`, an unknown action, a 5,000-character
reasoning) becomes that symbol's HOLD carrying the validation message, and the other symbols
keep their decisions.
A symbol outside the config is passed through: the risk gate rejects it, and the row shows what
the model tried. Whatever ends the cycle early (a transport error, a timeout, a second schema
error, text instead of the answer) holds every symbol with the reason, and the tokens spent and
the transcript so far are still recorded.

The usage block of each reply is untrusted too: a count that is not a whole number from 0 to
`MAX_TOKENS_PER_CALL` (a string, NaN, a negative, 10^20) is counted as 0 or clamped, and the
answer carries a note saying so; the decisions stand either way.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from contextlib import aclosing
from contextvars import ContextVar
from dataclasses import dataclass
from decimal import Decimal
from typing import Annotated, Any

from langchain.agents import create_agent
from langchain.agents.structured_output import StructuredOutputError, ToolStrategy
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, AnyMessage, HumanMessage, SystemMessage
from pydantic import BaseModel, ConfigDict, Field, JsonValue, ValidationError, WithJsonSchema

from alphatransformer.agent.answer import ModelAnswer
from alphatransformer.agent.decision import Action, TradeDecision, hold
from alphatransformer.agent.decision_maker import DecisionRequest
from alphatransformer.agent.prompt import (
    ExitPlan,
    OpenInterestAverages,
    PromptInputs,
    PromptTemplates,
    prompt_hash,
    render_user_message,
)
from alphatransformer.agent.tools import CycleContext, RecentDecisions, build_tools, cycle_context
from alphatransformer.database.models import DecisionStatus
from alphatransformer.database.repositories import DecisionFilter
from alphatransformer.market.types import Interval
from alphatransformer.trading.models import Position

logger = logging.getLogger(__name__)

SCHEMA_RETRIES = 1
# Graph steps per model call: the model, and a tool round; the call limit stops the run
# first, this only bounds a miswired graph.
STEPS_PER_MODEL_CALL = 2
EXCERPT_CHARS = 300
QUOTE_CHARS = 80  # of a rejected value, quoted in the reason of its symbol's HOLD
MAX_TOKENS_PER_CALL = 10_000_000
"""More tokens than any model reads or writes in one call: a larger count is clamped to it."""
_TOKENS_PER_MTOK = Decimal(1_000_000)
_EXIT_PLAN_LOOKBACK = 20  # executed decisions searched for the one that opened a position


_Number = Annotated[JsonValue, WithJsonSchema({"type": "number"})]
_Text = Annotated[JsonValue, WithJsonSchema({"type": "string"})]


class ProposedDecision(BaseModel):
    """One symbol's decision. Required: symbol, action, confidence; opens also need a size
    (quantity or notional_usd), leverage, stop_loss, take_profit and invalidation_condition."""

    # Only `symbol` is enforced here; the other fields are checked per symbol afterwards, so
    # the schema the model sees still lists them as required.
    model_config = ConfigDict(
        extra="ignore",
        json_schema_extra={"required": ["symbol", "action", "confidence", "reasoning"]},
    )

    symbol: str = Field(min_length=1, max_length=20, description="Exactly as given, e.g. BTCUSDT")
    # Each shown to the model as the type it should be, parsed as any JSON value (checked per
    # symbol by `TradeDecision`).
    action: Annotated[
        JsonValue, WithJsonSchema({"type": "string", "enum": [a.value for a in Action]})
    ] = None
    quantity: _Number = Field(default=None, description="Size in the base asset")
    notional_usd: _Number = Field(default=None, description="Size in USDT, if no quantity")
    leverage: Annotated[JsonValue, WithJsonSchema({"type": "integer"})] = None
    stop_loss: _Number = None
    take_profit: _Number = None
    invalidation_condition: _Text = None
    confidence: _Number = Field(default=None, description="0 to 1")
    risk_usd: _Number = Field(default=None, description="USD lost if the stop is hit")
    reasoning: _Text = Field(default=None, description="Why, in a few sentences")


class TradingDecisions(BaseModel):
    """Your final answer for this cycle: one decision per symbol, holds included. Call once."""

    decisions: list[ProposedDecision]


ANSWER_TOOL = TradingDecisions.__name__


@dataclass(frozen=True, slots=True)
class AgentSettings:
    """What stays the same from cycle to cycle: the model's name and prices, the prompts."""

    model_name: str
    system_prompt: str
    templates: PromptTemplates
    short: Interval
    long: Interval
    max_model_calls: int = 4
    input_price_per_mtok: Decimal = Decimal(0)
    output_price_per_mtok: Decimal = Decimal(0)
    initial_equity: Decimal | None = None

    @property
    def recursion_limit(self) -> int:
        return STEPS_PER_MODEL_CALL * (self.max_model_calls + 1)

    def cost(self, input_tokens: int, output_tokens: int) -> Decimal:
        return (
            input_tokens * self.input_price_per_mtok + output_tokens * self.output_price_per_mtok
        ) / _TOKENS_PER_MTOK


@dataclass(frozen=True, slots=True)
class _Run:
    """How one agent run ended: what was said, and the answer or why there is none."""

    messages: list[AnyMessage]
    answer: TradingDecisions | None
    error: str | None


class AgentDecisionMaker:
    """`DecisionMaker` over a LangChain agent; see the module docstring for the rules."""

    def __init__(
        self,
        model: BaseChatModel,
        settings: AgentSettings,
        recent_decisions: RecentDecisions | None = None,
    ) -> None:
        self._settings = settings
        self._recent_decisions = recent_decisions
        self._open_interest = OpenInterestAverages()
        self._plans: dict[_PositionKey, ExitPlan] = {}
        self._agent = create_agent(
            model,
            build_tools(with_recent_decisions=recent_decisions is not None),
            system_prompt=settings.system_prompt,
            response_format=ToolStrategy(TradingDecisions, handle_errors=_schema_retry),
        )

    @property
    def model_name(self) -> str:
        return self._settings.model_name

    async def decide(self, request: DecisionRequest) -> ModelAnswer:
        started = time.perf_counter()
        settings = self._settings
        context = CycleContext(
            symbols=request.symbols,
            market=request.market,
            account=request.account,
            short=settings.short,
            long=settings.long,
            recent_decisions=self._recent_decisions,
        )
        first_message = render_user_message(settings.templates, await self._inputs(request))
        with cycle_context(context):
            run = await _run_agent(self._agent, first_message, settings)
        decisions, notes = validate_decisions(run.answer.decisions if run.answer else [])
        input_tokens, output_tokens, usage_notes = _usage(run.messages)
        return ModelAnswer(
            decisions=decisions,
            model=settings.model_name,
            input_tokens=input_tokens,
            output_tokens=output_tokens,
            latency_ms=(time.perf_counter() - started) * 1000,
            cost_usd=settings.cost(input_tokens, output_tokens),
            prompt_hash=prompt_hash(settings.system_prompt, first_message),
            error=run.error,
            notes=notes + usage_notes,
            transcript=transcript([SystemMessage(settings.system_prompt), *run.messages]),
        )

    async def _inputs(self, request: DecisionRequest) -> PromptInputs:
        settings = self._settings
        return PromptInputs(
            now_ms=request.now_ms,
            symbols=request.symbols,
            market=request.market,
            account=request.account,
            short=settings.short,
            long=settings.long,
            exit_plans=await self._exit_plans(request.account.positions),
            initial_equity=settings.initial_equity,
            open_interest_averages=self._open_interest.observe(request.market, request.symbols),
        )

    async def _exit_plans(self, positions: Sequence[Position]) -> dict[str, ExitPlan]:
        """Stop, target and invalidation of the executed decision that opened each position.

        Positions are never added to, so the newest executed open on the position's side is
        the one that opened it, and a position with the same side, entry and size is the same
        position: its plan is looked up once, not every cycle.
        """
        if self._recent_decisions is None:
            return {}
        held = {_position_key(p): p for p in positions}
        self._plans = {key: plan for key, plan in self._plans.items() if key in held}
        for key, position in held.items():
            if key not in self._plans:
                plan = await self._opening_plan(position, self._recent_decisions)
                if plan is not None:
                    self._plans[key] = plan
        return {key[0]: plan for key, plan in self._plans.items()}

    async def _opening_plan(
        self, position: Position, recent_decisions: RecentDecisions
    ) -> ExitPlan | None:
        opening = Action.OPEN_LONG if position.is_long else Action.OPEN_SHORT
        rows = await recent_decisions(
            DecisionFilter(symbol=position.symbol, status=DecisionStatus.EXECUTED.value),
            _EXIT_PLAN_LOOKBACK,
        )
        row = next((r for r in rows if r.action == opening.value), None)
        if row is None:
            return None
        return ExitPlan(
            stop_loss=None if row.stop_loss is None else float(row.stop_loss),
            take_profit=None if row.take_profit is None else float(row.take_profit),
            invalidation_condition=row.invalidation_condition,
        )


_PositionKey = tuple[str, Decimal, Decimal]


def _position_key(position: Position) -> _PositionKey:
    """What tells one position from the next on the same symbol: signed size and entry."""
    return (position.symbol, position.quantity, position.entry_price)


class _RunBudget:
    """What one agent run may still spend on schema errors handed back to the model."""

    def __init__(self) -> None:
        self.schema_retries_left = SCHEMA_RETRIES


_BUDGET: ContextVar[_RunBudget] = ContextVar("agent_run_budget")


def _schema_retry(error: Exception) -> str:
    """`ToolStrategy`'s error handler: the first schema errors go back to the model to fix,
    the next one ends the cycle (raised, it reaches `_run_agent`)."""
    budget = _BUDGET.get()
    if budget.schema_retries_left <= 0:
        raise error
    budget.schema_retries_left -= 1
    return (
        f"Error: {error}\nCall {ANSWER_TOOL} again with a list `decisions` holding one "
        "object per symbol, each with at least symbol, action and confidence."
    )


async def _run_agent(agent: Any, first_message: str, settings: AgentSettings) -> _Run:
    """Run the agent to its end, keeping the latest state so a failure still shows its cost.

    The model call limit is enforced here, between graph steps: once `max_model_calls` calls
    are made and the run would go back to the model, it stops. (LangChain's call-limit
    middleware costs two more graph steps per call, and any `wrap_model_call` middleware two
    trips to a thread pool for LangSmith: a third of a backtest cycle's agent time.)
    """
    state: dict[str, Any] = {"messages": [HumanMessage(first_message)]}
    token = _BUDGET.set(_RunBudget())
    try:
        updates = agent.astream(
            state, config={"recursion_limit": settings.recursion_limit}, stream_mode="values"
        )
        async with aclosing(updates):  # stopping early closes the graph run at once
            async for update in updates:
                state = update
                calls = _model_calls(state["messages"])
                if calls >= settings.max_model_calls and _wants_the_model_again(state):
                    note = f"model call limit reached: {calls} of {settings.max_model_calls}"
                    return _Run(state["messages"], None, note)
    except StructuredOutputError as exc:
        return _Run(
            [*state["messages"], exc.ai_message],
            None,
            f"the final answer failed its schema again: {_excerpt(str(exc))}",
        )
    except Exception as exc:
        # Any failure of the model, its endpoint or the loop bounds is this cycle's HOLD.
        logger.warning("agent run failed: %s: %s", type(exc).__name__, exc)
        return _Run(state["messages"], None, f"{type(exc).__name__}: {_excerpt(str(exc))}")
    finally:
        _BUDGET.reset(token)
    answer = state.get("structured_response")
    if isinstance(answer, TradingDecisions):
        return _Run(state["messages"], answer, None)
    return _Run(state["messages"], None, _no_answer(state["messages"]))


def _model_calls(messages: Sequence[AnyMessage]) -> int:
    return sum(isinstance(m, AIMessage) for m in messages)


def _wants_the_model_again(state: dict[str, Any]) -> bool:
    """Whether the agent's next step leads back to the model: no final answer yet, and the
    last message is not the model's own word without tool calls (where the run ends)."""
    if state.get("structured_response") is not None:
        return False
    last = state["messages"][-1]
    return not (isinstance(last, AIMessage) and not last.tool_calls)


def _no_answer(messages: Sequence[AnyMessage]) -> str:
    """Why the run ended without an answer: text, an unparseable call, or the call limit."""
    last = next((m for m in reversed(messages) if isinstance(m, AIMessage)), None)
    if last is not None and last.invalid_tool_calls:
        call = last.invalid_tool_calls[0]
        return (
            f"the model's {call.get('name')} call had unreadable arguments "
            f"{_excerpt(call.get('args') or '')!r}"
        )
    said = "nothing" if last is None else repr(_excerpt(last.text))
    return f"the model ended without calling {ANSWER_TOOL}; its last words: {said}"


def validate_decisions(
    proposed: Sequence[ProposedDecision],
) -> tuple[list[TradeDecision], list[str]]:
    """Each proposal as a strict `TradeDecision`, or a HOLD saying why not; plus those reasons."""
    decisions: list[TradeDecision] = []
    notes: list[str] = []
    for item in proposed:
        fields = {k: v for k, v in item.model_dump(exclude_unset=True).items() if v is not None}
        try:
            decisions.append(TradeDecision.model_validate(fields))
        except ValidationError as exc:
            reason = f"invalid decision from the model, holding: {_validation_summary(exc)}"
            notes.append(f"{item.symbol}: {reason}")
            decisions.append(hold(item.symbol, reason))
    return decisions, notes


def _validation_summary(error: ValidationError) -> str:
    """What failed, field by field, quoting each bad value in short (it may be 5,000 chars)."""
    parts = []
    for problem in error.errors(include_url=False):
        where = ".".join(str(p) for p in problem["loc"])
        got = f" (got {_excerpt(repr(problem['input']), QUOTE_CHARS)})" if where else ""
        parts.append(f"{where + ': ' if where else ''}{problem['msg']}{got}")
    return "; ".join(parts)


def _usage(messages: Sequence[AnyMessage]) -> tuple[int, int, list[str]]:
    """Input and output tokens the provider reported, summed over every model call, and what
    was wrong with the counts: each is checked by `_token_count`, never trusted."""
    totals = {"input_tokens": 0, "output_tokens": 0}
    notes: list[str] = []
    calls = (m for m in messages if isinstance(m, AIMessage) and m.usage_metadata)
    for number, message in enumerate(calls, start=1):
        reported: dict[str, object] = dict(message.usage_metadata or {})
        for key in totals:
            count, problem = _token_count(reported.get(key))
            totals[key] += count
            if problem is not None:
                notes.append(f"usage of model call {number}: {key} {problem}")
    return totals["input_tokens"], totals["output_tokens"], notes


def _token_count(value: object) -> tuple[int, str | None]:
    """A reported token count as a whole number in [0, MAX_TOKENS_PER_CALL], and the problem
    if it had to be made one: a non-number counts 0, an out-of-range one is clamped."""
    shown = _excerpt(repr(value), QUOTE_CHARS)
    if value is None:
        return 0, None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int):
        return 0, f"{shown} is not a token count; counted as 0"
    if value < 0:
        return 0, f"{shown} is negative; counted as 0"
    if value > MAX_TOKENS_PER_CALL:
        return (
            MAX_TOKENS_PER_CALL,
            f"{shown} is more than any call; counted as {MAX_TOKENS_PER_CALL}",
        )
    return value, None


def transcript(messages: Sequence[AnyMessage]) -> list[dict[str, Any]]:
    """Messages as JSON-able dicts in `messages_to_dict`'s shape (NaN written as null).

    Kept as the provider sent them, a usage block of strings included: serializer warnings
    about such values are silenced, `_usage` reports them.
    """
    return [{"type": m.type, "data": m.model_dump(mode="json", warnings=False)} for m in messages]


def _excerpt(text: str, limit: int = EXCERPT_CHARS) -> str:
    """`text` on one line, cut to `limit`: a reason fits a log line and a table cell."""
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"
