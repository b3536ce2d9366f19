"""The model response cache: keyed by what the model is asked, so a rerun is answered from disk
with no call, and any change to the model, the messages or the tools asks the model again."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from fakes.openai_server import ErrorReply, FakeOpenAIServer, text_reply, tool_calls_reply
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, SystemMessage
from langchain_core.runnables import RunnableBinding
from langchain_core.tools import tool
from langchain_openai import ChatOpenAI
from openai import InternalServerError
from pydantic import SecretStr

from alphatransformer.agent.llm_factory import openai_chat_model
from alphatransformer.backtest.model_cache import (
    CachedChatModel,
    CacheStats,
    ModelCache,
    request_key,
)
from alphatransformer.config.schema import LLMConfig


@tool
def get_price(symbol: str) -> str:
    """The last price of `symbol`."""
    return "42"


@tool
def get_volume(symbol: str) -> str:
    """The last volume of `symbol`."""
    return "7"


def chat(base_url: str = "http://127.0.0.1:9/v1", **llm: Any) -> ChatOpenAI:
    settings = {"model": "fake-gpt", "api_key": SecretStr("sk-test"), "max_retries": 0, **llm}
    return openai_chat_model(LLMConfig(base_url=base_url, **settings))


def conversation(question: str = "Trade?", *, ids: bool = False) -> list[BaseMessage]:
    return [
        SystemMessage("You trade.", id="s-1" if ids else None),
        HumanMessage(question, id="h-1" if ids else None),
    ]


def key(model: ChatOpenAI, messages: list[BaseMessage], tools: list[Any] | None = None) -> str:
    bound = model.bind_tools(tools or [get_price], tool_choice="required")
    assert isinstance(bound, RunnableBinding)
    return request_key(model, messages, None, bound.kwargs)


@pytest.fixture
async def server() -> AsyncIterator[FakeOpenAIServer]:
    async with FakeOpenAIServer() as server:
        yield server


@pytest.fixture
def cache(tmp_path: Path) -> ModelCache:
    return ModelCache(tmp_path / "cache.sqlite")


def test_the_key_ignores_message_ids_and_the_endpoint() -> None:
    assert key(chat(), conversation()) == key(chat(), conversation(ids=True))
    assert key(chat(), conversation()) == key(chat("http://10.0.0.1/v1"), conversation())
    assert key(chat(), conversation()) == key(chat(timeout_seconds=5), conversation())


@pytest.mark.parametrize(
    "changed",
    [
        lambda: key(chat(model="other-gpt"), conversation()),
        lambda: key(chat(temperature=0.9), conversation()),
        lambda: key(chat().model_copy(update={"seed": 7}), conversation()),
        lambda: key(chat(), conversation("Trade now?")),
        lambda: key(chat(), conversation(), [get_price, get_volume]),
    ],
    ids=["model", "temperature", "seed", "messages", "tools"],
)
def test_the_key_changes_with_the_model_the_messages_and_the_tools(changed: Any) -> None:
    assert changed() != key(chat(), conversation())


async def test_a_repeated_request_is_answered_from_the_cache_without_a_call(
    server: FakeOpenAIServer, cache: ModelCache, tmp_path: Path
) -> None:
    server.script(tool_calls_reply(("get_price", {"symbol": "BTCUSDT"}), prompt_tokens=900))
    stats = CacheStats()
    first = CachedChatModel(model=chat(server.base_url), cache=cache, stats=stats)

    asked = await first.bind_tools([get_price], tool_choice="required").ainvoke(conversation())
    cache.close()

    # A new process, another endpoint that would fail: the answer comes from the file.
    reopened = ModelCache(tmp_path / "cache.sqlite")
    second = CachedChatModel(model=chat("http://127.0.0.1:9/v1"), cache=reopened, stats=stats)
    replayed = await second.bind_tools([get_price], tool_choice="required").ainvoke(conversation())

    assert len(server.requests) == 1
    assert server.requests[0]["tools"][0]["function"]["name"] == "get_price"
    assert server.requests[0]["tool_choice"] == "required"
    assert isinstance(replayed, AIMessage)
    assert replayed.tool_calls == asked.tool_calls
    assert replayed.usage_metadata == asked.usage_metadata
    assert (stats.hits, stats.misses, len(reopened)) == (1, 1, 1)


def test_an_answer_reads_back_with_its_tool_arguments_in_the_model_s_order(
    cache: ModelCache,
) -> None:
    # They are part of the next request (the tool call repeated), hence of its key.
    args = {"symbol": "BTCUSDT", "interval": "4h"}
    cache.put("key", "fake-gpt", AIMessage("", tool_calls=[{"name": "f", "args": args, "id": "1"}]))

    answer = cache.get("key")

    assert answer is not None
    assert list(answer.tool_calls[0]["args"]) == ["symbol", "interval"]


async def test_a_changed_request_asks_the_model_again(
    server: FakeOpenAIServer, cache: ModelCache
) -> None:
    server.script(text_reply("first"), text_reply("second"))
    model = CachedChatModel(model=chat(server.base_url), cache=cache, stats=CacheStats())

    first = await model.ainvoke(conversation("Trade?"))
    second = await model.ainvoke(conversation("Trade now?"))

    assert (first.text, second.text) == ("first", "second")
    assert len(server.requests) == 2


async def test_a_failed_call_is_not_cached(server: FakeOpenAIServer, cache: ModelCache) -> None:
    server.script(ErrorReply(500), text_reply("answer"))
    stats = CacheStats()
    model = CachedChatModel(model=chat(server.base_url), cache=cache, stats=stats)

    with pytest.raises(InternalServerError):
        await model.ainvoke(conversation())
    answer = await model.ainvoke(conversation())

    assert answer.text == "answer"
    assert len(server.requests) == 2
    assert (stats.hits, stats.misses, len(cache)) == (0, 2, 1)
