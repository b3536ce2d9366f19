"""A fake OpenAI-compatible chat server on 127.0.0.1, for driving the real `ChatOpenAI` client.

`POST /v1/chat/completions` answers with the replies a test scripted, in order, in OpenAI's exact
response shape (tool calls with JSON-string arguments, usage with prompt/completion/total
tokens, or whatever usage block a hostile server sends), and records every request body. A
reply can also be an HTTP error or a stall that never answers (until the server stops), for
the client's timeout. An exhausted script answers HTTP 500 saying so, which a test sees as an
unexpected extra model call.

    async with FakeOpenAIServer() as server:
        server.script(tool_calls_reply(("get_klines", {...})), text_reply("done"))
        ChatOpenAI(base_url=server.base_url, ...)
"""

from __future__ import annotations

import asyncio
import itertools
import json
import socket
from collections import deque
from dataclasses import dataclass, field
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

DEFAULT_PROMPT_TOKENS = 1200
DEFAULT_COMPLETION_TOKENS = 80


@dataclass(frozen=True, slots=True)
class ChatReply:
    """A 200 answer: an assistant message with text and/or tool calls."""

    content: str | None = None
    # (name, arguments): a dict is sent as its JSON text; a str is sent as is (malformed JSON).
    tool_calls: tuple[tuple[str, dict[str, Any] | str], ...] = ()
    prompt_tokens: int = DEFAULT_PROMPT_TOKENS
    completion_tokens: int = DEFAULT_COMPLETION_TOKENS
    # Sent as the usage block instead of the counts above, as is (NaN included).
    usage: dict[str, Any] | None = None


@dataclass(frozen=True, slots=True)
class ErrorReply:
    """An HTTP error with OpenAI's error body."""

    status: int = 500
    message: str = "The server had an error while processing your request."


@dataclass(frozen=True, slots=True)
class StallReply:
    """No answer until the server shuts down: longer than any client timeout."""


Reply = ChatReply | ErrorReply | StallReply


def tool_calls_reply(
    *calls: tuple[str, dict[str, Any] | str],
    prompt_tokens: int = DEFAULT_PROMPT_TOKENS,
    completion_tokens: int = DEFAULT_COMPLETION_TOKENS,
    usage: dict[str, Any] | None = None,
) -> ChatReply:
    return ChatReply(None, calls, prompt_tokens, completion_tokens, usage)


def text_reply(content: str, prompt_tokens: int = DEFAULT_PROMPT_TOKENS) -> ChatReply:
    return ChatReply(content, (), prompt_tokens)


@dataclass
class FakeOpenAIServer:
    """The server; `requests` holds every request body received, oldest first."""

    model: str = "fake-gpt"
    requests: list[dict[str, Any]] = field(default_factory=list)
    _script: deque[Reply] = field(default_factory=deque)
    _ids: itertools.count[int] = field(default_factory=itertools.count)
    _released: asyncio.Event = field(default_factory=asyncio.Event)
    _server: uvicorn.Server | None = None
    _task: asyncio.Task[None] | None = None
    _port: int = 0

    def script(self, *replies: Reply) -> None:
        """Queue replies; each request takes the next one."""
        self._script.extend(replies)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self._port}/v1"

    async def __aenter__(self) -> FakeOpenAIServer:
        # The socket listens before uvicorn starts, so the port is known and a request sent
        # early waits in the backlog instead of failing.
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        self._port = sock.getsockname()[1]
        app = Starlette(routes=[Route("/v1/chat/completions", self._complete, methods=["POST"])])
        config = uvicorn.Config(app, log_level="warning", lifespan="off")
        self._server = uvicorn.Server(config)
        self._task = asyncio.create_task(self._server.serve(sockets=[sock]))
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        self._released.set()
        assert self._server is not None
        assert self._task is not None
        self._server.should_exit = True
        await self._task

    async def _complete(self, request: Request) -> Response:
        self.requests.append(await request.json())
        reply = self._script.popleft() if self._script else ErrorReply(500, "script exhausted")
        if isinstance(reply, StallReply):
            await self._released.wait()
            return Response(status_code=503)
        if isinstance(reply, ErrorReply):
            return JSONResponse(_error_body(reply), status_code=reply.status)
        # json.dumps, not JSONResponse: a careless server writes NaN, which JSONResponse refuses.
        return Response(json.dumps(self._completion(reply)), media_type="application/json")

    def _completion(self, reply: ChatReply) -> dict[str, Any]:
        number = next(self._ids)
        message: dict[str, Any] = {"role": "assistant", "content": reply.content, "refusal": None}
        if reply.tool_calls:
            message["tool_calls"] = [
                {
                    "id": f"call_{number}_{index}",
                    "type": "function",
                    "function": {"name": name, "arguments": _arguments(arguments)},
                }
                for index, (name, arguments) in enumerate(reply.tool_calls)
            ]
        return {
            "id": f"chatcmpl-fake{number}",
            "object": "chat.completion",
            "created": 1_767_225_600 + number,
            "model": self.model,
            "choices": [
                {
                    "index": 0,
                    "message": message,
                    "logprobs": None,
                    "finish_reason": "tool_calls" if reply.tool_calls else "stop",
                }
            ],
            "usage": reply.usage
            if reply.usage is not None
            else {
                "prompt_tokens": reply.prompt_tokens,
                "completion_tokens": reply.completion_tokens,
                "total_tokens": reply.prompt_tokens + reply.completion_tokens,
            },
        }


def _arguments(arguments: dict[str, Any] | str) -> str:
    # json.dumps writes a float NaN as `NaN`, as a careless model's server would.
    return arguments if isinstance(arguments, str) else json.dumps(arguments)


def _error_body(reply: ErrorReply) -> dict[str, Any]:
    return {
        "error": {
            "message": reply.message,
            "type": "server_error" if reply.status >= 500 else "invalid_request_error",
            "param": None,
            "code": None,
        }
    }
