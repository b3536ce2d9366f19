"""Bearer-token checks. Control endpoints always need the token; when the server listens beyond
loopback, every endpoint and stream does (the app adds `ControlAuth` to every router then, so
the OpenAPI schema tells the truth in both modes). Tokens are compared in constant time."""

from __future__ import annotations

import secrets
from typing import Annotated

from fastapi import Depends, HTTPException, Request, WebSocket
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

_bearer = HTTPBearer(auto_error=False, description="The API token (api.token in the config).")


def token_matches(expected: str, given: str | None) -> bool:
    return given is not None and secrets.compare_digest(expected.encode(), given.encode())


async def require_token(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> None:
    """For control endpoints: the request must carry the API token.

    Async although it never awaits: FastAPI runs a plain `def` dependency in a worker thread,
    a thread hop on every guarded request.
    """
    given = credentials.credentials if credentials is not None else None
    if not token_matches(request.app.state.api_token, given):
        raise HTTPException(401, "a valid bearer token is required")


def websocket_allowed(websocket: WebSocket) -> bool:
    """Streams take the token as a bearer header or, for browsers, a `token` query parameter."""
    if not websocket.app.state.exposed:
        return True
    header = websocket.headers.get("authorization", "")
    given = (
        header[7:] if header.lower().startswith("bearer ") else websocket.query_params.get("token")
    )
    return token_matches(websocket.app.state.api_token, given)


ControlAuth = Depends(require_token)
