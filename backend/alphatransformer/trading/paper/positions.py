"""One-way position arithmetic: what a fill does to a position, its margins and its
liquidation price. Pure functions on immutable values, so a fill can be tried before it is
booked (the margin check) with exactly the arithmetic that books it."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from alphatransformer.trading.models import MarginType, OrderSide
from alphatransformer.trading.paper.ledger import usdt

ZERO = Decimal(0)


@dataclass(frozen=True, slots=True)
class PositionTerms:
    """A symbol's account settings, which apply to the position held in it."""

    leverage: int
    margin_type: MarginType
    maintenance_margin_rate: Decimal


@dataclass(frozen=True, slots=True)
class OpenPosition:
    """A non-zero position; `quantity` is signed (positive long).

    `isolated_margin` is Binance's isolated wallet of the position (zero in cross): the initial
    margin put in at each entry, released pro rata on reductions, moved by funding.
    """

    symbol: str
    quantity: Decimal
    entry_price: Decimal
    terms: PositionTerms
    isolated_margin: Decimal = ZERO

    @property
    def side(self) -> int:
        """Binance's `Side1`: 1 long, -1 short."""
        return 1 if self.quantity > 0 else -1

    @property
    def size(self) -> Decimal:
        return abs(self.quantity)

    @property
    def is_isolated(self) -> bool:
        return self.terms.margin_type is MarginType.ISOLATED

    def is_reduced_by(self, side: OrderSide) -> bool:
        """Whether an order on `side` works against this position."""
        return (side is OrderSide.SELL) == (self.quantity > 0)

    def unrealized_pnl(self, mark: Decimal) -> Decimal:
        return usdt((mark - self.entry_price) * self.quantity)

    def initial_margin(self, mark: Decimal) -> Decimal:
        """Isolated: the margin put in. Cross: notional at the mark over leverage, as Binance."""
        if self.is_isolated:
            return self.isolated_margin
        return usdt(self.size * mark / self.terms.leverage)

    def maintenance_margin(self, mark: Decimal) -> Decimal:
        """Notional at the mark times the first-tier rate (maintenance amount 0 on tier 1)."""
        return usdt(self.size * mark * self.terms.maintenance_margin_rate)


@dataclass(frozen=True, slots=True)
class FillOutcome:
    """A fill's effect: the new position (None when flat), the PnL it realizes, and how much of
    it opened exposure (zero for a pure reduction, which needs no margin)."""

    position: OpenPosition | None
    realized_pnl: Decimal
    opened_quantity: Decimal


def apply_fill(
    position: OpenPosition | None,
    symbol: str,
    terms: PositionTerms,
    signed_quantity: Decimal,
    price: Decimal,
) -> FillOutcome:
    """Fill `signed_quantity` (positive buys) at `price`: add, reduce, close or flip.

    Realized PnL on the closed part is (exit - entry) x closed quantity x side.
    """
    if position is None or (position.quantity > 0) == (signed_quantity > 0):
        added = _added(position, symbol, terms, signed_quantity, price)
        return FillOutcome(added, ZERO, abs(signed_quantity))
    closed = min(abs(signed_quantity), position.size)
    realized = (price - position.entry_price) * closed * position.side
    remaining = position.quantity + signed_quantity
    if remaining == 0:
        return FillOutcome(None, realized, ZERO)
    if (remaining > 0) == (position.quantity > 0):
        return FillOutcome(_reduced(position, remaining), realized, ZERO)
    flipped = _added(None, symbol, terms, remaining, price)
    return FillOutcome(flipped, realized, abs(remaining))


def _added(
    position: OpenPosition | None,
    symbol: str,
    terms: PositionTerms,
    signed_quantity: Decimal,
    price: Decimal,
) -> OpenPosition:
    """Open or add at `price`: the entry becomes the size-weighted average."""
    margin = ZERO
    if terms.margin_type is MarginType.ISOLATED:
        margin = usdt(abs(signed_quantity) * price / terms.leverage)
    if position is None:
        return OpenPosition(symbol, signed_quantity, price, terms, margin)
    quantity = position.quantity + signed_quantity
    cost = position.size * position.entry_price + abs(signed_quantity) * price
    return OpenPosition(
        symbol, quantity, cost / abs(quantity), terms, position.isolated_margin + margin
    )


def _reduced(position: OpenPosition, remaining: Decimal) -> OpenPosition:
    """Shrink to `remaining`; the entry stays, isolated margin is released pro rata."""
    margin = usdt(position.isolated_margin * abs(remaining) / position.size)
    return OpenPosition(position.symbol, remaining, position.entry_price, position.terms, margin)


def liquidation_price(
    position: OpenPosition,
    wallet_balance: Decimal,
    other_maintenance: Decimal,
    other_unrealized: Decimal,
) -> Decimal | None:
    """Binance's one-way liquidation price, unrounded; None when it is not positive.

    LP = (WB - TMM1 + UPNL1 + cumB - Side1 x Position1 x EP1) / (Position1 x MMR1 - Side1 x
    Position1), from "How to Calculate Liquidation Price of USDⓈ-M Futures Contracts"
    (binance.com/en/support/faq/b3c689c1f50a44cabb3a84e663b81d93). cumB is 0 on the first
    bracket. Isolated: WB is the position's isolated wallet and TMM1 = UPNL1 = 0. Cross: WB is
    the cross wallet, TMM1 and UPNL1 those of the other cross positions.
    """
    side, size = position.side, position.size
    numerator = (
        wallet_balance - other_maintenance + other_unrealized - side * size * position.entry_price
    )
    price = numerator / (size * position.terms.maintenance_margin_rate - side * size)
    return price if price > 0 else None
