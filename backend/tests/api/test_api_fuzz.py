"""Property-based fuzzing of the API against its own OpenAPI schema (schemathesis): no input
may cause a 5xx or a response that breaks the documented schema."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import schemathesis
from api.test_api import TOKEN, OneLongThenHold, config
from hypothesis import HealthCheck, settings
from live_server import serve_in_thread
from schemathesis.openapi import from_dict

from alphatransformer.api.app import create_app
from alphatransformer.config import AppConfig

schema = from_dict(create_app(AppConfig(), api_token=TOKEN).openapi())


@schema.auth()
class BearerToken:
    """Schemathesis adds the token where the schema asks for it, and knows when it left it out."""

    def get(self, case: schemathesis.Case, context: schemathesis.AuthContext) -> str:
        return TOKEN

    def set(self, case: schemathesis.Case, data: str, context: schemathesis.AuthContext) -> None:
        case.headers = {**(case.headers or {}), "Authorization": f"Bearer {data}"}


@pytest.fixture(scope="module")
def base_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    folder = tmp_path_factory.mktemp("fuzz")
    app = create_app(
        config(folder, cycle_seconds=0.5),
        api_token=TOKEN,
        decision_makers={"agent": OneLongThenHold()},
    )
    with serve_in_thread(app) as url:
        yield url


@schema.parametrize()
@settings(max_examples=25, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
def test_no_input_breaks_the_api(case: schemathesis.Case, base_url: str) -> None:
    case.call_and_validate(base_url=base_url)
