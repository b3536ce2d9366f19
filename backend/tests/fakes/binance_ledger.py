"""The fake Binance's books: one USDT wallet, one-way positions, and every trade with its fee and
realized PnL, computed on their own here (not with the paper exchange's code) so the adapter's
numbers are checked against an independent account.

Amounts are booked as Binance books them: 8 decimals, half up.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

USDT_QUANTUM = Decimal("0.00000001")
MAINTENANCE_MARGIN_RATE = Decimal("0.004")
ZERO = Decimal(0)


def usdt(amount: Decimal) -> Decimal:
    return amount.quantize(USDT_QUANTUM, rounding=ROUND_HALF_UP)


@dataclass(slots=True)
class Holding:
    """A one-way position: `quantity` signed (positive long), never zero."""

    quantity: Decimal
    entry_price: Decimal

    def unrealized(self, mark: Decimal) -> Decimal:
        return usdt((mark - self.entry_price) * self.quantity)

    def initial_margin(self, mark: Decimal, leverage: int) -> Decimal:
        return usdt(abs(self.quantity) * mark / leverage)

    def maintenance_margin(self, mark: Decimal) -> Decimal:
        return usdt(abs(self.quantity) * mark * MAINTENANCE_MARGIN_RATE)


@dataclass(frozen=True, slots=True)
class Trade:
    """One fill as `/fapi/v1/userTrades` lists it."""

    trade_id: int
    order_id: int
    symbol: str
    side: str
    price: Decimal
    quantity: Decimal
    fee: Decimal
    realized_pnl: Decimal
    maker: bool
    time_ms: int


class Ledger:
    """Wallet, positions and trades; the wallet moves only by realized PnL and fees."""

    def __init__(self, balance: Decimal) -> None:
        self.wallet = balance
        self.holdings: dict[str, Holding] = {}
        self.trades: list[Trade] = []

    @property
    def fees_paid(self) -> Decimal:
        return sum((t.fee for t in self.trades), ZERO)

    @property
    def realized_pnl(self) -> Decimal:
        return sum((t.realized_pnl for t in self.trades), ZERO)

    def signed(self, side: str, quantity: Decimal) -> Decimal:
        return quantity if side == "BUY" else -quantity

    def opened_by(self, symbol: str, side: str, quantity: Decimal) -> Decimal:
        """How much of a fill would open exposure rather than reduce the position."""
        holding = self.holdings.get(symbol)
        signed = self.signed(side, quantity)
        if holding is None or (holding.quantity > 0) == (signed > 0):
            return quantity
        return max(ZERO, quantity - abs(holding.quantity))

    def book(
        self,
        order_id: int,
        symbol: str,
        side: str,
        quantity: Decimal,
        price: Decimal,
        *,
        fee_rate: Decimal,
        maker: bool,
        time_ms: int,
    ) -> Trade:
        """Fill `quantity` of an order at `price`: move the position, book PnL and fee."""
        realized = usdt(self._move(symbol, self.signed(side, quantity), price))
        fee = usdt(price * quantity * fee_rate)
        self.wallet += realized - fee
        trade_id = len(self.trades) + 1
        trade = Trade(
            trade_id, order_id, symbol, side, price, quantity, fee, realized, maker, time_ms
        )
        self.trades.append(trade)
        return trade

    def _move(self, symbol: str, signed: Decimal, price: Decimal) -> Decimal:
        """Apply a signed fill; return the PnL it realizes (unrounded)."""
        holding = self.holdings.get(symbol)
        if holding is None or (holding.quantity > 0) == (signed > 0):
            size = abs(holding.quantity) if holding else ZERO
            entry = holding.entry_price if holding else ZERO
            total = size + abs(signed)
            new_quantity = (holding.quantity if holding else ZERO) + signed
            self.holdings[symbol] = Holding(
                new_quantity, (size * entry + abs(signed) * price) / total
            )
            return ZERO
        closed = min(abs(signed), abs(holding.quantity))
        realized = (price - holding.entry_price) * closed * (1 if holding.quantity > 0 else -1)
        remaining = holding.quantity + signed
        if remaining == 0:
            del self.holdings[symbol]
        elif (remaining > 0) == (holding.quantity > 0):
            holding.quantity = remaining
        else:
            self.holdings[symbol] = Holding(remaining, price)
        return realized
