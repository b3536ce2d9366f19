"""Keeps a paper account durable: every change is saved before anyone hears of it.

The exchange tells the journal which orders changed; the ledger says which income is new. A
flush saves those with the account's core, and only then hands the order updates to the
listeners, so a process killed at any moment has never reported a fill, an order or a balance
that its store would not give back at the next start.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from alphatransformer.trading.errors import AmbiguousOutcome
from alphatransformer.trading.exchange import OrderListener
from alphatransformer.trading.models import OrderUpdate
from alphatransformer.trading.paper.ledger import Ledger
from alphatransformer.trading.paper.state import AccountCore, PaperState, PaperStateStore

logger = logging.getLogger(__name__)


class StateJournal:
    """Changes of one paper account not saved yet, and the saving of them, one save at a time."""

    def __init__(
        self,
        store: PaperStateStore,
        core: Callable[[], AccountCore],
        ledger: Ledger,
        deliver: OrderListener,
        *,
        saved_tran_id: int,
    ) -> None:
        """`saved_tran_id`: the newest income entry the store already holds (0 for a new
        account, whose deposit is still to save)."""
        self._store = store
        self._core = core
        self._ledger = ledger
        self._deliver = deliver
        self._saved_tran_id = saved_tran_id
        self._orders: dict[str, OrderUpdate] = {}
        self._held: list[OrderUpdate] = []
        self._touched = False
        self._saving = asyncio.Lock()
        self._background: set[asyncio.Task[None]] = set()

    def order_changed(self, update: OrderUpdate) -> None:
        """Keep `update` for the next save; listeners get it once that save is done."""
        self._orders[update.client_order_id] = update
        self._held.append(update)

    def touch(self) -> None:
        """The core changed without an order or income entry (a leverage or margin setting)."""
        self._touched = True

    @property
    def pending(self) -> bool:
        return bool(
            self._touched or self._orders or self._ledger.last_tran_id > self._saved_tran_id
        )

    async def flush(self) -> None:
        """Save every change so far, then deliver the order updates it covers.

        A failed save keeps the changes for the next flush and raises `AmbiguousOutcome`: what
        the caller asked for happened in memory but may not survive a restart.
        """
        async with self._saving:
            if not self.pending:
                return
            orders, held = self._orders, self._held
            income = self._ledger.entries_after(self._saved_tran_id)
            self._orders, self._held, self._touched = {}, [], False
            try:
                await self._store.save(PaperState(self._core(), list(orders.values()), income))
            except BaseException as error:  # cancelled too: either way the change is not saved
                self._orders, self._held = orders | self._orders, held + self._held
                self._touched = True
                if isinstance(error, Exception):
                    raise AmbiguousOutcome(
                        f"the paper account could not be saved: {error}"
                    ) from error
                raise
            self._saved_tran_id += len(income)
            for update in held:
                self._deliver(update)

    def flush_soon(self) -> None:
        """Flush from code that cannot wait (a candle update); a failure is logged and the
        changes wait for the next flush."""
        if not self.pending:
            return
        task = asyncio.get_running_loop().create_task(self._flush_logged())
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    async def close(self) -> None:
        """Wait for the flushes under way, then save whatever is left."""
        await asyncio.gather(*self._background)
        await self._flush_logged()

    async def _flush_logged(self) -> None:
        try:
            await self.flush()
        except AmbiguousOutcome:
            logger.exception("paper account not saved; retrying at the next change")
