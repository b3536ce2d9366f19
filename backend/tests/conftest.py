"""Test-wide setup: tests stay offline (see offline_guard)."""

from __future__ import annotations

from collections.abc import Iterator

import offline_guard
import pytest


@pytest.fixture(autouse=True, scope="session")
def _offline() -> Iterator[None]:
    offline_guard.install()
    yield
    offline_guard.uninstall()
