"""The HTTP transport against the fake Binance over loopback: weights are read and respected,
`Retry-After` is waited out, only what is safe is retried, and every failure is typed.

Waits go through `FakeTime` (conftest): they are recorded exactly and take no wall time.
"""

from __future__ import annotations

import socket

import pytest
from fakes.binance_server import FakeBinance
from market.binance.fake_time import QUICK_RETRY, FakeTime

from alphatransformer.market.binance.errors import (
    BinanceAuthError,
    BinanceBadRequest,
    BinanceConnectionError,
    BinanceError,
    BinanceFilterError,
    BinanceIpBanned,
    BinanceMarginError,
    BinanceNoResponse,
    BinanceRateLimited,
    BinanceServerError,
    BinanceTimestampError,
    BinanceUnknownOrder,
    MalformedMessage,
    error_from_response,
)
from alphatransformer.market.binance.http import BinanceHttp, RetryPolicy, WeightBudget

TIME = "/fapi/v1/time"
ORDER = "/fapi/v1/order"


def client(url: str, fake_time: FakeTime, **options: object) -> BinanceHttp:
    return BinanceHttp(
        url,
        clock=fake_time.clock,
        sleep=fake_time.sleep,
        **{"retry": QUICK_RETRY, **options},  # type: ignore[arg-type]
    )


# --- headers and the weight budget ----------------------------------------------------------


async def test_the_used_weight_header_is_read_into_the_budget(
    fake: FakeBinance, http: BinanceHttp
) -> None:
    fake.used_weight = 1234

    await http.get(TIME)

    assert http.last_used_weight == 1235
    assert http.budget.used == 1235


async def test_order_count_headers_are_read_by_interval(
    fake: FakeBinance, http: BinanceHttp
) -> None:
    fake.extra_headers = {"X-MBX-ORDER-COUNT-10S": "3", "X-MBX-ORDER-COUNT-1M": "12"}

    await http.get(TIME)

    assert http.order_counts == {"10S": 3, "1M": 12}


async def test_a_request_that_would_exceed_the_weight_limit_waits_for_the_next_minute(
    fake: FakeBinance, fake_time: FakeTime
) -> None:
    fake.used_weight = 9  # the server answers the first call with 10: the limit
    async with client(fake.rest_url, fake_time, weight_limit=10) as http:
        await http.get(TIME)
        assert fake_time.sleeps == []

        await http.get(TIME)

    assert fake_time.sleeps == [45.0]  # START_MS is 15 s into its minute
    assert fake.requests[TIME] == 2


async def test_weight_reserved_by_requests_in_flight_counts_before_the_server_answers(
    fake_time: FakeTime,
) -> None:
    budget = WeightBudget(10, fake_time.clock, fake_time.sleep)

    await budget.acquire(6)
    await budget.acquire(6)

    assert fake_time.sleeps == [45.0]
    assert budget.used == 6


async def test_a_request_heavier_than_the_whole_limit_still_goes_out_in_a_fresh_minute(
    fake_time: FakeTime,
) -> None:
    budget = WeightBudget(10, fake_time.clock, fake_time.sleep)

    await budget.acquire(20)

    assert fake_time.sleeps == []


# --- 429 and 418 --------------------------------------------------------------------------------


async def test_a_429_is_waited_out_for_retry_after_then_the_request_succeeds(
    fake: FakeBinance, http: BinanceHttp, fake_time: FakeTime
) -> None:
    fake.fail_next(status=429, retry_after=0.05)

    assert "serverTime" in await http.get(TIME)

    assert fake.requests[TIME] == 2
    assert fake_time.sleeps == [0.05]


async def test_a_429_holds_every_later_request_until_retry_after_is_over(
    fake: FakeBinance, fake_time: FakeTime
) -> None:
    fake.fail_next(status=429, retry_after=2)
    async with client(fake.rest_url, fake_time, retry=RetryPolicy(attempts=1)) as http:
        with pytest.raises(BinanceRateLimited) as raised:
            await http.get(TIME)
        assert raised.value.retry_after == 2.0
        assert fake_time.sleeps == []

        await http.get(TIME)

    assert fake_time.sleeps == [2.0]


async def test_a_418_is_waited_out_once_then_the_request_succeeds(
    fake: FakeBinance, http: BinanceHttp, fake_time: FakeTime
) -> None:
    fake.fail_next(status=418, retry_after=0.05)

    await http.get(TIME)

    assert fake.requests[TIME] == 2
    assert fake_time.sleeps == [0.05]


async def test_a_418_that_persists_after_one_wait_raises_ip_banned(
    fake: FakeBinance, http: BinanceHttp, fake_time: FakeTime
) -> None:
    fake.fail_next(3, status=418, retry_after=0.05)

    with pytest.raises(BinanceIpBanned) as raised:
        await http.get(TIME)

    assert (raised.value.status, raised.value.code) == (418, -1003)
    assert fake.requests[TIME] == 2
    assert fake_time.sleeps == [0.05]


async def test_a_retry_after_longer_than_the_policy_allows_raises_at_once(
    fake: FakeBinance, http: BinanceHttp
) -> None:
    fake.fail_next(status=429, retry_after=120)  # QUICK_RETRY waits up to 60 s

    with pytest.raises(BinanceRateLimited):
        await http.get(TIME)

    assert fake.requests[TIME] == 1


async def test_a_refused_post_is_retried_after_a_429_since_it_was_not_executed(
    fake: FakeBinance, http: BinanceHttp
) -> None:
    fake.fail_next(status=429, retry_after=0.05, path=ORDER)
    fake.fail_next(status=400, code=-2019, msg="Margin is insufficient.", path=ORDER)

    with pytest.raises(BinanceMarginError):
        await http.request("POST", ORDER, {"symbol": "BTCUSDT"})

    assert fake.requests[ORDER] == 2


# --- 5xx, lost answers, refused connections ----------------------------------------------------


async def test_a_5xx_on_get_is_retried_with_exponential_backoff_then_succeeds(
    fake: FakeBinance, http: BinanceHttp, fake_time: FakeTime
) -> None:
    fake.fail_next(2, status=503)

    await http.get(TIME)

    assert fake.requests[TIME] == 3
    assert fake_time.sleeps == [0.01, 0.02]


async def test_a_5xx_that_persists_raises_an_ambiguous_server_error_after_every_attempt(
    fake: FakeBinance, http: BinanceHttp, fake_time: FakeTime
) -> None:
    fake.fail_next(10, status=500)

    with pytest.raises(BinanceServerError) as raised:
        await http.get(TIME)

    assert raised.value.ambiguous
    assert (raised.value.status, raised.value.code) == (500, -1000)
    assert fake.requests[TIME] == QUICK_RETRY.attempts
    assert fake_time.sleeps == [0.01, 0.02, 0.04]


async def test_a_5xx_on_post_is_never_retried(fake: FakeBinance, http: BinanceHttp) -> None:
    fake.fail_next(status=503, path=ORDER)

    with pytest.raises(BinanceServerError):
        await http.request("POST", ORDER, {"symbol": "BTCUSDT", "side": "BUY"})

    assert fake.requests[ORDER] == 1


async def test_a_5xx_with_a_body_that_is_not_binance_json_keeps_the_text(
    fake: FakeBinance, http: BinanceHttp
) -> None:
    fake.fail_next(status=502, body="<html>502 Bad Gateway</html>")
    fake.fail_next(status=502, body="")

    await http.get(TIME)
    fake.fail_next(status=502, body="<html>502 Bad Gateway</html>")
    async with client(fake.rest_url, FakeTime(), retry=RetryPolicy(attempts=1)) as once:
        with pytest.raises(BinanceServerError) as raised:
            await once.get(TIME)

    assert raised.value.code is None
    assert "502 Bad Gateway" in raised.value.msg


async def test_a_lost_answer_on_get_is_retried_then_succeeds(
    fake: FakeBinance, fake_time: FakeTime
) -> None:
    fake.hang_next()
    async with client(fake.rest_url, fake_time, timeout=0.05) as http:
        await http.get(TIME)

    assert fake.requests[TIME] == 2


async def test_a_lost_answer_on_post_raises_an_ambiguous_no_response_without_resending(
    fake: FakeBinance, fake_time: FakeTime
) -> None:
    fake.hang_next(path=ORDER)
    async with client(fake.rest_url, fake_time, timeout=0.05) as http:
        with pytest.raises(BinanceNoResponse) as raised:
            await http.request("POST", ORDER, {"symbol": "BTCUSDT"})

    assert raised.value.ambiguous
    assert fake.requests[ORDER] == 1


def closed_port() -> int:
    """A loopback port nobody listens on."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


async def test_a_refused_connection_is_retried_then_raises_a_definitive_connection_error(
    fake_time: FakeTime,
) -> None:
    async with client(f"http://127.0.0.1:{closed_port()}", fake_time) as http:
        with pytest.raises(BinanceConnectionError) as raised:
            await http.request("POST", ORDER)

    assert not raised.value.ambiguous
    assert fake_time.sleeps == [0.01, 0.02, 0.04]


# --- error answers ------------------------------------------------------------------------------


async def test_a_minus_1021_answer_raises_a_timestamp_error_without_retrying(
    fake: FakeBinance, http: BinanceHttp
) -> None:
    fake.fail_next(
        status=400, code=-1021, msg="Timestamp for this request is outside of the recvWindow."
    )

    with pytest.raises(BinanceTimestampError) as raised:
        await http.get(TIME)

    assert (raised.value.status, raised.value.code) == (400, -1021)
    assert "recvWindow" in str(raised.value)
    assert fake.requests[TIME] == 1


@pytest.mark.parametrize(
    ("status", "code", "expected"),
    [
        (401, -2015, BinanceAuthError),
        (400, -4164, BinanceFilterError),
        (400, -2011, BinanceUnknownOrder),
        (400, -1121, BinanceBadRequest),
    ],
)
async def test_binance_error_codes_raise_their_family(
    fake: FakeBinance, http: BinanceHttp, status: int, code: int, expected: type[BinanceError]
) -> None:
    fake.fail_next(status=status, code=code, msg="refused")

    with pytest.raises(expected) as raised:
        await http.get(TIME)

    assert raised.value.code == code
    assert not raised.value.ambiguous


async def test_a_200_whose_body_is_not_json_raises_malformed_message_without_retrying(
    fake: FakeBinance, http: BinanceHttp
) -> None:
    fake.fail_next(status=200, body='{"serverTime": 17')

    with pytest.raises(MalformedMessage) as raised:
        await http.get(TIME)

    assert raised.value.field == f"GET {TIME}"
    assert fake.requests[TIME] == 1


async def test_an_unknown_path_is_a_bad_request(fake: FakeBinance, http: BinanceHttp) -> None:
    with pytest.raises(BinanceBadRequest) as raised:
        await http.get("/fapi/v1/nothing")

    assert raised.value.status == 404


@pytest.mark.parametrize(
    ("status", "code", "expected"),
    [
        (418, -1003, BinanceIpBanned),
        (429, -1003, BinanceRateLimited),
        (400, -1003, BinanceRateLimited),
        (400, -1021, BinanceTimestampError),
        (400, -1022, BinanceAuthError),
        (401, -2014, BinanceAuthError),
        (401, -2015, BinanceAuthError),
        (400, -1013, BinanceFilterError),
        (400, -1111, BinanceFilterError),
        (400, -4014, BinanceFilterError),
        (400, -4023, BinanceFilterError),
        (400, -4164, BinanceFilterError),
        (400, -2019, BinanceMarginError),
        (400, -2011, BinanceUnknownOrder),
        (400, -2013, BinanceUnknownOrder),
        (400, -1102, BinanceBadRequest),
        (400, -4061, BinanceBadRequest),
        (408, -1007, BinanceServerError),
        (500, None, BinanceServerError),
        (503, -1008, BinanceServerError),
        (302, None, BinanceError),
    ],
)
def test_error_from_response_picks_the_family_by_status_then_code(
    status: int, code: int | None, expected: type[BinanceError]
) -> None:
    error = error_from_response(status, code, "message", retry_after=1.0)

    assert type(error) is expected
    assert (error.status, error.code, error.msg, error.retry_after) == (
        status,
        code,
        "message",
        1.0,
    )
