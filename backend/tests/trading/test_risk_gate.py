"""The risk gate as a specification: every rule rejects with its identifier and its numbers, and
what passes is an exact, quantized plan whose numbers can be checked by hand.

Unless a test says otherwise: equity 10,000 USDT, all of it available; BTCUSDT at 95,000.05 with
tick 0.10, step 0.001 and min notional 100, so an entry's worst fill, rounded outward to the
tick, is 95,000.10 for a buy and 95,000.00 for a sell (no slippage allowance); default
`RiskConfig` (max leverage 10, min confidence 0.55, position margin <= 30% of equity, total
notional <= 1.5x equity, 3 positions, stop loss required within 10% of the price, daily loss
limit 5%).
"""

from __future__ import annotations

import random
from dataclasses import replace
from datetime import date
from decimal import ROUND_DOWN, ROUND_UP, Decimal
from typing import Any

import pytest

from alphatransformer.agent.decision import Action, TradeDecision
from alphatransformer.config.schema import RiskConfig
from alphatransformer.trading.filters import SymbolFilters
from alphatransformer.trading.models import Account, MarginType, OrderSide, Position
from alphatransformer.trading.risk_gate import (
    OrderPlan,
    RiskContext,
    RiskGate,
    RiskRejection,
    Rule,
)

PRICE = Decimal("95000.05")
TODAY = date(2025, 1, 15)
BTC = SymbolFilters(
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
LONG: dict[str, Any] = {
    "symbol": "BTCUSDT",
    "action": Action.OPEN_LONG,
    "notional_usd": 2000.0,
    "leverage": 5,
    "stop_loss": 93000.07,
    "confidence": 0.8,
}
SHORT: dict[str, Any] = {**LONG, "action": Action.OPEN_SHORT, "stop_loss": 96000.01}


def long(**changes: Any) -> TradeDecision:
    return TradeDecision(**{**LONG, **changes})


def short(**changes: Any) -> TradeDecision:
    return TradeDecision(**{**SHORT, **changes})


def close(symbol: str = "BTCUSDT") -> TradeDecision:
    return TradeDecision(symbol=symbol, action=Action.CLOSE, confidence=0.0)


def position(symbol: str, quantity: str, mark: str, leverage: int = 5) -> Position:
    qty, price = Decimal(quantity), Decimal(mark)
    return Position(
        symbol=symbol,
        quantity=qty,
        entry_price=price,
        mark_price=price,
        unrealized_pnl=Decimal(0),
        leverage=leverage,
        margin_type=MarginType.ISOLATED,
        margin=abs(qty) * price / leverage,
        liquidation_price=None,
    )


def account(
    *positions: Position,
    wallet: str = "10000",
    unrealized: str = "0",
    available: str | None = None,
) -> Account:
    return Account(
        asset="USDT",
        wallet_balance=Decimal(wallet),
        unrealized_pnl=Decimal(unrealized),
        available_balance=Decimal(available if available is not None else wallet),
        margin_used=sum((p.margin for p in positions), Decimal(0)),
        positions=positions,
    )


def context(**changes: Any) -> RiskContext:
    base = RiskContext(
        account=account(),
        filters=BTC,
        price=PRICE,
        data_fresh=True,
        day_start_equity=Decimal("10000"),
        day=TODAY,
        allowed_symbols=frozenset({"BTCUSDT", "ETHUSDT", "SOLUSDT", "BNBUSDT"}),
    )
    return replace(base, **changes)


def gate(**config: Any) -> RiskGate:
    return RiskGate(RiskConfig(**config))


def rejection(
    decision: TradeDecision, ctx: RiskContext | None = None, risk: RiskGate | None = None
) -> RiskRejection:
    with pytest.raises(RiskRejection) as info:
        (risk or gate()).evaluate(decision, ctx or context())
    return info.value


# --- acceptance: hand-checked plans -------------------------------------------------------------


def test_long_by_notional_is_rounded_down_to_the_step_with_exact_margin_and_fee() -> None:
    # At the worst fill 95000.1: 2000 / 95000.1 = 0.02105... -> 0.021 BTC;
    # 0.021 x 95000.1 = 1995.0021; margin at 5x = 399.00042; taker fee 0.05% = 0.99750105.
    plan = gate().evaluate(long(take_profit=99000.01), context())

    assert plan == OrderPlan(
        symbol="BTCUSDT",
        action=Action.OPEN_LONG,
        side=OrderSide.BUY,
        quantity=Decimal("0.021"),
        leverage=5,
        reference_price=PRICE,
        notional=Decimal("1995.0021"),
        margin=Decimal("399.00042"),
        estimated_fee=Decimal("0.99750105"),
        stop_loss=Decimal("93000.0"),  # 93000.07 rounded down, away from the price
        take_profit=Decimal("99000.1"),  # 99000.01 rounded up, away from the price
        reduce_only=False,
    )


def test_short_rounds_stop_up_and_take_profit_down_away_from_the_price() -> None:
    plan = gate().evaluate(short(take_profit=90000.09), context())

    assert plan.side is OrderSide.SELL
    assert plan.stop_loss == Decimal("96000.1")
    assert plan.take_profit == Decimal("90000.0")
    assert plan.quantity == Decimal("0.021")


def test_quantity_is_preferred_to_notional_and_rounded_down_never_up() -> None:
    plan = gate().evaluate(long(quantity=0.0219999, notional_usd=5000.0), context())

    assert plan.quantity == Decimal("0.021")
    assert plan.notional == Decimal("1995.0021")


def test_leverage_defaults_to_1x_when_the_model_names_none() -> None:
    plan = gate().evaluate(long(leverage=None), context())

    assert plan.leverage == 1
    assert plan.margin == Decimal("1995.0021")


def test_stop_loss_may_be_omitted_when_not_required() -> None:
    plan = gate(require_stop_loss=False).evaluate(long(stop_loss=None), context())

    assert plan.stop_loss is None


def test_margin_exactly_equal_to_the_available_balance_is_accepted() -> None:
    plan = gate().evaluate(long(), context(account=account(available="399.99792105")))

    assert plan.margin + plan.estimated_fee == Decimal("399.99792105")


def test_hold_is_not_evaluated() -> None:
    hold = TradeDecision(symbol="BTCUSDT", action=Action.HOLD, confidence=0.9)

    with pytest.raises(ValueError, match="hold"):
        gate().evaluate(hold, context())


def test_filters_of_another_symbol_are_a_caller_bug() -> None:
    with pytest.raises(ValueError, match="filters are for BTCUSDT"):
        gate().evaluate(long(symbol="ETHUSDT"), context())


# --- every rule rejects, with its numbers --------------------------------------------------------


def test_kill_switch_in_config_blocks_entries() -> None:
    error = rejection(long(), risk=gate(kill_switch=True))

    assert error.rule is Rule.KILL_SWITCH
    assert str(error.rule) == "kill_switch"  # the stable identifier that gets stored
    assert error.details == {"reason": "kill_switch set in config"}


def test_runtime_halt_blocks_entries_until_resumed() -> None:
    risk = gate()
    risk.halt("operator pressed stop")

    error = rejection(long(), risk=risk)
    assert risk.halted
    assert error.rule == Rule.KILL_SWITCH
    assert "operator pressed stop" in error.message

    risk.resume()
    assert not risk.halted
    assert risk.evaluate(long(), context()).quantity == Decimal("0.021")


def test_resume_does_not_lift_the_kill_switch_set_in_config() -> None:
    risk = gate(kill_switch=True)
    risk.resume()

    assert risk.halted
    assert rejection(long(), risk=risk).rule == Rule.KILL_SWITCH


def test_symbol_outside_the_configuration_is_rejected() -> None:
    error = rejection(long(symbol="DOGEUSDT"))

    assert error.rule == Rule.SYMBOL_NOT_ALLOWED
    assert error.details == {"symbol": "DOGEUSDT"}


def test_daily_loss_limit_reached_at_exactly_5_percent_blocks_entries() -> None:
    # 10,000 x (1 - 0.05) = 9,500: an equity of 9,500 is at the limit.
    error = rejection(long(), context(account=account(unrealized="-500")))

    assert error.rule == Rule.DAILY_LOSS_LIMIT
    assert error.details == {
        "equity": "9500",
        "day_start_equity": "10000",
        "daily_loss_limit": "0.05",
        "threshold": "9500.00",
        "day": "2025-01-15",
    }


def test_a_loss_just_short_of_the_limit_still_trades() -> None:
    plan = gate().evaluate(long(), context(account=account(unrealized="-499.99")))

    assert plan.quantity == Decimal("0.021")


def test_daily_loss_limit_stays_close_only_until_the_next_utc_day() -> None:
    risk = gate()
    rejection(long(), context(account=account(unrealized="-600")), risk)

    recovered = context(account=account(unrealized="-100"))
    assert rejection(long(), recovered, risk).rule == Rule.DAILY_LOSS_LIMIT

    next_day = replace(recovered, day=date(2025, 1, 16), day_start_equity=Decimal("9900"))
    assert risk.evaluate(long(), next_day).quantity == Decimal("0.021")


def test_stale_market_data_blocks_entries() -> None:
    error = rejection(long(), context(data_fresh=False))

    assert error.rule == Rule.STALE_MARKET_DATA
    assert error.details == {"symbol": "BTCUSDT"}


def test_confidence_below_the_minimum_is_rejected() -> None:
    error = rejection(long(confidence=0.5))

    assert error.rule == Rule.MIN_CONFIDENCE
    assert error.details == {"confidence": "0.5", "min_confidence": "0.55"}


def test_leverage_above_the_maximum_is_rejected_not_clamped() -> None:
    error = rejection(long(leverage=20))

    assert error.rule == Rule.MAX_LEVERAGE
    assert error.details == {"leverage": "20", "max_leverage": "10"}


@pytest.mark.parametrize("decision", [long(), short()], ids=["add", "flip"])
def test_an_open_position_is_neither_added_to_nor_flipped(decision: TradeDecision) -> None:
    held = context(account=account(position("BTCUSDT", "0.010", "95000.05")))

    error = rejection(decision, held)

    assert error.rule == Rule.POSITION_ALREADY_OPEN
    assert error.details == {"position_quantity": "0.010"}


def test_a_fourth_position_is_rejected_when_three_are_open() -> None:
    three = account(
        position("ETHUSDT", "0.1", "3400"),
        position("SOLUSDT", "1", "190"),
        position("BNBUSDT", "-1", "650"),
    )

    error = rejection(long(), context(account=three))

    assert error.rule == Rule.MAX_OPEN_POSITIONS
    assert error.details == {"open_positions": "3", "max_open_positions": "3"}


def test_missing_stop_loss_is_rejected_when_required() -> None:
    error = rejection(long(stop_loss=None))

    assert error.rule == Rule.STOP_LOSS_REQUIRED
    assert "no stop loss" in error.message


@pytest.mark.parametrize(
    ("decision", "stop"),
    [
        (long(stop_loss=96000.0), "96000.0"),
        (short(stop_loss=94000.0), "94000.0"),
        # on the price itself: rounding down to 95000.0 would put it below, but it is refused
        (long(stop_loss=95000.05), "95000.05"),
    ],
    ids=["long-above", "short-below", "long-at-price"],
)
def test_stop_loss_on_the_wrong_side_is_rejected(decision: TradeDecision, stop: str) -> None:
    error = rejection(decision)

    assert error.rule == Rule.STOP_LOSS_WRONG_SIDE
    assert error.details == {"stop_loss": stop, "price": "95000.05"}


def test_stop_loss_further_than_the_maximum_distance_is_rejected() -> None:
    # from the worst fill: (95000.1 - 85000.0) / 95000.1 = 0.10526... > 0.1
    error = rejection(long(stop_loss=85000.0))

    assert error.rule == Rule.STOP_LOSS_TOO_FAR
    assert error.details["stop_loss"] == "85000.00"
    assert error.details["distance"].startswith("0.105264")
    assert error.details["max_stop_distance"] == "0.1"


def test_stop_distance_is_measured_after_rounding_away_from_the_price() -> None:
    # From the worst fill 95000.1, 85500.09 is 10% away, but on the tick it becomes 85500.0.
    assert rejection(long(stop_loss=85500.09)).rule == Rule.STOP_LOSS_TOO_FAR
    assert gate().evaluate(long(stop_loss=85500.1), context()).stop_loss == Decimal("85500.1")


@pytest.mark.parametrize(
    ("decision", "take_profit"),
    [(long(take_profit=94000.0), "94000.0"), (short(take_profit=96000.0), "96000.0")],
    ids=["long-below", "short-above"],
)
def test_take_profit_on_the_wrong_side_is_rejected(
    decision: TradeDecision, take_profit: str
) -> None:
    error = rejection(decision)

    assert error.rule == Rule.TAKE_PROFIT_WRONG_SIDE
    assert error.details == {"take_profit": take_profit, "price": "95000.05"}


def test_take_profit_outside_the_price_filter_is_rejected() -> None:
    error = rejection(long(take_profit=5_000_000.0))

    assert error.rule == Rule.PRICE_FILTER
    assert error.details == {
        "field": "take_profit",
        "take_profit": "5000000.00",
        "min_price": "556.80",
        "max_price": "4529764",
    }


def test_quantity_that_rounds_to_zero_is_rejected() -> None:
    error = rejection(long(quantity=0.0009))

    assert error.rule == Rule.QUANTITY_BELOW_STEP
    assert error.details == {"requested_quantity": "0.0009", "step_size": "0.001"}


def test_quantity_below_the_minimum_lot_is_rejected() -> None:
    filters = replace(BTC, market_min_qty=Decimal("0.005"))

    error = rejection(long(quantity=0.004), context(filters=filters))

    assert error.rule == Rule.MIN_QUANTITY
    assert error.details == {"quantity": "0.004", "min_quantity": "0.005"}


def test_quantity_above_the_maximum_lot_is_rejected() -> None:
    error = rejection(long(quantity=121.0))

    assert error.rule == Rule.MAX_QUANTITY
    assert error.details == {"quantity": "121.000", "max_quantity": "120"}


def test_notional_below_the_exchange_minimum_is_rejected() -> None:
    # 0.001 x 95000.05 = 95.00005 < 100
    error = rejection(long(quantity=0.001))

    assert error.rule == Rule.MIN_NOTIONAL
    assert error.details == {
        "quantity": "0.001",
        "price": "95000.05",
        "notional": "95.00005",
        "min_notional": "100",
    }


def test_position_margin_above_its_share_of_equity_is_rejected() -> None:
    # 0.2 x 95000.1 = 19000.02; / 5 = 3800.004 > 0.3 x 10,000
    error = rejection(long(quantity=0.2))

    assert error.rule == Rule.MAX_POSITION_SHARE
    assert error.details == {
        "margin": "3800.00400",
        "equity": "10000",
        "max_position_share": "0.3",
        "limit": "3000.0",
    }


def test_total_notional_above_the_exposure_limit_is_rejected() -> None:
    # 4 ETH x 3500 = 14,000 open; + 1995.0021 = 15995.0021 > 1.5 x 10,000
    held = account(position("ETHUSDT", "4", "3500", leverage=10))

    error = rejection(long(), context(account=held))

    assert error.rule == Rule.MAX_TOTAL_EXPOSURE
    assert error.details == {
        "total_notional": "15995.00210",
        "equity": "10000",
        "max_total_exposure": "1.5",
        "limit": "15000.0",
    }


def test_margin_plus_fee_above_the_available_balance_is_rejected() -> None:
    error = rejection(long(), context(account=account(available="300")))

    assert error.rule == Rule.INSUFFICIENT_MARGIN
    assert error.details == {
        "margin": "399.00042",
        "fee": "0.997501050",
        "required": "399.997921050",
        "available_balance": "300",
    }


def test_close_without_a_position_is_rejected() -> None:
    error = rejection(close())

    assert error.rule == Rule.NO_POSITION_TO_CLOSE
    assert error.details == {"symbol": "BTCUSDT"}


def test_close_of_a_symbol_outside_the_configuration_is_rejected() -> None:
    held = account(position("DOGEUSDT", "1000", "0.32"))

    assert rejection(close("DOGEUSDT"), context(account=held)).rule == Rule.SYMBOL_NOT_ALLOWED


def test_the_first_broken_rule_in_the_documented_order_is_reported() -> None:
    # Everything is wrong at once; fixing the reported problem reveals the next rule in line.
    eth = position("ETHUSDT", "2", "3400")  # 6,800 notional already open
    config: dict[str, Any] = {"kill_switch": True}
    proposal: dict[str, Any] = {
        **LONG,
        "symbol": "DOGEUSDT",
        "confidence": 0.1,
        "leverage": 50,
        "stop_loss": None,
        "take_profit": 90000.0,
        "quantity": 0.0001,
    }
    market: dict[str, Any] = {
        "account": account(position("BTCUSDT", "0.01", "95000"), unrealized="-600"),
        "data_fresh": False,
    }
    three = account(eth, position("SOLUSDT", "1", "190"), position("BNBUSDT", "-1", "650"))
    fixes: list[tuple[Rule, dict[str, Any], str, Any]] = [
        (Rule.KILL_SWITCH, config, "kill_switch", False),
        (Rule.SYMBOL_NOT_ALLOWED, proposal, "symbol", "BTCUSDT"),
        (Rule.DAILY_LOSS_LIMIT, market, "day_start_equity", Decimal("9400")),
        (Rule.STALE_MARKET_DATA, market, "data_fresh", True),
        (Rule.MIN_CONFIDENCE, proposal, "confidence", 0.8),
        (Rule.MAX_LEVERAGE, proposal, "leverage", 5),
        (Rule.POSITION_ALREADY_OPEN, market, "account", three),
        (Rule.MAX_OPEN_POSITIONS, market, "account", account(eth, available="900")),
        (Rule.STOP_LOSS_REQUIRED, proposal, "stop_loss", 96000.0),
        (Rule.STOP_LOSS_WRONG_SIDE, proposal, "stop_loss", 80000.0),
        (Rule.STOP_LOSS_TOO_FAR, proposal, "stop_loss", 93000.0),
        (Rule.TAKE_PROFIT_WRONG_SIDE, proposal, "take_profit", 5_000_000.0),
        (Rule.PRICE_FILTER, proposal, "take_profit", 99000.0),
        (Rule.QUANTITY_BELOW_STEP, proposal, "quantity", 0.001),
        (Rule.MIN_NOTIONAL, proposal, "quantity", 0.2),  # margin 3800.002 > 3000
        (Rule.MAX_POSITION_SHARE, proposal, "quantity", 0.1),  # 6800 + 9500.005 > 15000
        (Rule.MAX_TOTAL_EXPOSURE, proposal, "quantity", 0.05),  # 950.0005 + fee > 900
        (Rule.INSUFFICIENT_MARGIN, market, "account", account(eth)),
    ]
    for rule, target, key, fixed in fixes:
        error = rejection(TradeDecision(**proposal), context(**market), gate(**config))
        assert error.rule == rule
        target[key] = fixed

    assert gate().evaluate(TradeDecision(**proposal), context(**market)).quantity == Decimal("0.05")


# --- closes are never blocked ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("quantity", "side"),
    [("0.015", OrderSide.SELL), ("-0.5", OrderSide.BUY)],
    ids=["long", "short"],
)
def test_close_is_the_whole_position_on_the_opposite_side_reduce_only(
    quantity: str, side: OrderSide
) -> None:
    held = account(position("BTCUSDT", quantity, "95000.05", leverage=7))

    plan = gate().evaluate(close(), context(account=held))

    assert plan.side is side
    assert plan.quantity == abs(Decimal(quantity))
    assert plan.reduce_only
    assert plan.leverage == 7
    assert plan.margin == 0
    assert (plan.stop_loss, plan.take_profit) == (None, None)


def test_close_passes_kill_switch_daily_loss_and_stale_data_together() -> None:
    held = account(position("BTCUSDT", "0.015", "95000.05"), unrealized="-900")
    risk = gate(kill_switch=True)
    risk.halt("panic")

    plan = risk.evaluate(close(), context(account=held, data_fresh=False))

    assert plan.quantity == Decimal("0.015")
    assert plan.side is OrderSide.SELL


# --- properties over random proposals -----------------------------------------------------------


def random_case(rng: random.Random) -> tuple[TradeDecision, RiskContext]:
    """A random opening proposal against a random account: sizes, stops and balances vary."""
    price = Decimal(rng.randint(2_000_000, 20_000_000)) / 100
    opens_long = rng.random() < 0.5
    sign = -1 if opens_long else 1
    size = {"quantity": rng.uniform(0.0005, 0.2)} if rng.random() < 0.5 else {}
    decision = TradeDecision(
        symbol="BTCUSDT",
        action=Action.OPEN_LONG if opens_long else Action.OPEN_SHORT,
        notional_usd=rng.uniform(50, 20_000),
        leverage=rng.randint(1, 12),
        stop_loss=float(price) * (1 + sign * rng.uniform(0.0001, 0.12)),
        take_profit=float(price) * (1 - sign * rng.uniform(0.0001, 0.3)),
        confidence=rng.uniform(0.5, 1),
        **size,
    )
    others = [position("ETHUSDT", "2", "3400")] if rng.random() < 0.5 else []
    wallet = rng.randint(500, 20_000)
    held = account(*others, wallet=str(wallet), available=str(rng.randint(0, wallet)))
    return decision, context(account=held, price=price, day_start_equity=held.equity)


def assert_within_limits(plan: OrderPlan, decision: TradeDecision, ctx: RiskContext) -> None:
    config, equity = RiskConfig(), ctx.account.equity
    below = plan.side is OrderSide.BUY
    fill = BTC.round_price(ctx.price, ROUND_UP if below else ROUND_DOWN)
    requested = (
        Decimal(str(decision.quantity))
        if decision.quantity is not None
        else Decimal(str(decision.notional_usd)) / fill
    )
    open_notional = sum((p.notional for p in ctx.account.positions), Decimal(0))
    assert 0 < plan.quantity <= requested
    assert plan.quantity % BTC.market_step_size == 0
    assert plan.notional == plan.quantity * fill
    assert plan.quantity * ctx.price >= BTC.min_notional
    assert plan.margin <= Decimal(str(config.max_position_share)) * equity
    assert plan.margin + plan.estimated_fee <= ctx.account.available_balance
    assert open_notional + plan.notional <= Decimal(str(config.max_total_exposure)) * equity
    assert plan.stop_loss is not None
    assert plan.stop_loss % BTC.tick_size == 0
    assert (plan.stop_loss < ctx.price) if below else (plan.stop_loss > ctx.price)
    assert abs(fill - plan.stop_loss) / fill <= Decimal(str(config.max_stop_distance))
    if plan.take_profit is not None:
        assert (plan.take_profit > ctx.price) if below else (plan.take_profit < ctx.price)


def test_random_proposals_never_produce_a_plan_beyond_the_limits() -> None:
    rng = random.Random(20250115)
    outcomes: set[str] = set()
    for _ in range(600):
        decision, ctx = random_case(rng)
        try:
            plan = gate().evaluate(decision, ctx)
        except RiskRejection as error:
            outcomes.add(error.rule)
            continue
        outcomes.add("accepted")
        assert_within_limits(plan, decision, ctx)
    # the sample exercises acceptance and the size rules, not only one easy path
    assert {
        "accepted",
        Rule.STOP_LOSS_TOO_FAR,
        Rule.MAX_POSITION_SHARE,
        Rule.MAX_TOTAL_EXPOSURE,
        Rule.INSUFFICIENT_MARGIN,
    } <= outcomes


# --- numbers of any size -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("decision", "rule", "detail", "shown"),
    [
        (long(quantity=1e308), Rule.MAX_QUANTITY, "quantity", "1E+308"),
        (long(notional_usd=1e308), Rule.MAX_QUANTITY, "max_quantity", "120"),
        (short(stop_loss=1e308), Rule.PRICE_FILTER, "stop_loss", "1E+308"),
        (long(take_profit=1e308), Rule.PRICE_FILTER, "take_profit", "1E+308"),
        (long(quantity=1e-300), Rule.QUANTITY_BELOW_STEP, "requested_quantity", "1E-300"),
        (long(stop_loss=1e-300), Rule.PRICE_FILTER, "stop_loss", "0.00"),
    ],
    ids=["quantity", "notional", "stop", "take-profit", "tiny-quantity", "tiny-stop"],
)
def test_astronomical_numbers_are_a_named_rejection_with_the_numbers(
    decision: TradeDecision, rule: Rule, detail: str, shown: str
) -> None:
    error = rejection(decision)

    assert error.rule == rule
    assert error.details[detail] == shown
    assert all(len(value) <= 64 for value in error.details.values())


def test_rounding_to_the_grid_is_exact_at_any_magnitude() -> None:
    assert BTC.round_quantity(Decimal("1e308")) == Decimal("1e308")
    assert BTC.round_price(Decimal("1e308"), ROUND_UP) == Decimal("1e308")
    assert BTC.round_quantity(Decimal("1e-300")) == 0
    assert BTC.round_quantity(Decimal("0.0219999")) == Decimal("0.021")


# --- slippage: limits hold at the fill ---------------------------------------------------------


SLIPPAGE = Decimal("0.0002")  # 2 bps: a buy fills at worst at 95019.1, a sell at 94981.0


def test_entry_limits_are_checked_at_the_fill_price_including_slippage() -> None:
    # 0.030 BTC at 10x: margin 0.030 x 95000.1 / 10 = 285.0003 without slippage, 0.030 x
    # 95019.1 / 10 = 285.0573 with it; equity 950.1 allows 0.3 x 950.1 = 285.03, between the two
    # (total exposure allowed up to 5x here, so the share is the rule that binds)
    held = account(wallet="950.1")
    ctx = context(account=held, day_start_equity=held.equity)
    risk = gate(max_total_exposure=5)
    proposal = long(quantity=0.030, leverage=10)

    assert risk.evaluate(proposal, ctx).quantity == Decimal("0.030")
    error = rejection(proposal, replace(ctx, slippage=SLIPPAGE), risk)

    assert error.rule == Rule.MAX_POSITION_SHARE
    assert error.details["margin"] == "285.05730"


def test_a_size_by_notional_is_converted_at_the_fill_price() -> None:
    # 2000 / 95019.1 = 0.021048... -> 0.021; notional at the fill 0.021 x 95019.1 = 1995.4011
    plan = gate().evaluate(long(), context(slippage=SLIPPAGE))

    assert plan.quantity == Decimal("0.021")
    assert plan.notional == Decimal("1995.4011")
    assert plan.reference_price == PRICE


def test_stop_distance_is_measured_from_the_fill_price() -> None:
    # A long's stop at 85510.0 is 9.99 % below 95000.1 but 10.008 % below the worst fill
    # 95019.1; a short's at 104485.0 is 9.98 % above 95000.0, 10.006 % above the fill 94981.0
    assert gate().evaluate(long(stop_loss=85510.0), context()).stop_loss == Decimal("85510.0")
    assert gate().evaluate(short(stop_loss=104485.0), context()).stop_loss == Decimal("104485.0")
    for decision, fill in [
        (long(stop_loss=85510.0), "95019.10"),
        (short(stop_loss=104485.0), "94981.00"),
    ]:
        error = rejection(decision, context(slippage=SLIPPAGE))
        assert error.rule == Rule.STOP_LOSS_TOO_FAR
        assert error.details["fill_price"] == fill


# --- daily loss action -------------------------------------------------------------------------


@pytest.mark.parametrize(("action", "flattens"), [("close_only", False), ("flatten", True)])
def test_daily_loss_action_says_whether_the_limit_flattens(action: str, flattens: bool) -> None:
    assert gate(daily_loss_action=action).flattens_at_daily_loss is flattens


def test_daily_loss_reached_is_latched_for_the_rest_of_the_day() -> None:
    risk = gate()
    down = account(unrealized="-500")  # 9,500: exactly 5 % below 10,000

    assert not risk.daily_loss_reached(account(), Decimal("10000"), TODAY)
    assert risk.daily_loss_reached(down, Decimal("10000"), TODAY)
    assert risk.daily_loss_reached(account(), Decimal("10000"), TODAY)
    assert not risk.daily_loss_reached(account(), Decimal("10000"), date(2025, 1, 16))
