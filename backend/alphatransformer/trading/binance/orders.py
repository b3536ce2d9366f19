"""Every order the adapter has placed or heard of, followed by our client order id.

Binance tells an order's story in pieces, from several places, not always in order: REST
answers, `ORDER_TRADE_UPDATE`s (one per trade, with that trade's fee and realized PnL),
`ALGO_UPDATE`s for conditional orders, and the matching-engine order a conditional order becomes
when it triggers. `OrderTracker` puts the pieces together so that every `OrderUpdate` it hands
out carries the order's totals (fees and PnL summed over distinct trades, whichever source
reported them, however often) and never goes back in time (a late NEW after a FILLED is
ignored).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from decimal import Decimal
from enum import Enum

from alphatransformer.trading.binance.schemas import Fill
from alphatransformer.trading.models import OrderUpdate


class OrderKind(Enum):
    """Where Binance keeps an order: the matching engine or the Algo Service."""

    NORMAL = "order"
    ALGO = "algo"


@dataclass(slots=True)
class _Followed:
    symbol: str
    kind: OrderKind
    latest: OrderUpdate | None = None
    fills: dict[int, Fill] = field(default_factory=dict)


class OrderTracker:
    """What is known of each order, by client order id."""

    def __init__(self) -> None:
        self._orders: dict[str, _Followed] = {}
        self._algo_by_actual: dict[str, str] = {}

    def expect(self, client_order_id: str, symbol: str, kind: OrderKind) -> None:
        """Note where an order is about to be sent, so a query after a lost answer asks the
        right endpoint; an id already followed keeps what is known of it."""
        self._orders.setdefault(client_order_id, _Followed(symbol, kind))

    def forget_unplaced(self, client_order_id: str) -> None:
        """Drop an id the exchange refused before ever holding an order under it."""
        followed = self._orders.get(client_order_id)
        if followed is not None and followed.latest is None:
            del self._orders[client_order_id]

    def kind(self, client_order_id: str) -> OrderKind | None:
        followed = self._orders.get(client_order_id)
        return followed.kind if followed else None

    def exists(self, client_order_id: str) -> bool:
        """Whether the exchange is known to hold an order with this id."""
        followed = self._orders.get(client_order_id)
        return followed is not None and followed.latest is not None

    def unsettled(self) -> list[tuple[str, str]]:
        """(symbol, client order id) of orders not known to be final: what a reconnect must
        query, since their events may have been missed."""
        return [
            (followed.symbol, client_id)
            for client_id, followed in self._orders.items()
            if followed.latest is None or not followed.latest.status.is_final
        ]

    def link_actual(self, client_order_id: str, actual_order_id: str) -> None:
        """Remember the matching-engine order a triggered conditional order became."""
        self._algo_by_actual[actual_order_id] = client_order_id

    def algo_owner(self, update: OrderUpdate) -> str | None:
        """The conditional order a matching-engine order belongs to, if it is a triggered one:
        it carries the conditional order's client id, or the id its ALGO_UPDATE named."""
        if self.kind(update.client_order_id) is OrderKind.ALGO:
            return update.client_order_id
        return self._algo_by_actual.get(update.exchange_order_id)

    def add_fills(self, client_order_id: str, fills: Iterable[Fill]) -> None:
        """Record trades of an order; one already recorded (same trade id) counts once."""
        followed = self._orders.get(client_order_id)
        if followed is None:
            return
        for fill in fills:
            followed.fills[fill.trade_id] = fill

    def as_algo(self, client_order_id: str, actual: OrderUpdate) -> OrderUpdate:
        """A triggered conditional order seen through its matching-engine order `actual`."""
        algo = self._orders[client_order_id].latest
        if algo is None:
            return replace(actual, client_order_id=client_order_id)
        return triggered(algo, actual)

    def merge(self, update: OrderUpdate, kind: OrderKind) -> tuple[OrderUpdate, bool]:
        """`update` with the order's fee and PnL totals, and whether it tells anything new.
        An update that would move the order back (final to working, less filled) is stale:
        the latest known state is kept."""
        followed = self._orders.setdefault(update.client_order_id, _Followed(update.symbol, kind))
        candidate = _with_totals(update, followed.fills.values())
        latest = followed.latest
        if latest is not None and (_is_stale(candidate, latest) or _same(candidate, latest)):
            return latest, False
        followed.latest = candidate
        return candidate, True


def triggered(algo: OrderUpdate, actual: OrderUpdate) -> OrderUpdate:
    """The conditional order `algo` once triggered: its identity, type and trigger, with the
    fills and status of the matching-engine order it became, once that has filled something
    (until then, the algo's own status says more)."""
    if actual.filled_quantity == 0:
        return algo
    return replace(
        algo,
        status=actual.status,
        quantity=max(algo.quantity, actual.filled_quantity),
        filled_quantity=actual.filled_quantity,
        avg_price=actual.avg_price,
        update_time_ms=actual.update_time_ms,
    )


def _with_totals(update: OrderUpdate, fills: Iterable[Fill]) -> OrderUpdate:
    recorded = list(fills)
    return replace(
        update,
        # A close-position order has no quantity until it fills: then it is what filled.
        quantity=max(update.quantity, update.filled_quantity),
        fee=sum((f.fee for f in recorded), Decimal(0)),
        realized_pnl=sum((f.realized_pnl for f in recorded), Decimal(0)),
    )


def _is_stale(candidate: OrderUpdate, latest: OrderUpdate) -> bool:
    went_back = latest.status.is_final and not candidate.status.is_final
    return went_back or candidate.filled_quantity < latest.filled_quantity


def _same(candidate: OrderUpdate, latest: OrderUpdate) -> bool:
    """Equal but for the time stamp: nothing to tell anyone."""
    return replace(candidate, update_time_ms=latest.update_time_ms) == latest
