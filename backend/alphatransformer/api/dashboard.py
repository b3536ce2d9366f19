"""The web dashboard: the Next.js static export in `dashboard_build/`, served at `/`.

Each exported file gets its own route (a page `x/index.html` answers at `/x/`), and the hashed
assets under `/_next/` are mounted with year-long cache headers. Nothing is a catch-all, so
`/api/*`, `/ws/*`, `/docs`, `/openapi.json`, `/metrics` and `/healthz` keep their own answers,
unknown API paths included (the API's JSON 404, a 405 where the method is wrong).
The build is made from `frontend/` by `npm run build:ship`; a test checks that it matches the
sources (`dashboard_build/SOURCE_HASH`).
"""

from __future__ import annotations

import os
from collections.abc import Awaitable, Callable
from pathlib import Path

from fastapi import FastAPI
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response
from starlette.staticfiles import PathLike, StaticFiles
from starlette.types import Scope

BUILD_DIR = Path(__file__).parent / "dashboard_build"

IMMUTABLE = "public, max-age=31536000, immutable"
REVALIDATE = "no-cache"
# Paths the API owns: an export never shadows them, whatever it contains.
RESERVED = ("/api", "/ws", "/docs", "/redoc", "/openapi.json", "/metrics", "/healthz")

MISSING_BUILD_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>AlphaTransformer</title></head>
<body style="font-family: system-ui, sans-serif; max-width: 40rem; margin: 3rem auto">
<h1>AlphaTransformer</h1>
<p>The API is running, but the dashboard has not been built into this installation.</p>
<p>Build it with: <code>cd frontend &amp;&amp; npm ci &amp;&amp; npm run build:ship</code>,
then restart <code>alphatransformer run</code>.</p>
<p>Meanwhile: <a href="/docs">API docs</a> · <a href="/api/status">/api/status</a></p>
</body></html>
"""


class _AssetFiles(StaticFiles):
    """`/_next/*`: content-hashed files under `static/` never change, so browsers keep them."""

    def file_response(
        self,
        full_path: PathLike,
        stat_result: os.stat_result,
        scope: Scope,
        status_code: int = 200,
    ) -> Response:
        response = super().file_response(full_path, stat_result, scope, status_code)
        static = "/static/" in scope["path"]
        response.headers["Cache-Control"] = IMMUTABLE if static else REVALIDATE
        return response


def mount_dashboard(app: FastAPI, build_dir: Path = BUILD_DIR) -> None:
    """Serve the dashboard at `/`; call it after every API route is registered."""
    if not (build_dir / "index.html").is_file():
        app.add_api_route("/", _missing_build, methods=["GET", "HEAD"], include_in_schema=False)
        return
    for url, path in sorted(_exported_files(build_dir).items()):
        if url.startswith(RESERVED):
            continue
        app.add_api_route(
            url, _file_endpoint(path), methods=["GET", "HEAD"], include_in_schema=False
        )
        if url.endswith("/") and url != "/":
            # `trailingSlash: true` exports: `/backtests` -> `/backtests/`.
            app.add_api_route(
                url.rstrip("/"),
                _redirect_endpoint(url),
                methods=["GET", "HEAD"],
                include_in_schema=False,
            )
    if (build_dir / "_next").is_dir():
        app.mount("/_next", _AssetFiles(directory=build_dir / "_next"), name="dashboard-assets")


def _exported_files(build_dir: Path) -> dict[str, Path]:
    """URL path -> file for everything outside `_next/` (pages, their RSC payloads, icons)."""
    files: dict[str, Path] = {}
    for path in build_dir.rglob("*"):
        relative = path.relative_to(build_dir).as_posix()
        if not path.is_file() or relative.startswith("_next/") or relative == "SOURCE_HASH":
            continue
        if relative == "index.html":
            files["/"] = path
        elif relative.endswith("/index.html"):
            files["/" + relative.removesuffix("index.html")] = path
        else:
            files["/" + relative] = path
    return files


def _file_endpoint(path: Path) -> Callable[[], Awaitable[FileResponse]]:
    async def serve() -> FileResponse:
        return FileResponse(path, headers={"Cache-Control": REVALIDATE})

    return serve


def _redirect_endpoint(target: str) -> Callable[[], Awaitable[RedirectResponse]]:
    async def redirect() -> RedirectResponse:
        return RedirectResponse(target, status_code=308)

    return redirect


async def _missing_build() -> HTMLResponse:
    return HTMLResponse(MISSING_BUILD_PAGE, status_code=200, headers={"Cache-Control": REVALIDATE})
