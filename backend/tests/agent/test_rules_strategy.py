"""The rules model on synthetic price paths whose indicators can be worked out by hand.

Long timeframe paths are straight lines of step 1 with doji candles of wick 1 (high = close + 1,
low = close - 1): every true range is 2, so ATR is exactly 2, and a line's EMA(n) lags its last
close by exactly (n - 1) / 2. Short timeframe paths zigzag (+2, -1 for an uptrend): RSI14 about
68, MACD histogram positive after an up step and negative after a down step.
"""

from __future__ import annotations

import math
from decimal import Decimal

import numpy as np
import pytest

from alphatransformer.agent.decision import Action, TradeDecision
from alphatransformer.agent.rules_strategy import decide
from alphatransformer.config.schema import RulesModelConfig
from alphatransformer.market.market_data import FloatArray, KlineArrays
from alphatransformer.trading.models import MarginType, Position

CONFIG = RulesModelConfig()  # EMA 20/50, RSI14 30/70, ATR14, stop 2 ATR, target 4 ATR, 1%, 3x
EQUITY = Decimal(10000)


def candles(close: FloatArray, wick: float = 1.0) -> KlineArrays:
    """Doji candles (open = close) with the given wick, as read-only views like the cache's."""
    arrays = [
        np.ascontiguousarray(a, dtype=np.float64) for a in (close, close + wick, close - wick)
    ]
    for array in arrays:
        array.flags.writeable = False
    close_, high, low = arrays
    return KlineArrays(
        open_time=np.arange(len(close_), dtype=np.int64),
        open=close_,
        high=high,
        low=low,
        close=close_,
        volume=np.ones(len(close_)),
    )


def line(start: float, step: float, n: int = 60) -> KlineArrays:
    return candles(start + step * np.arange(n, dtype=np.float64))


def zigzag(start: float, up: float, down: float, n: int = 60) -> KlineArrays:
    """Alternating steps `up`, `-down`; with even `n` the last step is `up`."""
    steps = np.where(np.arange(n - 1) % 2 == 0, up, -down)
    return candles(start + np.concatenate([[0.0], np.cumsum(steps)]))


UPTREND = line(100, 1)  # closes 100..159: EMA20 149.5, EMA50 134.5
DOWNTREND = line(300, -1)  # closes 300..241: EMA20 250.5, EMA50 265.5
RISING = zigzag(100, 2, 1)  # ends 129 -> 131 on an up step
FALLING = zigzag(300, -2, -1)  # ends 271 -> 269 on a down step


def position(quantity: str) -> Position:
    return Position(
        symbol="BTCUSDT",
        quantity=Decimal(quantity),
        entry_price=Decimal(130),
        mark_price=Decimal(131),
        unrealized_pnl=Decimal(0),
        leverage=3,
        margin_type=MarginType.CROSSED,
        margin=Decimal(1000),
        liquidation_price=None,
    )


def run(
    short: KlineArrays,
    long: KlineArrays,
    *,
    price: float = 131.0,
    held: Position | None = None,
    equity: Decimal = EQUITY,
    config: RulesModelConfig = CONFIG,
) -> TradeDecision:
    """Decide, and check what every decision must be: schema-valid with finite numbers."""
    decision = decide(
        "BTCUSDT",
        short=short,
        long=long,
        price=price,
        position=held,
        equity=equity,
        config=config,
    )
    assert TradeDecision.model_validate(decision.model_dump()) == decision
    numbers = [v for v in decision.model_dump().values() if isinstance(v, float)]
    assert all(math.isfinite(v) for v in numbers)
    assert 0 <= decision.confidence <= 1
    return decision


def test_uptrend_with_rising_momentum_opens_long_sized_to_risk_one_percent() -> None:
    decision = run(RISING, UPTREND, price=131.0)

    # ATR 2: stop 2 x 2 = 4 below, target 4 x 2 = 8 above; risk 1% of 10000 = 100 -> 100 / 4.
    assert decision.action is Action.OPEN_LONG
    assert decision.stop_loss == pytest.approx(127.0)
    assert decision.take_profit == pytest.approx(139.0)
    assert decision.quantity == pytest.approx(25.0)
    assert decision.risk_usd == pytest.approx(100.0)
    assert decision.leverage == 3
    assert decision.confidence > 0.9  # spread 7.5 ATR (capped at 1), RSI ~68 close to 70
    assert "EMA20 149.5 vs EMA50 134.5" in decision.reasoning
    assert "ATR14 2" in decision.reasoning
    assert decision.invalidation_condition is not None
    assert "crosses below EMA50" in decision.invalidation_condition


def test_downtrend_with_falling_momentum_opens_short_with_stop_above() -> None:
    decision = run(FALLING, DOWNTREND, price=269.0)

    assert decision.action is Action.OPEN_SHORT
    assert decision.stop_loss == pytest.approx(273.0)
    assert decision.take_profit == pytest.approx(261.0)
    assert decision.quantity == pytest.approx(25.0)
    assert decision.risk_usd == pytest.approx(100.0)
    assert "EMA20 250.5 vs EMA50 265.5" in decision.reasoning


def test_configured_periods_and_multiples_are_used() -> None:
    config = RulesModelConfig(
        ema_fast=5, ema_slow=10, atr_period=3, stop_atr_multiple=1.5, risk_per_trade=0.02
    )
    decision = run(RISING, line(100, 1, n=12), config=config)

    # 12 candles are enough for EMA10 and ATR3; stop 1.5 x 2 = 3, risk 200 -> 200 / 3.
    assert decision.action is Action.OPEN_LONG
    assert decision.stop_loss == pytest.approx(128.0)
    assert decision.quantity == pytest.approx(200 / 3)


def test_size_is_capped_at_what_leverage_can_carry() -> None:
    # Wick 0.01 and step 0.01: ATR 0.02, stop 0.04 -> 100 / 0.04 = 2500 (327,500 notional),
    # more than 3 x 10000 of equity: capped at 30000 / 131.
    tight = candles(100 + 0.01 * np.arange(60.0), wick=0.01)
    decision = run(RISING, tight, price=131.0)

    assert decision.action is Action.OPEN_LONG
    assert decision.quantity == pytest.approx(30000 / 131)
    assert decision.risk_usd == pytest.approx(30000 / 131 * 0.04)
    assert "capped" in decision.reasoning


def test_long_position_is_closed_when_the_trend_turns_down() -> None:
    decision = run(FALLING, DOWNTREND, held=position("25"))

    assert decision.action is Action.CLOSE
    assert "downtrend" in decision.reasoning
    assert decision.confidence > 0.5


def test_short_position_is_closed_when_the_trend_turns_up() -> None:
    decision = run(RISING, UPTREND, held=position("-25"))

    assert decision.action is Action.CLOSE
    assert "uptrend" in decision.reasoning


def test_long_position_is_closed_when_rsi_reaches_oversold() -> None:
    # The trend is still up, but the short timeframe only falls: RSI 0.
    decision = run(line(140, -1), UPTREND, held=position("25"))

    assert decision.action is Action.CLOSE
    assert "RSI reached 30" in decision.reasoning


def test_long_position_in_an_intact_uptrend_is_kept() -> None:
    decision = run(RISING, UPTREND, held=position("25"))

    assert decision.action is Action.HOLD
    assert "Keep the long" in decision.reasoning
    assert decision.invalidation_condition is not None
    assert decision.confidence > 0.9


def test_flat_market_holds_for_lack_of_trend() -> None:
    decision = run(RISING, line(100, 0))  # EMA20 = EMA50 = 100, ATR 2 from the wicks

    assert decision.action is Action.HOLD
    assert "no trend" in decision.reasoning


def test_uptrend_without_momentum_holds() -> None:
    decision = run(zigzag(100, 2, 1, n=61), UPTREND)  # last step down: histogram negative

    assert decision.action is Action.HOLD
    assert "MACD histogram does not confirm" in decision.reasoning


def test_uptrend_with_overbought_rsi_holds_instead_of_chasing() -> None:
    decision = run(line(100, 1), UPTREND)  # only gains: RSI 100

    assert decision.action is Action.HOLD
    assert "too stretched" in decision.reasoning


@pytest.mark.parametrize(
    ("short", "long", "missing"),
    [
        (RISING, line(100, 1, n=30), "ema_slow"),
        (zigzag(100, 2, 1, n=20), UPTREND, "macd_histogram"),
        (line(100, 1, n=0), line(100, 1, n=0), "ema_fast, ema_slow, atr, macd_histogram, rsi"),
    ],
)
def test_too_little_data_holds_and_says_what_is_warming_up(
    short: KlineArrays, long: KlineArrays, missing: str
) -> None:
    decision = run(short, long)

    assert decision.action is Action.HOLD
    assert decision.confidence == 0
    assert missing in decision.reasoning
    assert "warming up" in decision.reasoning


def test_zero_volatility_holds() -> None:
    decision = run(RISING, candles(np.full(60, 100.0), wick=0.0))

    assert decision.action is Action.HOLD
    assert "ATR is 0" in decision.reasoning


@pytest.mark.parametrize(
    ("price", "equity"),
    [
        (math.nan, EQUITY),
        (math.inf, EQUITY),
        (0.0, EQUITY),
        (269.0, Decimal(0)),
        (269.0, Decimal(-5)),
        (269.0, Decimal("NaN")),
        (5.0, EQUITY),  # a short's target 5 - 4 x 2 would be below zero
    ],
)
def test_inputs_that_cannot_size_a_trade_hold(price: float, equity: Decimal) -> None:
    decision = run(FALLING, DOWNTREND, price=price, equity=equity)

    assert decision.action is Action.HOLD
    assert "Cannot size" in decision.reasoning


@pytest.mark.parametrize("seed", range(20))
def test_random_markets_always_give_valid_finite_decisions(seed: int) -> None:
    rng = np.random.default_rng(seed)
    short = candles(1000 + np.cumsum(rng.normal(0, 5, 120)), wick=rng.uniform(0, 3))
    long = candles(1000 + np.cumsum(rng.normal(0, 20, 80)), wick=rng.uniform(0, 10))
    held = [None, position("1"), position("-1")][seed % 3]

    run(short, long, price=float(short.close[-1]), held=held)


REVERSION = RulesModelConfig(style="mean_reversion")


def test_an_entry_below_the_gate_s_minimum_is_held_not_proposed() -> None:
    decision = decide(
        "BTCUSDT",
        short=RISING,
        long=UPTREND,
        price=131.0,
        position=None,
        equity=EQUITY,
        config=CONFIG,
        min_confidence=1.0,
    )

    assert decision.action is Action.HOLD
    assert "below the gate's minimum 1" in decision.reasoning


def test_an_entry_whose_signals_agree_is_at_least_a_coin_flip() -> None:
    # Uptrend, MACD up, but RSI barely above 50: its strength is small, yet it enters at >= 0.5.
    decision = run(zigzag(100, 1.05, 1), UPTREND, price=131.0)

    assert decision.action is Action.OPEN_LONG
    assert 0.5 <= decision.confidence < 0.9


def test_mean_reversion_buys_an_oversold_market_against_its_trend() -> None:
    decision = run(line(140, -1), DOWNTREND, price=81.0, config=REVERSION)  # RSI 0

    # RSI 0 is as far past 30 as it goes: strength 1, confidence 0.5 + 1 / 2.
    assert decision.action is Action.OPEN_LONG
    assert decision.confidence == 1.0
    assert decision.stop_loss == pytest.approx(77.0)  # 2 x ATR 2 below
    assert decision.invalidation_condition == (
        "Short-timeframe RSI14 >= 50 (reverted), or the stop."
    )


def test_mean_reversion_sells_an_overbought_market() -> None:
    decision = run(line(100, 1), UPTREND, price=159.0, config=REVERSION)  # RSI 100

    assert decision.action is Action.OPEN_SHORT
    assert decision.stop_loss == pytest.approx(163.0)


def test_mean_reversion_waits_while_rsi_is_between_its_thresholds() -> None:
    decision = run(RISING, UPTREND, config=REVERSION)  # RSI ~68, below 70

    assert decision.action is Action.HOLD
    assert "nothing to revert" in decision.reasoning


def test_mean_reversion_closes_once_rsi_is_back_across_50() -> None:
    decision = run(RISING, UPTREND, held=position("25"), config=REVERSION)

    assert decision.action is Action.CLOSE
    assert "the move has reverted" in decision.reasoning


def test_mean_reversion_keeps_a_long_while_rsi_is_still_below_50() -> None:
    decision = run(FALLING, DOWNTREND, held=position("25"), config=REVERSION)

    assert decision.action is Action.HOLD
    assert "Keep the long" in decision.reasoning
