"""The dashboard the server ships is the one its sources build, and it is served at `/` without
hiding any API path."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from alphatransformer.api.dashboard import BUILD_DIR, IMMUTABLE, mount_dashboard
from alphatransformer.api.errors import install_error_handlers

FRONTEND = Path(__file__).resolve().parents[3] / "frontend"
REBUILD = "rebuild with: cd frontend && npm ci && npm run build:ship"

# The same files, in the same order, hashed the same way as frontend/scripts/source-hash.mjs.
TREES = ("src", "public")
TOP_LEVEL = re.compile(
    r"^(package\.json|package-lock\.json|next\.config\.[cm]?[jt]s|tsconfig(\.[\w-]+)?\.json"
    r"|postcss\.config\.[cm]?[jt]s)$"
)


def _is_source(relative: str) -> bool:
    name = relative.rsplit("/", 1)[-1]
    return not relative.startswith("src/test/") and ".test." not in name and name != ".DS_Store"


def source_files(frontend: Path) -> list[str]:
    files = [p.name for p in frontend.iterdir() if p.is_file() and TOP_LEVEL.match(p.name)]
    for tree in TREES:
        root = frontend / tree
        if root.is_dir():
            files += [
                relative
                for p in root.rglob("*")
                if p.is_file() and _is_source(relative := p.relative_to(frontend).as_posix())
            ]
    return sorted(files)


def source_hash(frontend: Path) -> str:
    digest = hashlib.sha256()
    for relative in source_files(frontend):
        data = (frontend / relative).read_bytes()
        digest.update(f"{relative}\0{len(data)}\0".encode())
        digest.update(data)
    return digest.hexdigest()


def test_the_shipped_dashboard_was_built_from_the_current_frontend_sources() -> None:
    if not FRONTEND.is_dir():
        pytest.skip("no frontend/ sources next to this checkout (an installed package)")
    shipped = BUILD_DIR / "SOURCE_HASH"
    assert (BUILD_DIR / "index.html").is_file(), f"the dashboard build is missing; {REBUILD}"
    assert shipped.is_file(), f"dashboard_build/SOURCE_HASH is missing; {REBUILD}"
    assert shipped.read_text().strip() == source_hash(FRONTEND), (
        f"the shipped dashboard does not match frontend/'s sources; {REBUILD}"
    )


@pytest.fixture
def build(tmp_path: Path) -> Path:
    """A miniature export: two pages, an RSC payload, a hashed asset, and a hostile file that
    tries to shadow an API path."""
    (tmp_path / "index.html").write_text("<html>home</html>")
    (tmp_path / "index.txt").write_text("rsc")
    (tmp_path / "backtests").mkdir()
    (tmp_path / "backtests" / "index.html").write_text("<html>backtests</html>")
    (tmp_path / "_next" / "static" / "chunks").mkdir(parents=True)
    (tmp_path / "_next" / "static" / "chunks" / "app-1a2b.js").write_text("console.log(1)")
    (tmp_path / "api").mkdir()
    (tmp_path / "api" / "status").write_text("not the API")
    (tmp_path / "SOURCE_HASH").write_text("abc\n")
    return tmp_path


def _app(build_dir: Path) -> TestClient:
    app = FastAPI()
    install_error_handlers(app)

    @app.get("/api/status")
    async def status() -> dict[str, str]:
        return {"state": "running"}

    @app.post("/api/agent/stop")
    async def stop() -> dict[str, bool]:
        return {"changed": True}

    @app.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    mount_dashboard(app, build_dir)
    return TestClient(app)


def test_pages_are_served_at_their_paths_and_always_revalidated(build: Path) -> None:
    client = _app(build)
    home = client.get("/")
    assert home.status_code == 200
    assert home.text == "<html>home</html>"
    assert home.headers["content-type"].startswith("text/html")
    assert home.headers["cache-control"] == "no-cache"
    assert client.get("/backtests/").text == "<html>backtests</html>"
    redirect = client.get("/backtests", follow_redirects=False)
    assert (redirect.status_code, redirect.headers["location"]) == (308, "/backtests/")
    assert client.get("/index.txt").text == "rsc"


def test_hashed_assets_are_cached_for_a_year(build: Path) -> None:
    asset = _app(build).get("/_next/static/chunks/app-1a2b.js")
    assert asset.status_code == 200
    assert asset.headers["cache-control"] == IMMUTABLE


def test_api_paths_keep_their_own_answers(build: Path) -> None:
    client = _app(build)
    assert client.get("/api/status").json() == {"state": "running"}
    assert client.get("/healthz").json() == {"status": "ok"}
    missing = client.get("/api/no-such-thing")
    assert missing.status_code == 404
    assert missing.json()["error"]["code"] == "not_found"
    assert client.get("/api/agent/stop").status_code == 405
    assert client.post("/api/agent/stop").json() == {"changed": True}
    assert client.get("/SOURCE_HASH").status_code == 404


def test_without_a_build_the_home_page_says_how_to_make_one(tmp_path: Path) -> None:
    client = _app(tmp_path / "nothing-here")
    page = client.get("/")
    assert page.status_code == 200
    assert "npm run build:ship" in page.text
    assert client.get("/api/status").json() == {"state": "running"}
