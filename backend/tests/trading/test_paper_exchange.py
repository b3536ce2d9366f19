"""The paper exchange as a specification of Binance USDⓈ-M one-way mode, every number worked out
by hand in the comments.

Unless a test says otherwise: 10,000 USDT deposited, taker fee 0.05 %, no slippage, BTCUSDT at
50,000 (tick 0.10, step 0.001, min notional 100, maintenance margin 0.4 %), ETHUSDT at 2,000
(tick 0.01, step 0.001, min notional 20), leverage 20x cross, the clock at 01:00 UTC (the next
funding is at 08:00) and 1-minute candles driving triggers.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

import pytest
from trading.fake_market import DAY_START_MS, HOUR_MS, MINUTE_MS, FakeMarket

from alphatransformer.config.schema import PaperExchangeConfig
from alphatransformer.trading.errors import (
    DefinitiveRejection,
    FilterRejection,
    InsufficientMargin,
    OrderNotFound,
)
from alphatransformer.trading.filters import SymbolFilters
from alphatransformer.trading.models import (
    MarginType,
    OrderRequest,
    OrderSide,
    OrderStatus,
    OrderType,
    OrderUpdate,
)
from alphatransformer.trading.paper.exchange import PaperExchange
from alphatransformer.trading.paper.ledger import IncomeType
from alphatransformer.trading.paper.symbols import derive_spec
from alphatransformer.utils.clock import ManualClock

D = Decimal
BUY, SELL = OrderSide.BUY, OrderSide.SELL
NO_SLIPPAGE = PaperExchangeConfig(slippage_bps=D(0))
WITH_SLIPPAGE = PaperExchangeConfig(slippage_bps=D(2))
EIGHT_AM_MS = DAY_START_MS + 8 * HOUR_MS


@dataclass
class Venue:
    exchange: PaperExchange
    market: FakeMarket
    clock: ManualClock
    updates: list[OrderUpdate] = field(default_factory=list)

    def next_minute(self) -> None:
        self.clock.advance(MINUTE_MS)

    async def wallet(self) -> Decimal:
        return (await self.exchange.account()).wallet_balance


async def open_venue(
    config: PaperExchangeConfig = NO_SLIPPAGE,
    *,
    now_ms: int = DAY_START_MS + HOUR_MS,
    filters: dict[str, SymbolFilters] | None = None,
) -> Venue:
    clock = ManualClock(now_ms)
    market = FakeMarket(clock)
    market.set_price("BTCUSDT", 50_000.0)
    market.set_price("ETHUSDT", 2_000.0)
    venue = Venue(PaperExchange(config, market, clock, filters), market, clock)
    venue.exchange.add_order_listener(venue.updates.append)
    await venue.exchange.start()
    return venue


def market_order(
    symbol: str, side: OrderSide, quantity: str, client_id: str, *, reduce_only: bool = False
) -> OrderRequest:
    return OrderRequest(
        symbol, side, OrderType.MARKET, client_id, D(quantity), reduce_only=reduce_only
    )


def closing_order(
    symbol: str, side: OrderSide, order_type: OrderType, stop: str, client_id: str
) -> OrderRequest:
    return OrderRequest(
        symbol, side, order_type, client_id, stop_price=D(stop), close_position=True
    )


async def long_eth_with_stop_and_target(venue: Venue) -> None:
    """1 ETH long, stop-loss at 1,900 and take-profit at 2,200, both close-position."""
    await venue.exchange.place_order(market_order("ETHUSDT", BUY, "1", "entry"))
    await venue.exchange.place_order(
        closing_order("ETHUSDT", SELL, OrderType.STOP_MARKET, "1900", "sl")
    )
    await venue.exchange.place_order(
        closing_order("ETHUSDT", SELL, OrderType.TAKE_PROFIT_MARKET, "2200", "tp")
    )
    venue.updates.clear()


def statuses(updates: list[OrderUpdate]) -> list[tuple[str, OrderStatus]]:
    return [(u.client_order_id, u.status) for u in updates]


# --- market orders, fees, slippage, PnL ------------------------------------------------------


async def test_market_buy_fills_at_the_price_worsened_by_slippage_and_pays_taker_fee() -> None:
    venue = await open_venue(WITH_SLIPPAGE)

    update = await venue.exchange.place_order(market_order("BTCUSDT", BUY, "0.1", "b1"))

    # 50,000 x (1 + 2/10,000) = 50,010.0; fee 50,010 x 0.1 x 0.0005 = 2.5005
    assert update.status is OrderStatus.FILLED
    assert update.filled_quantity == D("0.1")
    assert update.avg_price == D("50010.0")
    assert update.fee == D("2.5005")
    assert update.realized_pnl == 0
    account = await venue.exchange.account()
    assert account.wallet_balance == D("9997.4995")  # 10,000 - 2.5005
    assert account.unrealized_pnl == D("-1.0")  # (50,000 - 50,010) x 0.1, marked at last price
    assert account.margin_used == D("250")  # 0.1 x 50,000 / 20
    assert account.available_balance == D("9746.4995")  # 9,997.4995 - 1.0 - 250
    assert account.equity == D("9996.4995")


async def test_market_sell_fills_lower_by_slippage_rounded_down_to_the_tick() -> None:
    venue = await open_venue(WITH_SLIPPAGE)
    venue.market.set_price("ETHUSDT", 2000.003)

    update = await venue.exchange.place_order(market_order("ETHUSDT", SELL, "1", "s1"))

    # 2,000.003 x 0.9998 = 1,999.6030006, down to the 0.01 tick: 1,999.60; fee 0.9998
    assert update.avg_price == D("1999.60")
    assert update.fee == D("0.9998")
    position = (await venue.exchange.account()).position("ETHUSDT")
    assert position is not None
    assert position.quantity == D("-1")
    assert position.entry_price == D("1999.60")


async def test_closing_a_long_realizes_the_price_difference_and_pays_both_fees() -> None:
    venue = await open_venue()
    await venue.exchange.place_order(market_order("ETHUSDT", BUY, "1", "open"))
    venue.market.set_price("ETHUSDT", 2100.0)

    close = await venue.exchange.place_order(market_order("ETHUSDT", SELL, "1", "close"))

    assert close.realized_pnl == D("100")  # (2,100 - 2,000) x 1
    assert close.fee == D("1.05")  # 2,100 x 0.0005; the entry paid 2,000 x 0.0005 = 1.00
    account = await venue.exchange.account()
    assert account.positions == ()
    assert account.wallet_balance == D("10097.95")  # 10,000 - 1.00 + 100 - 1.05
    assert [(r.income_type, r.income) for r in venue.exchange.income()] == [
        (IncomeType.TRANSFER, D("10000")),
        (IncomeType.COMMISSION, D("-1")),
        (IncomeType.REALIZED_PNL, D("100")),
        (IncomeType.COMMISSION, D("-1.05")),
    ]


async def test_adding_to_a_position_averages_the_entry_price() -> None:
    venue = await open_venue()
    await venue.exchange.place_order(market_order("ETHUSDT", BUY, "1", "first"))
    venue.market.set_price("ETHUSDT", 2100.0)
    await venue.exchange.place_order(market_order("ETHUSDT", BUY, "3", "add"))

    position = (await venue.exchange.account()).position("ETHUSDT")
    assert position is not None
    assert position.quantity == D("4")
    assert position.entry_price == D("2075")  # (1 x 2,000 + 3 x 2,100) / 4

    venue.market.set_price("ETHUSDT", 2200.0)
    close = await venue.exchange.place_order(market_order("ETHUSDT", SELL, "4", "close"))
    assert close.realized_pnl == D("500")  # (2,200 - 2,075) x 4


async def test_an_opposite_order_larger_than_the_position_closes_it_and_opens_the_rest() -> None:
    venue = await open_venue()
    await venue.exchange.place_order(market_order("ETHUSDT", BUY, "1", "long"))
    venue.market.set_price("ETHUSDT", 1900.0)

    flip = await venue.exchange.place_order(market_order("ETHUSDT", SELL, "3", "flip"))

    assert flip.realized_pnl == D("-100")  # (1,900 - 2,000) x 1 closed
    assert flip.fee == D("2.85")  # 3 x 1,900 x 0.0005
    position = (await venue.exchange.account()).position("ETHUSDT")
    assert position is not None
    assert position.quantity == D("-2")  # 1 - 3
    assert position.entry_price == D("1900")


# --- refusals --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("held", "request_"),
    [
        pytest.param(None, market_order("ETHUSDT", SELL, "1", "r", reduce_only=True), id="flat"),
        pytest.param("1", market_order("ETHUSDT", BUY, "1", "r", reduce_only=True), id="same-side"),
        pytest.param(
            "1", market_order("ETHUSDT", SELL, "2", "r", reduce_only=True), id="beyond-size"
        ),
        pytest.param(
            None, closing_order("ETHUSDT", SELL, OrderType.STOP_MARKET, "1900", "r"), id="close"
        ),
    ],
)
async def test_reduce_only_orders_that_would_open_exposure_are_rejected(
    held: str | None, request_: OrderRequest
) -> None:
    venue = await open_venue()
    if held is not None:
        await venue.exchange.place_order(market_order("ETHUSDT", BUY, held, "long"))

    with pytest.raises(DefinitiveRejection) as rejection:
        await venue.exchange.place_order(request_)

    assert rejection.value.code == -2022
    assert await venue.exchange.query_order("ETHUSDT", "r") is None


async def test_reduce_only_orders_are_exempt_from_min_notional() -> None:
    venue = await open_venue()
    await venue.exchange.place_order(market_order("ETHUSDT", BUY, "0.02", "long"))  # 40 USDT

    # 0.005 x 2,000 = 10 USDT, under the 20 USDT minimum
    with pytest.raises(FilterRejection) as rejection:
        await venue.exchange.place_order(market_order("ETHUSDT", SELL, "0.005", "plain"))
    assert rejection.value.code == -4164
    reduce = await venue.exchange.place_order(
        market_order("ETHUSDT", SELL, "0.005", "reduce", reduce_only=True)
    )
    assert reduce.status is OrderStatus.FILLED


TEST_FILTERS = SymbolFilters(
    symbol="TESTUSDT",
    tick_size=D("0.01"),
    min_price=D("0.01"),
    max_price=D("100000"),
    step_size=D("0.1"),
    min_qty=D("1"),
    max_qty=D("1000"),
    market_step_size=D("0.1"),
    market_min_qty=D("1"),
    market_max_qty=D("1000"),
    min_notional=D("5"),
)


@pytest.mark.parametrize(
    ("symbol", "quantity", "code"),
    [
        pytest.param("BTCUSDT", "0.0015", -1111, id="off-step"),
        pytest.param("BTCUSDT", "0.001", -4164, id="notional-50-under-100"),
        pytest.param("BTCUSDT", "121", -4005, id="above-market-max-120"),
        pytest.param("TESTUSDT", "0.5", -4005, id="under-min-qty-1"),
    ],
)
async def test_orders_breaking_symbol_filters_are_rejected(
    symbol: str, quantity: str, code: int
) -> None:
    venue = await open_venue(filters={"TESTUSDT": TEST_FILTERS})
    venue.market.set_price("TESTUSDT", 10.0)

    with pytest.raises(FilterRejection) as rejection:
        await venue.exchange.place_order(market_order(symbol, BUY, quantity, "f"))

    assert rejection.value.code == code
    assert venue.updates == []


async def test_an_entry_whose_margin_and_fee_exceed_the_balance_leaves_no_trace() -> None:
    venue = await open_venue()

    # 4 BTC: margin 4 x 50,000 / 20 = 10,000, plus fee 200,000 x 0.0005 = 100: 10,100 > 10,000
    with pytest.raises(InsufficientMargin) as rejection:
        await venue.exchange.place_order(market_order("BTCUSDT", BUY, "4", "big"))
    assert rejection.value.code == -2019
    assert await venue.exchange.query_order("BTCUSDT", "big") is None
    assert [r.income_type for r in venue.exchange.income()] == [IncomeType.TRANSFER]

    # 3.9 BTC: margin 9,750 plus fee 97.5 = 9,847.5 fits
    await venue.exchange.place_order(market_order("BTCUSDT", BUY, "3.9", "fits"))
    account = await venue.exchange.account()
    assert account.available_balance == D("152.5")  # 10,000 - 97.5 - 9,750


async def test_a_reused_client_order_id_is_rejected_as_duplicated() -> None:
    venue = await open_venue()
    await venue.exchange.place_order(market_order("ETHUSDT", BUY, "1", "same"))

    with pytest.raises(DefinitiveRejection) as rejection:
        await venue.exchange.place_order(market_order("ETHUSDT", SELL, "1", "same"))

    assert rejection.value.code == -4116


async def test_limit_orders_are_rejected_as_unsupported() -> None:
    venue = await open_venue()
    limit = OrderRequest("ETHUSDT", BUY, OrderType.LIMIT, "l", D("1"), price=D("1990"))

    with pytest.raises(DefinitiveRejection, match="LIMIT") as rejection:
        await venue.exchange.place_order(limit)

    assert rejection.value.code == -1116


async def test_a_stop_already_passed_by_the_price_would_trigger_at_once_and_is_rejected() -> None:
    venue = await open_venue()
    await venue.exchange.place_order(market_order("ETHUSDT", BUY, "1", "long"))

    with pytest.raises(DefinitiveRejection) as rejection:  # a sell stop above the price
        await venue.exchange.place_order(
            closing_order("ETHUSDT", SELL, OrderType.STOP_MARKET, "2050", "sl")
        )

    assert rejection.value.code == -2021


async def test_an_unknown_symbol_is_rejected() -> None:
    venue = await open_venue()

    with pytest.raises(DefinitiveRejection) as rejection:
        await venue.exchange.place_order(market_order("NOPEUSDT", BUY, "1", "x"))

    assert rejection.value.code == -1121


# --- leverage and margin ---------------------------------------------------------------------


async def test_isolated_margin_is_fixed_at_entry_and_its_profit_is_not_available() -> None:
    venue = await open_venue()
    await venue.exchange.set_margin_type("BTCUSDT", MarginType.ISOLATED)
    await venue.exchange.set_leverage("BTCUSDT", 5)
    await venue.exchange.place_order(market_order("BTCUSDT", BUY, "0.2", "b"))
    venue.market.set_price("BTCUSDT", 51_000.0)

    account = await venue.exchange.account()

    assert account.wallet_balance == D("9995")  # fee 0.2 x 50,000 x 0.0005 = 5
    assert account.margin_used == D("2000")  # 0.2 x 50,000 / 5, unchanged by the price
    assert account.unrealized_pnl == D("200")  # (51,000 - 50,000) x 0.2
    assert account.equity == D("10195")
    assert account.available_balance == D("7995")  # 9,995 - 2,000; isolated profit excluded
    position = account.position("BTCUSDT")
    assert position is not None
    assert (position.leverage, position.margin_type) == (5, MarginType.ISOLATED)


async def test_cross_margin_follows_the_mark_and_counts_unrealized_profit() -> None:
    venue = await open_venue()
    await venue.exchange.set_leverage("BTCUSDT", 5)
    await venue.exchange.place_order(market_order("BTCUSDT", BUY, "0.2", "b"))
    venue.market.set_price("BTCUSDT", 51_000.0)

    account = await venue.exchange.account()

    assert account.margin_used == D("2040")  # 0.2 x 51,000 / 5
    assert account.available_balance == D("8155")  # 9,995 + 200 - 2,040


@pytest.mark.parametrize("leverage", [0, 126])
async def test_leverage_outside_the_symbols_range_is_rejected(leverage: int) -> None:
    venue = await open_venue()

    with pytest.raises(DefinitiveRejection) as rejection:
        await venue.exchange.set_leverage("BTCUSDT", leverage)  # BTCUSDT allows 1 to 125

    assert rejection.value.code == -4028


async def test_the_margin_type_cannot_change_while_a_position_is_open() -> None:
    venue = await open_venue()
    await venue.exchange.place_order(market_order("ETHUSDT", BUY, "1", "long"))

    with pytest.raises(DefinitiveRejection) as rejection:
        await venue.exchange.set_margin_type("ETHUSDT", MarginType.ISOLATED)

    assert rejection.value.code == -4048
    await venue.exchange.set_margin_type("ETHUSDT", MarginType.CROSSED)  # already so: no-op


# --- liquidation -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("side", "expected"),
    [
        # (500 - 0.1 x 50,000) / (0.1 x 0.004 - 0.1) = 45,180.7228..., up to the tick
        pytest.param(BUY, D("45180.8"), id="long"),
        # (500 + 0.1 x 50,000) / (0.1 x 0.004 + 0.1) = 54,780.8764..., down to the tick
        pytest.param(SELL, D("54780.8"), id="short"),
    ],
)
async def test_isolated_liquidation_price_follows_binances_formula(
    side: OrderSide, expected: Decimal
) -> None:
    venue = await open_venue()
    await venue.exchange.set_margin_type("BTCUSDT", MarginType.ISOLATED)
    await venue.exchange.set_leverage("BTCUSDT", 10)

    await venue.exchange.place_order(market_order("BTCUSDT", side, "0.1", "p"))

    position = (await venue.exchange.account()).position("BTCUSDT")
    assert position is not None
    assert position.margin == D("500")  # 0.1 x 50,000 / 10
    assert position.liquidation_price == expected


async def test_an_isolated_long_is_liquidated_when_a_candle_low_reaches_the_price() -> None:
    venue = await open_venue()
    await venue.exchange.set_margin_type("BTCUSDT", MarginType.ISOLATED)
    await venue.exchange.set_leverage("BTCUSDT", 10)
    await venue.exchange.place_order(market_order("BTCUSDT", BUY, "0.1", "long"))  # fee 2.5
    venue.updates.clear()

    venue.market.push("BTCUSDT", 49_000, 49_500, 45_200, 45_500)  # low above 45,180.8
    assert (await venue.exchange.account()).position("BTCUSDT") is not None
    venue.next_minute()
    venue.market.push("BTCUSDT", 45_500, 45_600, 45_100, 45_300)

    [liquidation] = venue.updates
    assert liquidation.client_order_id.startswith("autoclose-")
    assert (liquidation.side, liquidation.status) == (SELL, OrderStatus.FILLED)
    assert liquidation.avg_price == D("45180.8")
    assert liquidation.realized_pnl == D("-481.92")  # (45,180.8 - 50,000) x 0.1
    [clearance] = venue.exchange.income(income_type=IncomeType.INSURANCE_CLEAR)
    assert clearance.income == D("-18.08")  # what is left of the 500 margin: 500 - 481.92
    account = await venue.exchange.account()
    assert account.positions == ()
    assert account.wallet_balance == D("9497.5")  # 10,000 - 2.5 fee - the 500 margin


async def test_a_cross_liquidation_takes_the_whole_cross_wallet() -> None:
    venue = await open_venue()
    await venue.exchange.place_order(market_order("BTCUSDT", BUY, "1", "long"))  # fee 25
    position = (await venue.exchange.account()).position("BTCUSDT")
    assert position is not None
    # (9,975 wallet - 1 x 50,000) / (1 x 0.004 - 1) = 40,185.7429..., up to the tick
    assert position.liquidation_price == D("40185.8")

    venue.market.push("BTCUSDT", 45_000, 45_000, 40_000, 40_500)

    [liquidation] = venue.updates[1:]
    assert liquidation.avg_price == D("40185.8")
    assert liquidation.realized_pnl == D("-9814.2")  # (40,185.8 - 50,000) x 1
    [clearance] = venue.exchange.income(income_type=IncomeType.INSURANCE_CLEAR)
    assert clearance.income == D("-160.8")  # 9,975 - 9,814.2
    assert await venue.wallet() == 0


# --- stop-loss and take-profit ---------------------------------------------------------------


async def test_a_stop_loss_fires_on_the_candle_low_and_the_take_profit_expires() -> None:
    venue = await open_venue(WITH_SLIPPAGE)
    await long_eth_with_stop_and_target(venue)  # entry 2,000 x 1.0002 = 2,000.40, fee 1.0002

    venue.market.push("ETHUSDT", 1990, 1995, 1890, 1900)

    assert statuses(venue.updates) == [("sl", OrderStatus.FILLED), ("tp", OrderStatus.EXPIRED)]
    stop = venue.updates[0]
    assert stop.avg_price == D("1899.62")  # 1,900 x 0.9998
    assert stop.filled_quantity == D("1")
    assert stop.realized_pnl == D("-100.78")  # 1,899.62 - 2,000.40
    assert stop.fee == D("0.94981")  # 1,899.62 x 0.0005
    assert await venue.wallet() == D("9897.26999")  # 10,000 - 1.0002 - 100.78 - 0.94981
    assert await venue.exchange.open_orders() == []


async def test_a_take_profit_fires_on_the_candle_high_and_the_stop_loss_expires() -> None:
    venue = await open_venue(WITH_SLIPPAGE)
    await long_eth_with_stop_and_target(venue)

    venue.market.push("ETHUSDT", 2010, 2210, 2005, 2100)

    assert statuses(venue.updates) == [("tp", OrderStatus.FILLED), ("sl", OrderStatus.EXPIRED)]
    assert venue.updates[0].avg_price == D("2199.56")  # 2,200 x 0.9998
    assert venue.updates[0].realized_pnl == D("199.16")  # 2,199.56 - 2,000.40


async def test_when_one_candle_reaches_both_the_stop_fills_first() -> None:
    venue = await open_venue(WITH_SLIPPAGE)
    await long_eth_with_stop_and_target(venue)

    venue.market.push("ETHUSDT", 2000, 2210, 1890, 2100)

    assert statuses(venue.updates) == [("sl", OrderStatus.FILLED), ("tp", OrderStatus.EXPIRED)]
    assert venue.updates[0].avg_price == D("1899.62")


async def test_a_candle_that_opens_past_the_stop_fills_at_its_open() -> None:
    venue = await open_venue(WITH_SLIPPAGE)
    await long_eth_with_stop_and_target(venue)

    venue.market.push("ETHUSDT", 1850, 1860, 1840, 1855)

    assert venue.updates[0].avg_price == D("1849.63")  # 1,850 x 0.9998, not 1,900


async def test_a_stop_placed_mid_candle_ignores_the_low_printed_before_it() -> None:
    venue = await open_venue()
    await venue.exchange.place_order(market_order("ETHUSDT", BUY, "1", "long"))
    venue.market.push("ETHUSDT", 2000, 2005, 1950, 2000, closed=False)
    await venue.exchange.place_order(
        closing_order("ETHUSDT", SELL, OrderType.STOP_MARKET, "1960", "sl")
    )

    venue.market.push("ETHUSDT", 2000, 2010, 1950, 2005, closed=False)  # low 1,950 is old news
    sl = await venue.exchange.query_order("ETHUSDT", "sl")
    assert sl is not None
    assert sl.status is OrderStatus.NEW

    venue.market.push("ETHUSDT", 2000, 2010, 1940, 1945, closed=False)  # a new low: it fires
    sl = await venue.exchange.query_order("ETHUSDT", "sl")
    assert sl is not None
    assert (sl.status, sl.avg_price) == (OrderStatus.FILLED, D("1960"))


async def test_a_buy_stop_without_position_opens_one_when_the_high_reaches_it() -> None:
    venue = await open_venue()
    breakout = OrderRequest(
        "ETHUSDT", BUY, OrderType.STOP_MARKET, "breakout", D("1"), stop_price=D("2100")
    )
    await venue.exchange.place_order(breakout)

    venue.market.push("ETHUSDT", 2000, 2150, 1990, 2120)

    position = (await venue.exchange.account()).position("ETHUSDT")
    assert position is not None
    assert (position.quantity, position.entry_price) == (D("1"), D("2100"))


async def test_the_account_is_computed_again_only_when_something_it_shows_changed() -> None:
    venue = await open_venue()
    await venue.exchange.place_order(market_order("ETHUSDT", BUY, "1", "e"))
    first = await venue.exchange.account()
    assert await venue.exchange.account() is first  # nothing changed: the same answer

    venue.market.set_price("ETHUSDT", 2_100.0)
    moved = await venue.exchange.account()
    assert moved.unrealized_pnl == first.unrealized_pnl + D("100")

    await venue.exchange.set_leverage("ETHUSDT", 5)
    releveraged = await venue.exchange.account()
    assert releveraged.positions[0].leverage == 5
    assert releveraged.margin_used == moved.margin_used * 4  # 20x to 5x

    await venue.exchange.place_order(market_order("BTCUSDT", BUY, "0.01", "b"))
    both = await venue.exchange.account()
    assert [p.symbol for p in both.positions] == ["ETHUSDT", "BTCUSDT"]
    assert both.wallet_balance == releveraged.wallet_balance - D("0.25")  # the taker fee


# --- funding ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("side", "rate", "expected"),
    [
        pytest.param(BUY, 0.0001, D("-0.2"), id="long-pays-positive"),  # -(1 x 2,000 x 0.0001)
        pytest.param(SELL, 0.0001, D("0.2"), id="short-receives-positive"),
        pytest.param(BUY, -0.0001, D("0.2"), id="long-receives-negative"),
    ],
)
async def test_funding_is_exchanged_once_at_the_funding_time(
    side: OrderSide, rate: float, expected: Decimal
) -> None:
    venue = await open_venue(now_ms=EIGHT_AM_MS - MINUTE_MS)
    await venue.exchange.place_order(market_order("ETHUSDT", side, "1", "p"))
    venue.market.set_funding("ETHUSDT", rate, mark_price=2000.0)
    venue.market.push("ETHUSDT", 2000, 2000, 2000, 2000)  # 07:59: no funding yet
    assert venue.exchange.income(income_type=IncomeType.FUNDING_FEE) == []

    venue.clock.now = EIGHT_AM_MS
    venue.market.push("ETHUSDT", 2000, 2000, 2000, 2000)
    venue.next_minute()
    venue.market.push("ETHUSDT", 2000, 2000, 2000, 2000)

    [funding] = venue.exchange.income(income_type=IncomeType.FUNDING_FEE)
    assert (funding.symbol, funding.income, funding.time_ms) == ("ETHUSDT", expected, EIGHT_AM_MS)


async def test_each_symbol_is_funded_on_its_own_schedule_oldest_first() -> None:
    """BTC on Binance's usual 8 h, ETH moved to 4 h: ETH alone at 04:00, both at 08:00 (BTC,
    opened first, first), and a jump over 12:00 and 16:00 pays each time missed, in order."""
    venue = await open_venue(now_ms=DAY_START_MS + 4 * HOUR_MS - MINUTE_MS)
    await venue.exchange.place_order(market_order("BTCUSDT", BUY, "0.01", "b"))
    await venue.exchange.place_order(market_order("ETHUSDT", SELL, "1", "e"))
    venue.market.set_funding("BTCUSDT", 0.0001, mark_price=50_000.0)  # long pays 0.05
    venue.market.set_funding("ETHUSDT", 0.0001, mark_price=2_000.0, interval_hours=4)  # gets 0.2

    def funded() -> list[tuple[str, Decimal, int]]:
        entries = venue.exchange.income(income_type=IncomeType.FUNDING_FEE)
        return [(e.symbol, e.income, (e.time_ms - DAY_START_MS) // HOUR_MS) for e in entries]

    for hour in (4, 8, 16):
        venue.clock.now = DAY_START_MS + hour * HOUR_MS + MINUTE_MS
        venue.market.push("ETHUSDT", 2000, 2000, 2000, 2000)
    assert funded() == [
        ("ETHUSDT", D("0.2"), 4),
        ("BTCUSDT", D("-0.05"), 8),
        ("ETHUSDT", D("0.2"), 8),
        ("ETHUSDT", D("0.2"), 12),
        ("BTCUSDT", D("-0.05"), 16),
        ("ETHUSDT", D("0.2"), 16),
    ]


# --- the ledger ------------------------------------------------------------------------------


async def test_the_income_ledger_accounts_for_the_wallet_to_the_last_decimal() -> None:
    venue = await open_venue(WITH_SLIPPAGE, now_ms=EIGHT_AM_MS - 2 * MINUTE_MS)
    # buy 1 at 2,000 x 1.0002 = 2,000.40, fee 1.0002
    await venue.exchange.place_order(market_order("ETHUSDT", BUY, "1", "a"))
    # buy 1 at 2,100 x 1.0002 = 2,100.42, fee 1.05021; entry (2,000.40 + 2,100.42) / 2 = 2,050.41
    venue.market.set_price("ETHUSDT", 2100.0)
    await venue.exchange.place_order(market_order("ETHUSDT", BUY, "1", "b"))
    # funding at 08:00: -(2 x 2,100 x 0.0001) = -0.42
    venue.market.set_funding("ETHUSDT", 0.0001, mark_price=2100.0)
    venue.clock.now = EIGHT_AM_MS
    venue.market.push("ETHUSDT", 2100, 2100, 2100, 2100)
    # sell 2 at 2,200 x 0.9998 = 2,199.56: PnL (2,199.56 - 2,050.41) x 2 = 298.30, fee 2.19956
    venue.market.set_price("ETHUSDT", 2200.0)
    await venue.exchange.place_order(market_order("ETHUSDT", SELL, "2", "c"))

    def total(income_type: IncomeType) -> Decimal:
        return sum((r.income for r in venue.exchange.income(income_type=income_type)), D(0))

    assert total(IncomeType.REALIZED_PNL) == D("298.30")
    assert total(IncomeType.COMMISSION) == D("-4.24997")  # 1.0002 + 1.05021 + 2.19956
    assert total(IncomeType.FUNDING_FEE) == D("-0.42")
    wallet = await venue.wallet()
    assert wallet == D("10293.63003")  # 10,000 + 298.30 - 4.24997 - 0.42
    assert sum((r.income for r in venue.exchange.income()), D(0)) == wallet


# --- order lifecycle -------------------------------------------------------------------------


async def test_listeners_see_every_state_and_queries_answer_by_client_id() -> None:
    venue = await open_venue()
    await venue.exchange.place_order(market_order("ETHUSDT", BUY, "1", "entry"))
    await venue.exchange.place_order(
        closing_order("ETHUSDT", SELL, OrderType.STOP_MARKET, "1900", "sl")
    )
    assert [o.client_order_id for o in await venue.exchange.open_orders("ETHUSDT")] == ["sl"]

    canceled = await venue.exchange.cancel_order("ETHUSDT", "sl")

    assert canceled.status is OrderStatus.CANCELED
    assert statuses(venue.updates) == [
        ("entry", OrderStatus.FILLED),
        ("sl", OrderStatus.NEW),
        ("sl", OrderStatus.CANCELED),
    ]
    assert await venue.exchange.open_orders() == []
    assert await venue.exchange.query_order("ETHUSDT", "sl") == canceled
    assert await venue.exchange.query_order("BTCUSDT", "sl") is None
    assert await venue.exchange.query_order("ETHUSDT", "never") is None
    for client_id in ("sl", "never"):  # already final, never seen
        with pytest.raises(OrderNotFound):
            await venue.exchange.cancel_order("ETHUSDT", client_id)


# --- symbols ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("price", "tick", "step"),
    [
        (D("0.15"), D("0.00001"), D("1")),
        (D("2.5"), D("0.0001"), D("0.1")),
        (D("600"), D("0.01"), D("0.001")),
    ],
)
def test_filters_of_an_unlisted_symbol_are_derived_from_its_price(
    price: Decimal, tick: Decimal, step: Decimal
) -> None:
    filters = derive_spec("NEWUSDT", price).filters

    assert (filters.tick_size, filters.step_size, filters.min_qty) == (tick, step, step)
    assert filters.min_notional == D("5")


async def test_known_symbols_use_binances_filters() -> None:
    venue = await open_venue()

    btc = await venue.exchange.symbol_filters("BTCUSDT")

    assert (btc.tick_size, btc.step_size, btc.min_notional) == (D("0.1"), D("0.001"), D("100"))
