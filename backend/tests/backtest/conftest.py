"""Fixtures of the backtest tests: the replayed market's files, written once per session."""

from __future__ import annotations

from pathlib import Path

import pytest
from backtest.replay_data import write_market


@pytest.fixture(scope="session")
def history(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_market(tmp_path_factory.mktemp("history"))
