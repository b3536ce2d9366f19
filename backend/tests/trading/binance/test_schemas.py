"""The trading wire format, read from Binance's documented examples (`fakes/payloads/`), and the
fake venue answering in the same shapes, so tests against the fake say something about Binance."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import pytest
from fakes.binance_server import load_payload
from trading.binance.venue import API_KEY, API_SECRET, binance_venue
from websockets.asyncio.client import connect

from alphatransformer.market.binance.errors import MalformedMessage
from alphatransformer.market.binance.http import BinanceHttp, RequestSigner
from alphatransformer.trading.binance.schemas import (
    parse_account_update,
    parse_algo_order,
    parse_algo_update,
    parse_order_trade_update,
    parse_position_risk,
    parse_user_trades,
)
from alphatransformer.trading.models import MarginType, OrderStatus, OrderType

D = Decimal


def test_a_documented_position_row_reads_exactly() -> None:
    (row,) = parse_position_risk(load_payload("http_get_position_risk_v3.json"))

    assert (row.symbol, row.quantity, row.entry_price, row.mark_price) == (
        "ADAUSDT",
        D(30),
        D("0.385"),
        D("0.41047590"),
    )
    assert (row.unrealized_pnl, row.initial_margin) == (D("0.76427700"), D("0.61571385"))
    assert row.liquidation_price is None  # "0": none


def test_a_documented_trade_reads_with_its_commission_as_a_cost() -> None:
    (fill,) = parse_user_trades(load_payload("http_get_user_trades.json"))

    assert (fill.trade_id, fill.order_id, fill.quantity, fill.price) == (
        698759,
        "25851813",
        D("0.002"),
        D("7819.01"),
    )
    assert (fill.fee, fill.realized_pnl) == (D("0.07819010"), D("-0.91539999"))


def test_types_this_system_does_not_trade_are_refused_by_name() -> None:
    """Binance's examples show a TAKE_PROFIT (limit) and a trailing stop: no order of ours."""
    with pytest.raises(MalformedMessage) as algo:
        parse_algo_order(load_payload("http_post_algo_order.json"))
    with pytest.raises(MalformedMessage) as event:
        parse_order_trade_update(load_payload("ws_order_trade_update_trailing_new.json"))

    assert algo.value.field == "algoOrder.orderType"
    assert event.value.field == "ORDER_TRADE_UPDATE.o.o"


def test_a_documented_algo_order_reads_as_a_conditional_order() -> None:
    payload = {**load_payload("http_post_algo_order.json"), "orderType": "TAKE_PROFIT_MARKET"}

    algo = parse_algo_order(payload)

    assert (algo.update.client_order_id, algo.update.exchange_order_id) == (
        "6B2I9XVcJpCjqPAJ4YoFX7",
        "2146760",
    )
    assert (algo.update.type, algo.update.status) == (OrderType.TAKE_PROFIT_MARKET, OrderStatus.NEW)
    assert (algo.update.quantity, algo.update.stop_price) == (D("0.01"), D(750))
    assert algo.actual_order_id is None


def test_a_documented_algo_update_reads_with_its_status() -> None:
    message = load_payload("ws_algo_update_canceled.json")
    message["o"]["o"] = "TAKE_PROFIT_MARKET"

    algo = parse_algo_update(message)

    assert (algo.update.client_order_id, algo.update.status) == (
        "Q5xaq5EGKgXXa0fD7fs0Ip",
        OrderStatus.CANCELED,
    )
    assert (algo.update.filled_quantity, algo.update.avg_price, algo.actual_order_id) == (
        D(0),
        None,
        None,
    )


def test_a_trade_event_carries_that_trade_s_fee_and_pnl() -> None:
    message = load_payload("ws_order_trade_update_trailing_new.json")
    trade = {"o": "MARKET", "x": "TRADE", "X": "FILLED", "l": "0.001", "z": "0.001"}
    message["o"] |= trade | {"L": "7100", "ap": "7100", "n": "0.00355", "rp": "1.5", "t": 12}

    event = parse_order_trade_update(message)

    assert (event.update.status, event.update.filled_quantity) == (OrderStatus.FILLED, D("0.001"))
    assert event.fill is not None
    assert (event.fill.trade_id, event.fill.fee, event.fill.realized_pnl) == (
        12,
        D("0.00355"),
        D("1.5"),
    )


def test_a_trade_without_commission_fields_costs_nothing() -> None:
    """Binance leaves out `N` and `n` when a trade pays no commission."""
    message = load_payload("ws_order_trade_update_trailing_new.json")
    message["o"] |= {"o": "MARKET", "x": "TRADE", "X": "FILLED", "l": "0.001", "z": "0.001"}
    del message["o"]["N"], message["o"]["n"]

    event = parse_order_trade_update(message)

    assert event.fill is not None
    assert (event.fill.fee, event.fill.fee_asset) == (D(0), "USDT")


def test_a_documented_account_update_reads_balances_and_positions() -> None:
    change = parse_account_update(load_payload("ws_account_update.json"))

    assert change.reason == "ORDER"
    assert change.wallet_balances == {"USDT": D("122624.12345678"), "BUSD": D(1)}
    assert [p.quantity for p in change.positions] == [D(0), D(20), D(-10)]
    assert {p.margin_type for p in change.positions} == {MarginType.ISOLATED}


def keys(payload: Any) -> set[str]:
    return set(payload)


async def test_the_fake_venue_answers_in_the_documented_shapes() -> None:
    async with binance_venue() as v:
        signer = RequestSigner(API_KEY, API_SECRET, v.server_clock.now_ms, recv_window_ms=5000)
        async with (
            BinanceHttp(v.fake.rest_url, signer=signer) as http,
            connect(f"{v.fake.ws_url}/private/ws?listenKey={v.venue.listen_key}") as ws,
        ):
            await v.venue.wait_for_user_streams(2)
            entry = {"symbol": "BTCUSDT", "side": "BUY", "type": "MARKET", "quantity": "0.1"}
            await http.request("POST", "/fapi/v1/order", entry, signed=True)
            stop = {
                "algoType": "CONDITIONAL",
                "symbol": "BTCUSDT",
                "side": "SELL",
                "type": "STOP_MARKET",
                "triggerPrice": "49000",
                "closePosition": "true",
            }
            algo = await http.request("POST", "/fapi/v1/algoOrder", stop, signed=True)
            risk = await http.request("GET", "/fapi/v3/positionRisk", signed=True)
            trades = await http.request(
                "GET", "/fapi/v1/userTrades", {"symbol": "BTCUSDT"}, signed=True
            )
            events = {}
            while len(events) < 3:
                event = json.loads(await ws.recv())
                events.setdefault(event["e"], event)

    documented_algo = load_payload("http_post_algo_order.json")
    assert keys(algo) == keys(documented_algo)
    assert keys(risk[0]) == keys(load_payload("http_get_position_risk_v3.json")[0])
    assert keys(trades[0]) == keys(load_payload("http_get_user_trades.json")[0])
    order_event = events["ORDER_TRADE_UPDATE"]
    documented = load_payload("ws_order_trade_update_trailing_new.json")
    # AP and cr belong to trailing stops only.
    assert keys(order_event["o"]) == keys(documented["o"]) - {"AP", "cr"}
    account_event = events["ACCOUNT_UPDATE"]["a"]
    documented_account = load_payload("ws_account_update.json")["a"]
    assert keys(account_event["B"][0]) == keys(documented_account["B"][0])
    assert keys(account_event["P"][0]) == keys(documented_account["P"][0])
    algo_event = events["ALGO_UPDATE"]["o"]
    # ap, aq and act appear once the order has triggered.
    assert keys(algo_event) == keys(load_payload("ws_algo_update_canceled.json")["o"]) - {
        "ap",
        "aq",
        "act",
    }
