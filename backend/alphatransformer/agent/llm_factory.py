"""Builds the agent's chat model and decision maker from the config: the one place that knows
which provider is which.

`openai` is any OpenAI-compatible chat-completions endpoint (OpenAI, DeepSeek, Qwen, OpenRouter,
Ollama, vLLM) through `ChatOpenAI`; `rules` is the built-in offline model. Both run the same
agent graph (`AgentDecisionMaker`), so prompts, tools and validation are tested offline.
"""

from __future__ import annotations

from decimal import Decimal

import httpx
from langchain_core.language_models import BaseChatModel
from langchain_openai import ChatOpenAI
from pydantic import SecretStr

from alphatransformer.agent.buy_and_hold import BuyAndHold
from alphatransformer.agent.decision_maker import DecisionMaker
from alphatransformer.agent.llm_agent import ANSWER_TOOL, AgentDecisionMaker, AgentSettings
from alphatransformer.agent.prompt import PromptTemplates, render_system_prompt
from alphatransformer.agent.rules_chat_model import RulesChatModel, rules_model_name
from alphatransformer.agent.tools import RecentDecisions
from alphatransformer.config.schema import AppConfig, Environment, LLMConfig

NO_KEY = SecretStr("no-key")


def build_decision_maker(
    config: AppConfig, recent_decisions: RecentDecisions | None = None
) -> DecisionMaker:
    """The analyze step's model for `config`; `recent_decisions` (e.g. `DecisionRepository.list`)
    feeds the `get_recent_decisions` tool and the exit plans shown next to open positions.
    Buy-and-hold needs no agent: it buys once and holds, without a prompt or tools."""
    if config.agent.provider == "buy_and_hold":
        return BuyAndHold()
    return AgentDecisionMaker(build_chat_model(config), agent_settings(config), recent_decisions)


def build_chat_model(config: AppConfig) -> BaseChatModel:
    """The agent's chat model: one `ChatOpenAI` client, or the rules model (which reads each
    cycle's market and account as it runs, and is told the gate's minimum confidence)."""
    agent = config.agent
    if agent.provider == "openai":
        return openai_chat_model(agent.llm)
    return RulesChatModel(rules=agent.rules, min_confidence=config.trading.risk.min_confidence)


def openai_chat_model(config: LLMConfig) -> ChatOpenAI:
    """`ChatOpenAI` on chat completions (what every compatible server speaks), not Responses.

    The timeout is an `httpx.Timeout` so the model gets HTTP clients of its own: langchain-openai
    shares clients process-wide for hashable timeouts, and a shared pool would outlive the event
    loop it was made on.
    """
    return ChatOpenAI(
        model=config.model,
        base_url=config.base_url,
        # A local server (Ollama, vLLM) takes no key, but the OpenAI client refuses to start
        # without one, and would otherwise read OPENAI_API_KEY behind the config's back.
        api_key=config.api_key if config.api_key.get_secret_value() else NO_KEY,
        temperature=config.temperature,
        timeout=httpx.Timeout(config.timeout_seconds),
        max_retries=config.max_retries,
        use_responses_api=False,
    )


def agent_settings(config: AppConfig) -> AgentSettings:
    """Prompts, limits and prices of the configured provider; the rules model costs nothing."""
    agent, market = config.agent, config.market
    templates = PromptTemplates.load(agent.prompt)
    llm = agent.provider == "openai"
    paper = config.environment is Environment.PAPER
    return AgentSettings(
        model_name=agent.llm.model if llm else rules_model_name(agent.rules),
        system_prompt=render_system_prompt(
            templates,
            config.trading.risk,
            short=market.short_interval,
            long=market.long_interval,
            answer_tool=ANSWER_TOOL,
        ),
        templates=templates,
        short=market.short_interval,
        long=market.long_interval,
        max_model_calls=agent.max_model_calls,
        input_price_per_mtok=agent.llm.input_price_per_mtok if llm else Decimal(0),
        output_price_per_mtok=agent.llm.output_price_per_mtok if llm else Decimal(0),
        # A paper account starts at the configured balance; elsewhere the start is unknown.
        initial_equity=config.trading.paper.starting_balance if paper else None,
    )
