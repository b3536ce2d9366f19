"""Fixtures for the Binance client tests: the fake server, fake time, and a client wired to both."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from fakes.binance_server import FakeBinance
from market.binance.fake_time import QUICK_RETRY, START_MS, FakeTime

from alphatransformer.market.binance.http import BinanceHttp
from alphatransformer.utils.clock import ManualClock


@pytest.fixture
def fake_time() -> FakeTime:
    return FakeTime()


@pytest.fixture
async def fake() -> AsyncIterator[FakeBinance]:
    """The fake Binance on its own manual clock: server time and weight minutes stand still."""
    async with FakeBinance(clock=ManualClock(START_MS)) as server:
        yield server


@pytest.fixture
async def http(fake: FakeBinance, fake_time: FakeTime) -> AsyncIterator[BinanceHttp]:
    async with BinanceHttp(
        fake.rest_url, retry=QUICK_RETRY, clock=fake_time.clock, sleep=fake_time.sleep
    ) as client:
        yield client
