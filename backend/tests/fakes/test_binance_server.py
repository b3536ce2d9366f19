"""The fake Binance speaks the real wire format, so clients built on it can trust it: checked
here with raw `websockets` and `httpx` clients and against the recorded payloads."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosedError, InvalidStatus

from alphatransformer.market.binance.schemas import (
    parse_kline_event,
    parse_kline_row,
    parse_mark_price_event,
)
from alphatransformer.market.types import FundingInfo, Interval, Kline
from alphatransformer.utils.clock import ManualClock
from fakes.binance_server import (
    FakeBinance,
    generate_klines,
    kline_event,
    kline_row,
    kline_stream,
    load_payload,
)

START_MS = 1_736_899_200_000
M3 = Interval.M3
STREAM = "btcusdt@kline_3m"


@pytest.fixture
async def fake() -> AsyncIterator[FakeBinance]:
    async with FakeBinance(clock=ManualClock(START_MS + 5_000)) as server:
        yield server


@pytest.fixture
def candles() -> list[Kline]:
    return generate_klines("BTCUSDT", M3, START_MS, 5)


async def receive_json(ws: ClientConnection) -> Any:
    return json.loads(await ws.recv())


async def send_json(ws: ClientConnection, frame: object) -> Any:
    await ws.send(json.dumps(frame))
    return await receive_json(ws)


def shape(value: Any) -> Any:
    """The keys and value types of a payload, recursively: what must match the real thing."""
    if isinstance(value, dict):
        return {key: shape(item) for key, item in value.items()}
    if isinstance(value, list):
        return [shape(item) for item in value]
    return type(value).__name__


# --- wire fidelity ------------------------------------------------------------------------------


def test_a_fake_kline_row_has_the_shape_of_a_recorded_one(candles: list[Kline]) -> None:
    recorded = load_payload("http_get_klines.json")[0]

    assert shape(kline_row(candles[0])) == shape(recorded)


def test_a_fake_kline_event_has_the_shape_of_a_recorded_one(candles: list[Kline]) -> None:
    recorded = load_payload("ws_kline_closed.json")["data"]

    assert shape(kline_event(candles[0], closed=True, event_time=1)) == shape(recorded)


def test_generated_candles_survive_the_wire_exactly(candles: list[Kline]) -> None:
    assert [parse_kline_row(kline_row(k), "BTCUSDT", M3) for k in candles] == candles
    events = [kline_event(k, closed=True, event_time=0) for k in candles]
    assert [parse_kline_event(event) for event in events] == candles


def test_generated_candles_are_contiguous_valid_and_repeatable() -> None:
    candles = generate_klines("ETHUSDT", Interval.H1, START_MS, 200, seed=3)

    assert candles == generate_klines("ETHUSDT", Interval.H1, START_MS, 200, seed=3)
    assert [k.open_time for k in candles] == [START_MS + i * Interval.H1.ms for i in range(200)]
    assert all(0 < k.low <= min(k.open, k.close) <= max(k.open, k.close) <= k.high for k in candles)


# --- REST semantics -----------------------------------------------------------------------------


async def get(fake: FakeBinance, path: str, **params: str | int) -> httpx.Response:
    async with httpx.AsyncClient(base_url=fake.rest_url) as client:
        return await client.get(path, params=params)


async def test_klines_default_to_the_newest_500_ascending(fake: FakeBinance) -> None:
    fake.set_klines(generate_klines("BTCUSDT", M3, START_MS, 600))

    rows = (await get(fake, "/fapi/v1/klines", symbol="BTCUSDT", interval="3m")).json()

    assert len(rows) == 500
    assert rows[0][0] == START_MS + 100 * M3.ms
    assert [row[0] for row in rows] == sorted(row[0] for row in rows)


async def test_klines_from_a_start_time_take_the_first_limit_in_the_window(
    fake: FakeBinance,
) -> None:
    fake.set_klines(generate_klines("BTCUSDT", M3, START_MS, 600))
    start = START_MS + 10 * M3.ms

    rows = (
        await get(
            fake,
            "/fapi/v1/klines",
            symbol="BTCUSDT",
            interval="3m",
            startTime=start + 1,  # not aligned: the first candle opening at or after it
            endTime=start + 20 * M3.ms,
            limit=3,
        )
    ).json()

    assert [row[0] for row in rows] == [start + i * M3.ms for i in (1, 2, 3)]


@pytest.mark.parametrize(
    ("params", "code"),
    [
        ({"symbol": "BTCUSDT", "interval": "3m", "limit": 1501}, -1130),
        ({"symbol": "BTCUSDT", "interval": "7m"}, -1120),
        ({"interval": "3m"}, -1102),
        ({"symbol": "NOPEUSDT", "interval": "3m"}, -1121),
    ],
)
async def test_bad_klines_parameters_get_binances_error_codes(
    fake: FakeBinance, params: dict[str, str | int], code: int
) -> None:
    response = await get(fake, "/fapi/v1/klines", **params)

    assert response.status_code == 400
    assert response.json()["code"] == code


async def test_every_answer_carries_the_used_weight_and_requests_are_counted(
    fake: FakeBinance,
) -> None:
    fake.fail_next(status=429, retry_after=3)

    refused = await get(fake, "/fapi/v1/time")
    answered = await get(fake, "/fapi/v1/time")

    assert (refused.status_code, refused.headers["Retry-After"]) == (429, "3")
    assert refused.json() == {"code": -1003, "msg": refused.json()["msg"]}
    assert [refused.headers["X-MBX-USED-WEIGHT-1M"], answered.headers["X-MBX-USED-WEIGHT-1M"]] == [
        "1",
        "2",
    ]
    assert answered.json() == {"serverTime": START_MS + 5_000}
    assert fake.requests["/fapi/v1/time"] == 2


async def test_a_fault_for_one_path_leaves_other_paths_alone(fake: FakeBinance) -> None:
    fake.fail_next(status=503, path="/fapi/v1/openInterest")

    assert (await get(fake, "/fapi/v1/time")).status_code == 200
    assert (await get(fake, "/fapi/v1/openInterest", symbol="BTCUSDT")).status_code == 503


# --- WebSocket --------------------------------------------------------------------------------


async def test_a_combined_stream_gets_closed_and_forming_kline_events_wrapped(
    fake: FakeBinance, candles: list[Kline]
) -> None:
    async with connect(f"{fake.ws_url}/market/stream?streams={STREAM}/btcusdt@markPrice") as ws:
        await fake.wait_for_subscribers(STREAM)

        assert await fake.push_kline(candles[0], closed=True) == 1
        assert await fake.push_kline(candles[1], closed=False) == 1
        closed, forming = await receive_json(ws), await receive_json(ws)

    assert closed["stream"] == STREAM
    assert closed["data"]["E"] == START_MS + 5_000
    assert parse_kline_event(closed) == candles[0]
    assert (forming["data"]["k"]["x"], parse_kline_event(forming).closed) == (False, False)


async def test_a_raw_stream_gets_bare_events(fake: FakeBinance, candles: list[Kline]) -> None:
    async with connect(f"{fake.ws_url}/market/ws/{STREAM}") as ws:
        await fake.wait_for_subscribers(STREAM)
        await fake.push_kline(candles[0])
        event = await receive_json(ws)

    assert event["e"] == "kline"
    assert parse_kline_event(event) == candles[0]


async def test_mark_price_updates_reach_mark_price_subscribers(fake: FakeBinance) -> None:
    info = FundingInfo("BTCUSDT", 100041.2345, 100079.61934783, 0.0001, 1736928000000, START_MS)
    async with connect(f"{fake.ws_url}/market/stream?streams=btcusdt@markPrice@1s") as ws:
        await fake.wait_for_subscribers("btcusdt@markPrice@1s")

        assert await fake.push_mark_price(info) == 1
        message = await receive_json(ws)

    assert message["stream"] == "btcusdt@markPrice@1s"
    assert parse_mark_price_event(message) == info


async def test_subscribe_list_and_unsubscribe_frames_are_answered_like_binance(
    fake: FakeBinance, candles: list[Kline]
) -> None:
    async with connect(f"{fake.ws_url}/market/stream") as ws:
        subscribe = {"method": "SUBSCRIBE", "params": [STREAM, "ethusdt@kline_3m"], "id": 1}
        assert await send_json(ws, subscribe) == {"result": None, "id": 1}
        listed = await send_json(ws, {"method": "LIST_SUBSCRIPTIONS", "id": 2})
        assert listed == {"result": [STREAM, "ethusdt@kline_3m"], "id": 2}
        assert await fake.push_kline(candles[0]) == 1
        assert parse_kline_event(await receive_json(ws)) == candles[0]

        unsubscribe = {"method": "UNSUBSCRIBE", "params": [STREAM], "id": 3}
        assert await send_json(ws, unsubscribe) == {"result": None, "id": 3}

        assert await fake.push_kline(candles[1]) == 0
        assert fake.subscriber_count("ethusdt@kline_3m") == 1
    assert fake.ws_received[0] == subscribe


@pytest.mark.parametrize(
    ("frame", "code"),
    [
        ("{not json", 3),
        (json.dumps({"method": "SUBSCRIBE", "params": "btcusdt@kline_3m", "id": 4}), 2),
        (json.dumps({"method": "DANCE", "id": 5}), 2),
        (json.dumps([1, 2]), 2),
    ],
)
async def test_bad_frames_get_binances_error_answers(
    fake: FakeBinance, frame: str, code: int
) -> None:
    async with connect(f"{fake.ws_url}/market/ws") as ws:
        await ws.send(frame)
        answer = await receive_json(ws)

    assert answer["error"]["code"] == code


async def test_pings_are_answered_both_ways(fake: FakeBinance) -> None:
    async with connect(f"{fake.ws_url}/market/ws/{STREAM}") as ws:
        await fake.wait_for_subscribers(STREAM)

        assert await fake.ping_clients() == 1
        await (await ws.ping())


async def test_dropped_connections_end_without_a_closing_handshake(fake: FakeBinance) -> None:
    async with connect(f"{fake.ws_url}/market/ws/{STREAM}") as ws:
        await fake.wait_for_subscribers(STREAM)

        assert fake.drop_connections() == 1
        with pytest.raises(ConnectionClosedError):
            await ws.recv()

    assert fake.ws_connections_accepted == 1


async def test_a_stalled_server_drops_pushes_and_holds_pongs_until_resumed(
    fake: FakeBinance, candles: list[Kline]
) -> None:
    async with connect(f"{fake.ws_url}/market/ws/{STREAM}") as ws:
        await fake.wait_for_subscribers(STREAM)
        fake.stall()

        assert await fake.push_kline(candles[0]) == 0
        pong = await ws.ping()
        fake.resume()
        await pong
        await fake.push_kline(candles[1])

        assert parse_kline_event(await receive_json(ws)) == candles[1]


async def test_malformed_text_and_out_of_order_or_duplicate_candles_are_sent_as_told(
    fake: FakeBinance, candles: list[Kline]
) -> None:
    async with connect(f"{fake.ws_url}/market/ws/{STREAM}") as ws:
        await fake.wait_for_subscribers(STREAM)

        assert await fake.send_raw('{"e": "kline", "k": {') == 1
        for kline in (candles[2], candles[1], candles[1]):
            await fake.push_kline(kline)

        assert await ws.recv() == '{"e": "kline", "k": {'
        received = [parse_kline_event(await receive_json(ws)) for _ in range(3)]
    assert received == [candles[2], candles[1], candles[1]]


async def test_paths_outside_the_market_routes_are_refused(fake: FakeBinance) -> None:
    with pytest.raises(InvalidStatus) as raised:
        async with connect(f"{fake.ws_url}/ws/{STREAM}"):
            pass

    assert raised.value.response.status_code == 404


def test_stream_names_are_lowercase_symbol_and_interval() -> None:
    assert kline_stream("BTCUSDT", M3) == STREAM
