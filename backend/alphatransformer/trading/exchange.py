"""The `Exchange` interface: everything above it (risk gate, order manager, engine, API) uses
only this, so the paper exchange and the Binance adapter are interchangeable."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Protocol

from alphatransformer.trading.filters import SymbolFilters
from alphatransformer.trading.models import Account, MarginType, OrderRequest, OrderUpdate

OrderListener = Callable[[OrderUpdate], None]
StaleListener = Callable[[str], None]
"""Told why the exchange's view may have missed updates (say, its stream reconnected)."""


class Exchange(Protocol):
    @property
    def name(self) -> str:
        """Short label shown to people: `paper`, `binance-testnet`, `binance`."""
        ...

    @property
    def slippage(self) -> Decimal:
        """How far past the last price a market order may fill, as a fraction (0.0002 is 2 bps):
        the paper exchange's configured slippage, a venue's allowance. The risk gate sizes and
        checks entries at that worse price, so a fill never lands past a configured limit."""
        ...

    async def start(self) -> None:
        """Connect, load symbol filters, open the order/account update stream."""
        ...

    async def stop(self) -> None: ...

    async def symbol_filters(self, symbol: str) -> SymbolFilters: ...

    async def account(self) -> Account:
        """Balance and open positions, marked to the current price."""
        ...

    async def open_orders(self, symbol: str | None = None) -> list[OrderUpdate]:
        """Resting orders, conditional (stop-loss, take-profit) ones included."""
        ...

    async def set_leverage(self, symbol: str, leverage: int) -> None: ...

    async def set_margin_type(self, symbol: str, margin_type: MarginType) -> None: ...

    async def place_order(self, request: OrderRequest) -> OrderUpdate:
        """Send one order. Raises `DefinitiveRejection` or `AmbiguousOutcome` (see errors)."""
        ...

    async def cancel_order(self, symbol: str, client_order_id: str) -> OrderUpdate: ...

    async def query_order(self, symbol: str, client_order_id: str) -> OrderUpdate | None:
        """The order's current state, or None when the exchange has never seen that id."""
        ...

    def add_order_listener(self, listener: OrderListener) -> None:
        """Call `listener` for every order update, including fills of resting orders."""
        ...

    def add_stale_listener(self, listener: StaleListener) -> None:
        """Call `listener` with the reason whenever updates may have been lost (a stream that
        dropped and came back), so the owner reconciles before trusting its records again."""
        ...
