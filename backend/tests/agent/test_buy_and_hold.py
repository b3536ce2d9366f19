"""Buy-and-hold: an equal share of every symbol at 1x, bought when flat, then held."""

from __future__ import annotations

from decimal import Decimal

from alphatransformer.agent.buy_and_hold import BUY_AND_HOLD_MODEL_NAME, BuyAndHold
from alphatransformer.agent.decision import Action
from alphatransformer.agent.decision_maker import DecisionRequest
from alphatransformer.config.schema import AppConfig, RiskConfig
from alphatransformer.market.simulated import SimulatedMarket
from alphatransformer.trading.models import Account, MarginType, Position
from alphatransformer.utils.clock import ManualClock

NOW = 1_767_225_600_000
SYMBOLS = ("BTCUSDT", "ETHUSDT", "SOLUSDT")


def request(*positions: Position) -> DecisionRequest:
    account = Account(
        "USDT", Decimal("9000"), Decimal("0"), Decimal("9000"), Decimal("0"), positions
    )
    market = SimulatedMarket(SYMBOLS, AppConfig().market, ManualClock(NOW))
    return DecisionRequest("cycle-1", NOW, SYMBOLS, market, account)


def eth_long() -> Position:
    return Position(
        symbol="ETHUSDT",
        quantity=Decimal("1"),
        entry_price=Decimal("3000"),
        mark_price=Decimal("3000"),
        unrealized_pnl=Decimal("0"),
        leverage=1,
        margin_type=MarginType.CROSSED,
        margin=Decimal("3000"),
        liquidation_price=None,
    )


async def test_a_flat_account_buys_every_symbol_in_equal_shares_at_1x() -> None:
    answer = await BuyAndHold().decide(request())

    assert answer.model == BUY_AND_HOLD_MODEL_NAME
    assert [d.action for d in answer.decisions] == [Action.OPEN_LONG] * 3
    assert {d.notional_usd for d in answer.decisions} == {2970.0}  # 9000 x 0.99 / 3
    assert {d.leverage for d in answer.decisions} == {1}
    assert {d.stop_loss for d in answer.decisions} == {None}


async def test_a_held_symbol_is_held_and_a_flat_one_bought() -> None:
    answer = await BuyAndHold().decide(request(eth_long()))

    actions = {d.symbol: d.action for d in answer.decisions}
    assert actions == {
        "BTCUSDT": Action.OPEN_LONG,
        "ETHUSDT": Action.HOLD,
        "SOLUSDT": Action.OPEN_LONG,
    }


def test_the_gate_is_loosened_only_as_far_as_holding_the_market_needs() -> None:
    risk = RiskConfig(max_open_positions=2, max_leverage=5, min_confidence=0.7)

    loosened = risk.for_buy_and_hold(symbols=6)

    assert (loosened.require_stop_loss, loosened.max_open_positions) == (False, 6)
    assert (loosened.max_position_share, loosened.max_total_exposure) == (1.0, 1.5)
    assert (loosened.max_leverage, loosened.min_confidence) == (5, 0.7)
    assert loosened.daily_loss_limit == risk.daily_loss_limit
