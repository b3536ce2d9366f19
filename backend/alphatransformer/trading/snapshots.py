"""Account snapshots: the equity curve and the day's opening equity come from these rows."""

from __future__ import annotations

from alphatransformer.database.models import AccountSnapshot
from alphatransformer.database.repositories import SnapshotRepository
from alphatransformer.trading.exchange import Exchange
from alphatransformer.trading.models import Account, Position
from alphatransformer.utils.clock import Clock, to_datetime


class AccountSnapshotter:
    def __init__(
        self, exchange: Exchange, snapshots: SnapshotRepository, clock: Clock, environment: str
    ) -> None:
        self._exchange = exchange
        self._snapshots = snapshots
        self._clock = clock
        self._environment = environment

    async def take(self) -> Account:
        """Read the account from the exchange and store it; return what was read."""
        account = await self._exchange.account()
        await self._snapshots.add(
            AccountSnapshot(
                taken_at=to_datetime(self._clock.now_ms()),
                environment=self._environment,
                wallet_balance=account.wallet_balance,
                equity=account.equity,
                available_balance=account.available_balance,
                unrealized_pnl=account.unrealized_pnl,
                margin_used=account.margin_used,
                open_positions=len(account.positions),
                positions=[_position_record(p) for p in account.positions],
            )
        )
        return account


def _position_record(position: Position) -> dict[str, str | int | None]:
    return {
        "symbol": position.symbol,
        "quantity": str(position.quantity),
        "entry_price": str(position.entry_price),
        "mark_price": str(position.mark_price),
        "unrealized_pnl": str(position.unrealized_pnl),
        "leverage": position.leverage,
        "margin_type": position.margin_type.value,
        "liquidation_price": None
        if position.liquidation_price is None
        else str(position.liquidation_price),
    }
