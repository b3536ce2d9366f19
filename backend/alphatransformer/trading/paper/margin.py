"""Account-wide margin: what is free to open positions, what is in use, and where each position
is liquidated given the others, following Binance USDⓈ-M single-asset mode.

Free margin ("Available for Order", binance.com/en/support/faq/5d62f8be18d24544b5b6156094c16bf7):
    crossWalletBalance + sum(cross unrealized PnL) - sum(cross initial margin)
where crossWalletBalance = wallet balance - sum(isolated wallets). Unrealized PnL of cross
positions counts, profit included; that of isolated positions does not (it stays inside their
isolated margin). Binance shows max(0, free margin) as the available balance.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from decimal import Decimal

from alphatransformer.trading.paper.positions import OpenPosition, liquidation_price

Positions = Mapping[str, OpenPosition]
Marks = Mapping[str, Decimal]


def cross_wallet_balance(wallet: Decimal, positions: Positions) -> Decimal:
    """The wallet minus what isolated positions hold."""
    return wallet - sum((p.isolated_margin for p in positions.values()), Decimal(0))


def unrealized_pnl(positions: Iterable[OpenPosition], marks: Marks) -> Decimal:
    return sum((p.unrealized_pnl(marks[p.symbol]) for p in positions), Decimal(0))


def margin_used(positions: Positions, marks: Marks) -> Decimal:
    """Binance's totalInitialMargin: isolated wallets plus cross initial margin at the mark."""
    return sum((p.initial_margin(marks[p.symbol]) for p in positions.values()), Decimal(0))


def free_margin(wallet: Decimal, positions: Positions, marks: Marks) -> Decimal:
    """Margin left to open positions with; negative when cross losses eat into initial margin."""
    cross = _cross(positions)
    initial = sum((p.initial_margin(marks[p.symbol]) for p in cross), Decimal(0))
    return cross_wallet_balance(wallet, positions) + unrealized_pnl(cross, marks) - initial


def position_liquidation_price(
    symbol: str, wallet: Decimal, positions: Positions, marks: Marks
) -> Decimal | None:
    """Unrounded liquidation price of the position in `symbol`, the other positions marked at
    `marks` (their marks only matter in cross, through TMM1 and UPNL1)."""
    position = positions[symbol]
    if position.is_isolated:
        return liquidation_price(position, position.isolated_margin, Decimal(0), Decimal(0))
    others = [p for p in _cross(positions) if p.symbol != symbol]
    return liquidation_price(
        position,
        cross_wallet_balance(wallet, positions),
        sum((p.maintenance_margin(marks[p.symbol]) for p in others), Decimal(0)),
        unrealized_pnl(others, marks),
    )


def _cross(positions: Positions) -> list[OpenPosition]:
    return [p for p in positions.values() if not p.is_isolated]
