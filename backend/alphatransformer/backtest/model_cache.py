"""Model answers cached by what was asked, so a rerun of a backtest is free, exact and offline.

The key is the SHA-256 of the request as the model sees it: the model's identity (its type and
identifying parameters: name, temperature, seed), the messages in OpenAI's wire format, the
stop words and everything bound to the call (the tools and `tool_choice`). Transport settings
(base URL, API key, timeout, retries) are left out, since they do not change the answer, and so
are LangChain's message ids, which are random per run and never sent to the model.

The cache is a SQLite file of its own rather than a table of the trading database: it is a
disposable artefact, one file shared by every database and machine (copy it next to a report
to make that report reproducible offline), and audit data never mixes with it. One writer at a
time is assumed, as for a backtest or an arena run.

Known gap: `get_recent_decisions` answers with database row ids, which differ between two runs
sharing a database, so a model that calls that tool misses the cache from that turn on (the
tool would have to leave ids out, or number them within the run).

The wrapper is a chat model around the real one instead of LangChain's `BaseCache`, because
that cache keys on LangChain's serialisation, which carries the random message ids and the
base URL, so a rerun would never hit.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from langchain_core.callbacks import AsyncCallbackManagerForLLMRun, CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel, LanguageModelInput
from langchain_core.messages import (
    AIMessage,
    BaseMessage,
    convert_to_openai_messages,
    message_to_dict,
    messages_from_dict,
)
from langchain_core.outputs import ChatGeneration, ChatResult
from langchain_core.runnables import Runnable, RunnableBinding
from langchain_core.tools import BaseTool
from pydantic import ConfigDict, PrivateAttr

_SCHEMA = """
CREATE TABLE IF NOT EXISTS responses (
    key TEXT PRIMARY KEY,
    model TEXT NOT NULL,
    message TEXT NOT NULL
)
"""


@dataclass(slots=True)
class CacheStats:
    """Model calls of one run: how many were answered from the cache, how many went to the
    model (failed calls included; they are never cached)."""

    hits: int = 0
    misses: int = 0

    @property
    def calls(self) -> int:
        return self.hits + self.misses


class ModelCache:
    """Answers by request key in a SQLite file; every answer is committed as it arrives, so an
    interrupted run keeps what it paid for.

    Plain synchronous `sqlite3` on the event loop: a lookup takes microseconds and a write one
    commit, next to model calls that take seconds.
    """

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._db = sqlite3.connect(path)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute(_SCHEMA)
        self._db.commit()

    def get(self, key: str) -> AIMessage | None:
        row = self._db.execute("SELECT message FROM responses WHERE key = ?", (key,)).fetchone()
        if row is None:
            return None
        message = messages_from_dict([json.loads(row[0])])[0]
        if not isinstance(message, AIMessage):
            raise TypeError(f"model cache {self.path}: entry {key} is not a model answer")
        return message

    def put(self, key: str, model: str, message: AIMessage) -> None:
        self._db.execute(
            "INSERT OR REPLACE INTO responses (key, model, message) VALUES (?, ?, ?)",
            # In its own key order: a tool call's arguments must read back exactly as the model
            # wrote them, since they are part of the next request's key.
            (key, model, json.dumps(message_to_dict(message))),
        )
        self._db.commit()

    def __len__(self) -> int:
        return int(self._db.execute("SELECT count(*) FROM responses").fetchone()[0])

    def close(self) -> None:
        self._db.close()


def request_key(
    model: BaseChatModel,
    messages: Sequence[BaseMessage],
    stop: Sequence[str] | None,
    bound: Mapping[str, Any],
) -> str:
    """SHA-256 of the request as the model sees it (see the module docstring)."""
    request = {
        "model": [model._llm_type, model._identifying_params],
        "messages": convert_to_openai_messages(list(messages)),
        "stop": list(stop) if stop else None,
        "bound": dict(bound),
    }
    # `default=str` covers the odd non-JSON parameter (an enum, a Decimal) deterministically.
    text = json.dumps(request, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()


class CachedChatModel(BaseChatModel):
    """`model`, answered from `cache` whenever the same request was made before."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    model: BaseChatModel
    _cache: ModelCache = PrivateAttr()
    _stats: CacheStats = PrivateAttr()

    def __init__(self, *, model: BaseChatModel, cache: ModelCache, stats: CacheStats) -> None:
        super().__init__(model=model)
        self._cache = cache
        self._stats = stats

    @property
    def _llm_type(self) -> str:
        return f"cached-{self.model._llm_type}"

    def bind_tools(
        self,
        tools: Sequence[dict[str, Any] | type | Any | BaseTool],
        *,
        tool_choice: str | None = None,
        **kwargs: Any,
    ) -> Runnable[LanguageModelInput, AIMessage]:
        """Bind what the wrapped model would bind (its tool format, its `tool_choice`), so the
        key holds exactly what is sent and a miss forwards it unchanged."""
        bound = self.model.bind_tools(tools, tool_choice=tool_choice, **kwargs)
        if not isinstance(bound, RunnableBinding):
            raise TypeError(f"{type(self.model).__name__}.bind_tools did not bind arguments")
        return self.bind(**bound.kwargs)

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        raise NotImplementedError("the cached model answers asynchronously only")

    async def _agenerate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        key = request_key(self.model, messages, stop, kwargs)
        message = self._cache.get(key)
        if message is None:
            self._stats.misses += 1
            message = await self.model.ainvoke(messages, stop=stop, **kwargs)
            self._cache.put(key, str(self.model._identifying_params.get("model", "")), message)
        else:
            self._stats.hits += 1
        return ChatResult(generations=[ChatGeneration(message=message)])
