"""The built-in rules model as a LangChain chat model, so the offline default runs the same agent
graph as an LLM: same prompt, same tools, same structured final answer, same validation.

It answers in one turn: a call of the final-answer tool with `rules_strategy.decide` for every
symbol of the cycle (a look at a tool first would cost a backtest a graph round per cycle and
tell the rules nothing they do not read directly). It reads the running cycle's market and
account (`current_cycle`), needs no network, and reports zero tokens, so the cost it records is
zero.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from langchain_core.callbacks import AsyncCallbackManagerForLLMRun, CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel, LanguageModelInput
from langchain_core.messages import AIMessage, BaseMessage, ToolCall
from langchain_core.messages.ai import UsageMetadata
from langchain_core.outputs import ChatGeneration, ChatResult
from langchain_core.runnables import Runnable
from langchain_core.tools import BaseTool
from langchain_core.utils.function_calling import convert_to_openai_tool

from alphatransformer.agent.decision import TradeDecision
from alphatransformer.agent.llm_agent import ANSWER_TOOL
from alphatransformer.agent.rules_strategy import decide
from alphatransformer.agent.tools import current_cycle
from alphatransformer.config.schema import RulesModelConfig

_NO_TOKENS = UsageMetadata(input_tokens=0, output_tokens=0, total_tokens=0)


RULES_MODEL_NAME = "rules-v1"
"""The model name recorded for the built-in rules model (its trend style)."""


def rules_model_name(rules: RulesModelConfig) -> str:
    """`rules-v1` for the trend style, `rules-v1-mean_reversion` for the other, so the records
    and the leaderboard tell the two apart."""
    return RULES_MODEL_NAME if rules.style == "trend" else f"{RULES_MODEL_NAME}-{rules.style}"


class RulesChatModel(BaseChatModel):
    """A deterministic chat model answering with the rules strategy's decisions.

    `min_confidence` is the risk gate's: entries below it are held, not proposed.
    """

    rules: RulesModelConfig
    min_confidence: float = 0.0

    @property
    def _llm_type(self) -> str:
        return "alphatransformer-rules"

    def bind_tools(
        self,
        tools: Sequence[dict[str, Any] | type | Any | BaseTool],
        *,
        tool_choice: str | None = None,
        **kwargs: Any,
    ) -> Runnable[LanguageModelInput, AIMessage]:
        """Remember the tool names offered; the rules model always answers with a tool call,
        so `tool_choice` changes nothing."""
        return self.bind(tool_names=[_tool_name(t) for t in tools], **kwargs)

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        call = self._next_call(messages, kwargs.get("tool_names", ()))
        message = AIMessage(content="", tool_calls=[call], usage_metadata=_NO_TOKENS)
        return ChatResult(generations=[ChatGeneration(message=message)])

    async def _agenerate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        # On the event loop, not in the default worker thread: the market is read while its
        # feed may be writing, and both must happen on the loop.
        return self._generate(messages, stop, **kwargs)

    def _next_call(self, messages: Sequence[BaseMessage], tool_names: Sequence[str]) -> ToolCall:
        if ANSWER_TOOL not in tool_names:
            raise ValueError(f"the rules model answers through the {ANSWER_TOOL} tool: bind it")
        decisions = [d.model_dump(mode="json", exclude_none=True) for d in self._decisions()]
        turn = f"rules-{len(messages)}"
        return ToolCall(name=ANSWER_TOOL, args={"decisions": decisions}, id=turn)

    def _decisions(self) -> list[TradeDecision]:
        """The rules strategy's decision for every symbol of the cycle."""
        context = current_cycle()
        market, account = context.market, context.account
        return [
            decide(
                symbol,
                short=market.arrays(symbol, context.short),
                long=market.arrays(symbol, context.long),
                price=market.latest_price(symbol),
                position=account.position(symbol),
                equity=account.equity,
                config=self.rules,
                min_confidence=self.min_confidence,
            )
            for symbol in context.symbols
        ]


def _tool_name(tool: dict[str, Any] | type | Any | BaseTool) -> str:
    """The name a bound tool is called by; cheap for `BaseTool`s, which is what the agent binds
    on every model call."""
    if isinstance(tool, BaseTool):
        return tool.name
    return str(convert_to_openai_tool(tool)["function"]["name"])
