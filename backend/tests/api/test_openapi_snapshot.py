"""The dashboard's API types are generated from `frontend/openapi.json`: it must be the server's
schema, so an API change that the dashboard does not follow fails here (and `tsc` after
`npm run gen:api`), not on a user's screen."""

from __future__ import annotations

import json
from pathlib import Path

from alphatransformer.api.app import create_app
from alphatransformer.config import AppConfig

SAVED = Path(__file__).resolve().parents[3] / "frontend" / "openapi.json"
REFRESH = (
    "refresh it: uv run python -c 'import json; from alphatransformer.api.app import create_app; "
    "from alphatransformer.config import AppConfig; print(json.dumps(create_app(AppConfig(), "
    'api_token="x").openapi(), indent=4))\' > frontend/openapi.json; then cd frontend && '
    "npm run gen:api && npm run build:ship"
)


def test_the_dashboard_s_saved_schema_is_the_server_s() -> None:
    served = create_app(AppConfig(), api_token="unused").openapi()

    assert json.loads(SAVED.read_text(encoding="utf-8")) == served, REFRESH
