"""The built-in rules model: a deterministic two-timeframe strategy, one decision a symbol.

It is what runs with no LLM (offline default, tests, demos, backtests), so it is a pure
function of its inputs: the same candles, position and equity always give the same decision.

Two styles (`RulesModelConfig.style`), periods and thresholds from the config:

**trend** (the default):
- Trend, long timeframe: EMA(ema_fast) above EMA(ema_slow) is up, below is down, equal is none.
- Momentum, short timeframe: the sign of the MACD (12, 26, 9) histogram, and RSI(rsi_period).
- Flat: open_long when the trend is up, the histogram positive and RSI below rsi_overbought (no
  chasing a stretched move); open_short in the mirror case (down, negative, above rsi_oversold).
- Open position: close it when the trend turns against it or RSI reaches the extreme against it
  (oversold for a long, overbought for a short); otherwise hold it.
- Strength of a side: the mean of a trend score (EMA spread in ATRs, capped at 1) and a momentum
  score (RSI's way from 50 to the side's threshold, capped at 1).

**mean_reversion**:
- Flat: open_long when short-timeframe RSI is at or below rsi_oversold, open_short at or above
  rsi_overbought: the move is stretched and expected to revert.
- Open position: close it once RSI is back across 50 (the reversion happened); otherwise hold.
- Strength of a side: how far RSI is past the side's threshold, toward 0 or 100 (capped at 1).

Both:
- Size: stop at stop_atr_multiple x ATR(atr_period) of the long timeframe from the price (the
  market's own noise), take profit at take_profit_atr_multiple x ATR, quantity = risk_per_trade
  x equity / stop distance, so a stop-out loses that share of equity; capped at equity x
  leverage of notional, which is all the margin can carry.
- Confidence: an entry whose signals all agree is better than a coin flip, so its confidence is
  0.5 plus half its side's strength. An entry below `min_confidence` (the risk gate's minimum,
  which the model is told as an LLM is) is held instead of proposed: the model never proposes
  what the gate would certainly refuse. Closes carry the strength of the side against the
  position, holds of a position the position's side; a flat hold gets 1 minus the stronger
  side's strength.
- Indicators still warming up, or inputs that cannot size a trade (price, equity) give a hold
  that says why. No number in a decision is ever NaN or infinite.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from decimal import Decimal
from enum import Enum
from typing import Protocol

from alphatransformer.agent import indicators
from alphatransformer.agent.decision import Action, TradeDecision, hold
from alphatransformer.config.schema import RulesModelConfig
from alphatransformer.market.market_data import KlineArrays
from alphatransformer.trading.models import Position


class _Side(Enum):
    LONG = 1
    SHORT = -1

    @property
    def sign(self) -> int:
        return self.value

    @property
    def opposite(self) -> _Side:
        return _Side.SHORT if self is _Side.LONG else _Side.LONG

    @property
    def label(self) -> str:
        return self.name.lower()

    @property
    def trend_label(self) -> str:
        return "uptrend" if self is _Side.LONG else "downtrend"


@dataclass(frozen=True, slots=True)
class _Signals:
    """The latest indicator values the strategy reads, all finite; `atr` is positive."""

    ema_fast: float
    ema_slow: float
    atr: float
    macd_histogram: float
    rsi: float

    @property
    def trend(self) -> _Side | None:
        if self.ema_fast == self.ema_slow:
            return None
        return _Side.LONG if self.ema_fast > self.ema_slow else _Side.SHORT

    @property
    def spread_atr(self) -> float:
        """EMA fast minus slow in ATRs: how far the trend has separated, volatility-adjusted."""
        return (self.ema_fast - self.ema_slow) / self.atr


@dataclass(frozen=True, slots=True)
class _Plan:
    quantity: float
    stop_loss: float
    take_profit: float
    risk_usd: float
    capped: bool


def decide(
    symbol: str,
    *,
    short: KlineArrays,
    long: KlineArrays,
    price: float,
    position: Position | None,
    equity: Decimal,
    config: RulesModelConfig,
    min_confidence: float = 0.0,
) -> TradeDecision:
    """The rules model's decision for one symbol (see the module docstring for the rules)."""
    signals = _read_signals(short, long, config)
    if isinstance(signals, str):
        return hold(symbol, signals)
    style = _STYLES[config.style]
    if position is None:
        return _decide_flat(symbol, signals, price, equity, config, style, min_confidence)
    return _decide_with_position(symbol, signals, position, config, style)


def _read_signals(
    short: KlineArrays, long: KlineArrays, config: RulesModelConfig
) -> _Signals | str:
    """The latest values, or the reason (warm-up, zero volatility) there is nothing to read."""
    readings = {
        "ema_fast": indicators.latest(indicators.ema(long.close, config.ema_fast)),
        "ema_slow": indicators.latest(indicators.ema(long.close, config.ema_slow)),
        "atr": indicators.latest(indicators.atr(long, config.atr_period)),
        "macd_histogram": indicators.latest(indicators.macd(short.close).histogram),
        "rsi": indicators.latest(indicators.rsi(short.close, config.rsi_period)),
    }
    missing = [name for name, value in readings.items() if value is None]
    if missing:
        return (
            f"Not enough data yet: {', '.join(missing)} still warming up. The long timeframe "
            f"has {len(long)} candles for EMA{config.ema_fast}/EMA{config.ema_slow}/"
            f"ATR{config.atr_period}; the short timeframe has {len(short)} for MACD "
            f"{indicators.MACD_FAST}/{indicators.MACD_SLOW}/{indicators.MACD_SIGNAL} and "
            f"RSI{config.rsi_period}."
        )
    signals = _Signals(**{name: value for name, value in readings.items() if value is not None})
    if signals.atr <= 0:
        return "Long-timeframe ATR is 0: no volatility to place a stop by, so no trade."
    return signals


class _Style(Protocol):
    """What differs between the trend and the mean-reversion rules; sizing and wording do not."""

    def entry_blockers(self, side: _Side, signals: _Signals, config: RulesModelConfig) -> list[str]:
        """What keeps `side` from being an entry now; empty when it is one."""
        ...

    def exit_reasons(self, held: _Side, signals: _Signals, config: RulesModelConfig) -> list[str]:
        """Why a position on `held`'s side should go; empty when it should stay."""
        ...

    def invalidation(self, side: _Side, config: RulesModelConfig) -> str:
        """The exit rule of a position on `side`, in words (what `exit_reasons` checks)."""
        ...

    def strength(self, side: _Side, signals: _Signals, config: RulesModelConfig) -> float:
        """How strongly the signals point to `side`, in [0, 1]."""
        ...


class _Trend:
    def entry_blockers(self, side: _Side, signals: _Signals, config: RulesModelConfig) -> list[str]:
        if signals.trend is not side:
            trend = signals.trend.trend_label if signals.trend else "no trend (the EMAs are equal)"
            return [f"{trend}: no {side.label} entry"]
        blockers = []
        if side.sign * signals.macd_histogram <= 0:
            blockers.append(f"{side.trend_label} but the MACD histogram does not confirm it")
        if _rsi_stretched(side, signals.rsi, config):
            blockers.append(
                f"{side.trend_label} but RSI is past {_rsi_limit(side, config):g}, too stretched"
            )
        return blockers

    def exit_reasons(self, held: _Side, signals: _Signals, config: RulesModelConfig) -> list[str]:
        reasons = []
        if signals.trend is held.opposite:
            reasons.append(f"the long timeframe turned into a {held.opposite.trend_label}")
        if _rsi_stretched(held.opposite, signals.rsi, config):
            limit = _rsi_limit(held.opposite, config)
            reasons.append(f"RSI reached {limit:g}, the extreme against it")
        return reasons

    def invalidation(self, side: _Side, config: RulesModelConfig) -> str:
        cross = "below" if side is _Side.LONG else "above"
        comparison = "<=" if side is _Side.LONG else ">="
        return (
            f"Long-timeframe EMA{config.ema_fast} crosses {cross} EMA{config.ema_slow}, or "
            f"short-timeframe RSI{config.rsi_period} {comparison} "
            f"{_rsi_limit(side.opposite, config):g}."
        )

    def strength(self, side: _Side, signals: _Signals, config: RulesModelConfig) -> float:
        trend_score = _clamp01(side.sign * signals.spread_atr)
        momentum = side.sign * (signals.rsi - 50) / abs(_rsi_limit(side, config) - 50)
        return round((trend_score + _clamp01(momentum)) / 2, 3)


class _MeanReversion:
    """Fades RSI extremes: a long after an oversold reading, a short after an overbought one."""

    def entry_blockers(self, side: _Side, signals: _Signals, config: RulesModelConfig) -> list[str]:
        # A long needs the move stretched downward: the short side's limit (oversold) reached.
        if _rsi_stretched(side.opposite, signals.rsi, config):
            return []
        limit = _rsi_limit(side.opposite, config)
        return [f"RSI {signals.rsi:.1f} has not reached {limit:g}, nothing to revert"]

    def exit_reasons(self, held: _Side, signals: _Signals, config: RulesModelConfig) -> list[str]:
        if held.sign * (signals.rsi - 50) >= 0:
            return [f"RSI is back at {signals.rsi:.1f}, across 50: the move has reverted"]
        return []

    def invalidation(self, side: _Side, config: RulesModelConfig) -> str:
        comparison = ">=" if side is _Side.LONG else "<="
        return f"Short-timeframe RSI{config.rsi_period} {comparison} 50 (reverted), or the stop."

    def strength(self, side: _Side, signals: _Signals, config: RulesModelConfig) -> float:
        limit = _rsi_limit(side.opposite, config)
        extreme = 0.0 if side is _Side.LONG else 100.0
        return round(_clamp01((signals.rsi - limit) / (extreme - limit)), 3)


_STYLES: dict[str, _Style] = {"trend": _Trend(), "mean_reversion": _MeanReversion()}


def _decide_flat(
    symbol: str,
    signals: _Signals,
    price: float,
    equity: Decimal,
    config: RulesModelConfig,
    style: _Style,
    min_confidence: float,
) -> TradeDecision:
    why: list[str] = []
    for side in sorted(_Side, key=lambda s: -style.strength(s, signals, config)):
        blockers = style.entry_blockers(side, signals, config)
        if blockers:
            why.extend(blockers)
            continue
        confidence = round(0.5 + style.strength(side, signals, config) / 2, 3)
        if confidence < min_confidence:
            why.append(
                f"a {side.label} signal of confidence {confidence:g} is below the gate's "
                f"minimum {min_confidence:g}"
            )
            continue
        plan = _plan(side, signals.atr, price, equity, config)
        if isinstance(plan, str):
            return hold(symbol, f"{_describe(signals, config)} {plan}")
        return _open(symbol, side, signals, price, plan, config, style, confidence)
    return _hold_flat(symbol, signals, config, style, "; ".join(why))


def _decide_with_position(
    symbol: str, signals: _Signals, position: Position, config: RulesModelConfig, style: _Style
) -> TradeDecision:
    held = _Side.LONG if position.is_long else _Side.SHORT
    exits = style.exit_reasons(held, signals, config)
    if exits:
        return TradeDecision(
            symbol=symbol,
            action=Action.CLOSE,
            confidence=style.strength(held.opposite, signals, config),
            reasoning=f"{_describe(signals, config)} Close the {held.label}: {'; '.join(exits)}.",
        )
    return TradeDecision(
        symbol=symbol,
        action=Action.HOLD,
        confidence=style.strength(held, signals, config),
        invalidation_condition=style.invalidation(held, config),
        reasoning=f"{_describe(signals, config)} Keep the {held.label}: no exit signal.",
    )


def _rsi_limit(side: _Side, config: RulesModelConfig) -> float:
    """The RSI level past which a move in `side`'s direction is stretched."""
    return config.rsi_overbought if side is _Side.LONG else config.rsi_oversold


def _rsi_stretched(side: _Side, rsi: float, config: RulesModelConfig) -> bool:
    return side.sign * (rsi - _rsi_limit(side, config)) >= 0


def _clamp01(value: float) -> float:
    return min(max(value, 0.0), 1.0)


def _plan(
    side: _Side, atr: float, price: float, equity: Decimal, config: RulesModelConfig
) -> _Plan | str:
    """Stop, take profit and the size whose stop-out loses risk_per_trade of equity."""
    if not (math.isfinite(price) and price > 0):
        return f"Cannot size a {side.label}: price {price} is not a positive number."
    stop_distance = config.stop_atr_multiple * atr
    budget = float(equity) * config.risk_per_trade
    affordable = float(equity) * config.leverage / price
    quantity = min(budget / stop_distance, affordable)
    plan = _Plan(
        quantity=quantity,
        stop_loss=price - side.sign * stop_distance,
        take_profit=price + side.sign * config.take_profit_atr_multiple * atr,
        risk_usd=quantity * stop_distance,
        capped=affordable < budget / stop_distance,
    )
    numbers = (plan.quantity, plan.stop_loss, plan.take_profit, plan.risk_usd)
    if all(math.isfinite(number) and number > 0 for number in numbers):
        return plan
    return (
        f"Cannot size a {side.label}: price {price:.8g}, equity {equity}, ATR {atr:.8g} give "
        f"quantity {plan.quantity:.8g}, stop {plan.stop_loss:.8g}, take profit "
        f"{plan.take_profit:.8g}."
    )


def _open(
    symbol: str,
    side: _Side,
    signals: _Signals,
    price: float,
    plan: _Plan,
    config: RulesModelConfig,
    style: _Style,
    confidence: float,
) -> TradeDecision:
    cap = f" Size capped at {config.leverage}x equity of notional." if plan.capped else ""
    sizing = (
        f"Open {side.label} {plan.quantity:.8g} at {price:.8g}: stop {plan.stop_loss:.8g} "
        f"({config.stop_atr_multiple:g} x ATR {signals.atr:.8g}), take profit "
        f"{plan.take_profit:.8g} ({config.take_profit_atr_multiple:g} x ATR), risking "
        f"{plan.risk_usd:.2f} USD ({config.risk_per_trade:.2%} of equity).{cap}"
    )
    return TradeDecision(
        symbol=symbol,
        action=Action.OPEN_LONG if side is _Side.LONG else Action.OPEN_SHORT,
        quantity=plan.quantity,
        leverage=config.leverage,
        stop_loss=plan.stop_loss,
        take_profit=plan.take_profit,
        invalidation_condition=style.invalidation(side, config),
        confidence=confidence,
        risk_usd=plan.risk_usd,
        reasoning=f"{_describe(signals, config)} {sizing}",
    )


def _hold_flat(
    symbol: str, signals: _Signals, config: RulesModelConfig, style: _Style, why: str
) -> TradeDecision:
    best = max(style.strength(side, signals, config) for side in _Side)
    return TradeDecision(
        symbol=symbol,
        action=Action.HOLD,
        confidence=round(1 - best, 3),
        reasoning=f"{_describe(signals, config)} Stay flat: {why}.",
    )


def _describe(signals: _Signals, config: RulesModelConfig) -> str:
    """The numbers every decision cites, so a reader can check it against the candles."""
    trend = signals.trend.trend_label if signals.trend else "no trend"
    return (
        f"Long timeframe: EMA{config.ema_fast} {signals.ema_fast:.8g} vs "
        f"EMA{config.ema_slow} {signals.ema_slow:.8g} ({trend}, spread "
        f"{signals.spread_atr:.2f} ATR; ATR{config.atr_period} {signals.atr:.8g}). Short "
        f"timeframe: MACD histogram {signals.macd_histogram:.4g}, RSI{config.rsi_period} "
        f"{signals.rsi:.1f}."
    )
