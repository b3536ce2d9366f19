"""The wire format becomes our types exactly, and anything off-shape is refused with the field
named. Inputs are the recorded payloads the fake server serves too."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest
from fakes.binance_server import load_payload

from alphatransformer.market.binance.errors import BinanceError, MalformedMessage
from alphatransformer.market.binance.schemas import (
    FundingRate,
    parse_exchange_info,
    parse_funding_intervals,
    parse_funding_rates,
    parse_kline_event,
    parse_kline_row,
    parse_mark_price_event,
    parse_open_interest,
    parse_premium_index,
    parse_server_time,
)
from alphatransformer.market.types import FundingInfo, Interval, Kline, OpenInterest
from alphatransformer.trading.filters import SymbolFilters


def first_row() -> list[Any]:
    rows: list[list[Any]] = load_payload("http_get_klines.json")
    return rows[0]


def closed_event() -> dict[str, Any]:
    message: dict[str, Any] = load_payload("ws_kline_closed.json")
    return message


def malformed_field(call: Any, *args: Any) -> str:
    with pytest.raises(MalformedMessage) as raised:
        call(*args)
    return raised.value.field


# --- klines --------------------------------------------------------------------------------


def test_a_rest_kline_row_becomes_a_kline_with_every_field() -> None:
    kline = parse_kline_row(first_row(), "BTCUSDT", Interval.M3)

    assert kline == Kline(
        symbol="BTCUSDT",
        interval=Interval.M3,
        open_time=1736899200000,
        open=100108.10,
        high=100264.90,
        low=100020.00,
        close=100186.40,
        volume=412.518,
        close_time=1736899379999,
        quote_volume=41322519.58330,
        trades=8127,
        taker_buy_volume=228.337,
        taker_buy_quote_volume=22873611.05540,
        closed=True,
    )


def test_a_rest_kline_row_is_forming_when_the_caller_says_so() -> None:
    assert not parse_kline_row(first_row(), "BTCUSDT", Interval.M3, closed=False).closed


@pytest.mark.parametrize("index", range(11))
def test_a_kline_row_with_a_null_field_names_that_field(index: int) -> None:
    row = first_row()
    row[index] = None

    assert malformed_field(parse_kline_row, row, "BTCUSDT", Interval.M3) == f"kline row[{index}]"


@pytest.mark.parametrize(("index", "value"), [(0, "1736899200000"), (6, 1.5), (8, True)])
def test_a_kline_row_time_or_count_that_is_not_an_integer_is_refused(
    index: int, value: object
) -> None:
    row = first_row()
    row[index] = value

    assert malformed_field(parse_kline_row, row, "BTCUSDT", Interval.M3) == f"kline row[{index}]"


def test_a_truncated_kline_row_names_the_first_missing_field() -> None:
    error_field = malformed_field(parse_kline_row, first_row()[:5], "BTCUSDT", Interval.M3)

    assert error_field == "kline row[5]"


def test_a_closed_kline_event_from_a_combined_stream_becomes_a_closed_kline() -> None:
    kline = parse_kline_event(closed_event())

    assert kline == Kline(
        symbol="BTCUSDT",
        interval=Interval.M3,
        open_time=1736899740000,
        open=100037.50,
        high=100188.00,
        low=99998.10,
        close=100129.80,
        volume=356.207,
        close_time=1736899919999,
        quote_volume=35652671.09380,
        trades=7515,
        taker_buy_volume=199.630,
        taker_buy_quote_volume=19980652.76470,
        closed=True,
    )


def test_a_forming_kline_event_becomes_a_forming_kline() -> None:
    kline = parse_kline_event(load_payload("ws_kline_forming.json"))

    assert not kline.closed
    assert (kline.open_time, kline.close, kline.trades) == (1736899740000, 100052.10, 268)


def test_a_bare_kline_event_parses_like_its_combined_stream_wrapper() -> None:
    message = closed_event()

    assert parse_kline_event(message["data"]) == parse_kline_event(message)


@pytest.mark.parametrize(
    "key", ["s", "i", "t", "o", "h", "l", "c", "v", "T", "q", "n", "V", "Q", "x"]
)
def test_a_kline_event_missing_a_field_names_that_field(key: str) -> None:
    message = closed_event()
    del message["data"]["k"][key]

    assert malformed_field(parse_kline_event, message) == f"kline event.k.{key}"


@pytest.mark.parametrize(
    ("key", "value"),
    [("t", "1736899740000"), ("x", "true"), ("i", "7m"), ("o", "abc"), ("n", None), ("s", 1)],
)
def test_a_kline_event_field_of_the_wrong_type_names_that_field(key: str, value: object) -> None:
    message = closed_event()
    message["data"]["k"][key] = value

    assert malformed_field(parse_kline_event, message) == f"kline event.k.{key}"


@pytest.mark.parametrize("message", [{"stream": "x", "data": {"e": "kline"}}, [], None, "kline"])
def test_a_message_without_a_kline_is_malformed(message: object) -> None:
    assert malformed_field(parse_kline_event, message) == "kline event.k"


def test_a_malformed_message_is_both_a_value_error_and_a_binance_error() -> None:
    with pytest.raises(MalformedMessage) as raised:
        parse_kline_event({})

    assert isinstance(raised.value, ValueError)
    assert isinstance(raised.value, BinanceError)
    assert "kline event.k: missing" in str(raised.value)


# --- exchangeInfo --------------------------------------------------------------------------


def test_exchange_info_gives_exact_decimal_filters_for_every_symbol() -> None:
    filters = parse_exchange_info(load_payload("http_get_exchange_info.json"))

    assert sorted(filters) == ["BTCUSDT", "ETHUSDT", "SOLUSDT"]
    assert filters["BTCUSDT"] == SymbolFilters(
        symbol="BTCUSDT",
        tick_size=Decimal("0.10"),
        min_price=Decimal("556.80"),
        max_price=Decimal("4529764"),
        step_size=Decimal("0.001"),
        min_qty=Decimal("0.001"),
        max_qty=Decimal("1000"),
        market_step_size=Decimal("0.001"),
        market_min_qty=Decimal("0.001"),
        market_max_qty=Decimal("120"),
        min_notional=Decimal("100"),
    )
    sol = filters["SOLUSDT"]
    assert (sol.tick_size, sol.step_size, sol.min_notional) == (
        Decimal("0.0100"),
        Decimal("1"),
        Decimal("5"),
    )
    assert filters["ETHUSDT"].market_max_qty == Decimal("2000")


def exchange_info_with(change: Callable[[dict[str, Any], dict[str, Any]], None]) -> dict[str, Any]:
    """The recorded exchangeInfo after `change(BTCUSDT's filters by type, BTCUSDT's entry)`."""
    payload: dict[str, Any] = load_payload("http_get_exchange_info.json")
    btc = payload["symbols"][0]
    change({entry["filterType"]: entry for entry in btc["filters"]}, btc)
    return payload


def test_futures_min_notional_is_read_from_notional_not_spots_min_notional() -> None:
    def spot_style(filters: dict[str, Any], _: Any) -> None:
        filters["MIN_NOTIONAL"]["minNotional"] = filters["MIN_NOTIONAL"].pop("notional")

    error_field = malformed_field(parse_exchange_info, exchange_info_with(spot_style))

    assert error_field == "exchangeInfo BTCUSDT MIN_NOTIONAL.notional"


def test_a_missing_filter_is_named() -> None:
    def without_market_lot_size(_: Any, btc: dict[str, Any]) -> None:
        btc["filters"] = [f for f in btc["filters"] if f["filterType"] != "MARKET_LOT_SIZE"]

    error_field = malformed_field(parse_exchange_info, exchange_info_with(without_market_lot_size))

    assert error_field == "exchangeInfo BTCUSDT MARKET_LOT_SIZE.stepSize"


@pytest.mark.parametrize("tick_size", [0.1, "0.1x", "NaN", None])
def test_a_filter_value_that_is_not_a_finite_decimal_string_is_refused(tick_size: object) -> None:
    def bad_tick(filters: dict[str, Any], _: Any) -> None:
        filters["PRICE_FILTER"]["tickSize"] = tick_size

    error_field = malformed_field(parse_exchange_info, exchange_info_with(bad_tick))

    assert error_field == "exchangeInfo BTCUSDT PRICE_FILTER.tickSize"


def test_exchange_info_without_symbols_is_malformed() -> None:
    assert malformed_field(parse_exchange_info, {"rateLimits": []}) == "exchangeInfo.symbols"


# --- funding, mark price, open interest, time --------------------------------------------------


def test_premium_index_becomes_funding_info() -> None:
    assert parse_premium_index(load_payload("http_get_premium_index.json")) == FundingInfo(
        symbol="BTCUSDT",
        mark_price=100041.2345,
        index_price=100079.61934783,
        funding_rate=0.0001,
        next_funding_time=1736928000000,
        time=1736899745000,
    )


def test_premium_index_without_a_mark_price_is_malformed() -> None:
    payload = load_payload("http_get_premium_index.json")
    del payload["markPrice"]

    assert malformed_field(parse_premium_index, payload) == "premiumIndex.markPrice"


def test_a_mark_price_event_becomes_funding_info_stamped_with_the_event_time() -> None:
    message = load_payload("ws_mark_price.json")

    info = parse_mark_price_event(message)

    assert info == FundingInfo(
        symbol="BTCUSDT",
        mark_price=100041.2345,
        index_price=100079.61934783,
        funding_rate=0.0001,
        next_funding_time=1736928000000,
        time=1736899743000,
    )
    assert parse_mark_price_event(message["data"]) == info


def test_a_mark_price_event_with_a_text_funding_time_is_malformed() -> None:
    message = load_payload("ws_mark_price.json")
    message["data"]["T"] = "1736928000000"

    assert malformed_field(parse_mark_price_event, message) == "markPriceUpdate.T"


def test_funding_rate_history_keeps_order_and_reads_an_empty_mark_price_as_none() -> None:
    rates = parse_funding_rates(load_payload("http_get_funding_rate.json"))

    assert rates == [
        FundingRate("BTCUSDT", 0.0001, 1569888000000, None),
        FundingRate("BTCUSDT", 0.00008173, 1736841600000, 96523.1),
        FundingRate("BTCUSDT", 0.0001, 1736870400001, 97850.4),
    ]


def test_funding_rate_history_that_is_not_a_list_is_malformed() -> None:
    assert malformed_field(parse_funding_rates, {"code": -1121}) == "fundingRate"


def funding_info_payload() -> list[dict[str, Any]]:
    """`/fapi/v1/fundingInfo` as Binance answers it: only the adjusted symbols."""
    return [
        {
            "symbol": "BLZUSDT",
            "adjustedFundingRateCap": "0.02500000",
            "adjustedFundingRateFloor": "-0.02500000",
            "fundingIntervalHours": 4,
            "disclaimer": False,
        },
        {
            "symbol": "1000PEPEUSDT",
            "adjustedFundingRateCap": "0.03000000",
            "adjustedFundingRateFloor": "-0.03000000",
            "fundingIntervalHours": 1,
            "disclaimer": False,
        },
    ]


def test_funding_info_gives_the_settlement_interval_of_each_adjusted_symbol() -> None:
    assert parse_funding_intervals(funding_info_payload()) == {"BLZUSDT": 4, "1000PEPEUSDT": 1}
    assert parse_funding_intervals([]) == {}


@pytest.mark.parametrize(
    ("key", "value"),
    [("fundingIntervalHours", "4"), ("fundingIntervalHours", 0), ("fundingIntervalHours", True)],
)
def test_a_funding_interval_that_is_not_a_whole_number_of_hours_is_malformed(
    key: str, value: object
) -> None:
    payload = funding_info_payload()
    payload[1][key] = value

    assert malformed_field(parse_funding_intervals, payload) == f"fundingInfo[].{key}"


@pytest.mark.parametrize("key", ["symbol", "fundingIntervalHours"])
def test_a_funding_info_entry_missing_a_field_names_that_field(key: str) -> None:
    payload = funding_info_payload()
    del payload[0][key]

    assert malformed_field(parse_funding_intervals, payload) == f"fundingInfo[].{key}"


def test_funding_info_that_is_not_a_list_of_objects_is_malformed() -> None:
    assert malformed_field(parse_funding_intervals, {"code": -1000}) == "fundingInfo"
    assert malformed_field(parse_funding_intervals, ["BLZUSDT"]) == "fundingInfo[].symbol"


def test_funding_info_read_for_some_symbols_skips_the_odd_entries_of_others() -> None:
    payload = funding_info_payload()
    payload[0]["fundingIntervalHours"] = 0  # BLZUSDT's entry is broken
    payload.append({"note": "an entry with no symbol"})

    assert parse_funding_intervals(payload, {"1000PEPEUSDT", "BTCUSDT"}) == {"1000PEPEUSDT": 1}
    assert (
        malformed_field(lambda p: parse_funding_intervals(p, {"BLZUSDT"}), payload)
        == "fundingInfo[].fundingIntervalHours"
    )


def test_open_interest_becomes_open_interest() -> None:
    assert parse_open_interest(load_payload("http_get_open_interest.json")) == OpenInterest(
        symbol="BTCUSDT", open_interest=81205.384, time=1736899744873
    )


def test_server_time_is_read_and_must_be_an_integer() -> None:
    assert parse_server_time(load_payload("http_get_time.json")) == 1736899745123
    assert malformed_field(parse_server_time, {"serverTime": "now"}) == "time.serverTime"
