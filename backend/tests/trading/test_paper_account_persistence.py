"""A paper account outlives its process: each run resumes, from the database, the balance,
positions, resting orders, order history and funding schedule the previous run left, and every
change is saved before anyone hears of it.

Unless a test says otherwise: 10,000 USDT deposited, taker fee 0.05 %, slippage 2 bps, BTCUSDT
at 50,000 (tick 0.10, maintenance margin 0.4 %), ETHUSDT at 2,000 (tick 0.01), 1-minute candles,
and the first run starting at 07:58 UTC, two minutes before a funding time.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any, Literal

import pytest
from sqlalchemy import text, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from trading.fake_market import DAY_START_MS, HOUR_MS, MINUTE_MS, FakeMarket

from alphatransformer.config.schema import PaperExchangeConfig
from alphatransformer.database.engine import create_engine, session_factory
from alphatransformer.database.migrate import upgrade_database
from alphatransformer.database.models import PaperAccount
from alphatransformer.database.paper_state import PaperAccountRepository
from alphatransformer.trading.errors import AmbiguousOutcome
from alphatransformer.trading.models import (
    MarginType,
    OrderRequest,
    OrderSide,
    OrderStatus,
    OrderType,
    OrderUpdate,
)
from alphatransformer.trading.paper.exchange import PaperExchange
from alphatransformer.trading.paper.ledger import IncomeType
from alphatransformer.trading.paper.state import PaperState, PaperStateError, PaperStateStore
from alphatransformer.utils.clock import ManualClock

D = Decimal
BUY, SELL = OrderSide.BUY, OrderSide.SELL
CONFIG = PaperExchangeConfig(slippage_bps=D(2))
EIGHT_AM_MS = DAY_START_MS + 8 * HOUR_MS
FIRST_START_MS = EIGHT_AM_MS - 2 * MINUTE_MS


@pytest.fixture
async def sessions(tmp_path: Path) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path}/paper.db")
    await upgrade_database(engine)
    yield session_factory(engine)
    await engine.dispose()


@dataclass
class Run:
    """One process's paper exchange, on the database every run shares."""

    exchange: PaperExchange
    market: FakeMarket
    clock: ManualClock
    updates: list[OrderUpdate] = field(default_factory=list)


async def start_run(
    store: PaperStateStore, now_ms: int = FIRST_START_MS, config: PaperExchangeConfig = CONFIG
) -> Run:
    clock = ManualClock(now_ms)
    market = FakeMarket(clock)
    market.set_price("BTCUSDT", 50_000.0)
    market.set_price("ETHUSDT", 2_000.0)
    run = Run(await PaperExchange.resume(config, market, clock, store), market, clock)
    run.exchange.add_order_listener(run.updates.append)
    await run.exchange.start()
    return run


def market(symbol: str, side: OrderSide, quantity: str, client_id: str) -> OrderRequest:
    return OrderRequest(symbol, side, OrderType.MARKET, client_id, D(quantity))


async def isolated_btc_long_with_stop(run: Run) -> None:
    """0.1 BTC at 50,000 x 1.0002 = 50,010.0, isolated 10x: margin 500.1, fee 2.5005; a
    close-position stop at 48,000."""
    await run.exchange.set_margin_type("BTCUSDT", MarginType.ISOLATED)
    await run.exchange.set_leverage("BTCUSDT", 10)
    await run.exchange.place_order(market("BTCUSDT", BUY, "0.1", "btc-in"))
    stop = OrderRequest(
        "BTCUSDT", SELL, OrderType.STOP_MARKET, "btc-sl", stop_price=D(48_000), close_position=True
    )
    await run.exchange.place_order(stop)


async def eth_round_trip(run: Run) -> None:
    """Buy 1 ETH at 2,000.40 (fee 1.0002), sell it at 2,100 x 0.9998 = 2,099.58: PnL 99.18,
    fee 1.04979."""
    await run.exchange.place_order(market("ETHUSDT", BUY, "1", "eth-in"))
    run.market.set_price("ETHUSDT", 2_100.0)
    await run.exchange.place_order(market("ETHUSDT", SELL, "1", "eth-out"))


async def test_a_restarted_run_resumes_balance_positions_orders_and_history(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    first = await start_run(PaperAccountRepository(sessions))
    await isolated_btc_long_with_stop(first)
    await eth_round_trip(first)
    stop = await first.exchange.query_order("BTCUSDT", "btc-sl")
    sold = await first.exchange.query_order("ETHUSDT", "eth-out")
    income = first.exchange.income()

    # The process dies without stopping anything; the next one opens the same database.
    second = await start_run(PaperAccountRepository(sessions))

    account = await second.exchange.account()
    # 10,000 - 2.5005 (BTC fee) - 1.0002 (ETH buy fee) + 99.18 (ETH PnL) - 1.04979 (ETH sell fee)
    assert account.wallet_balance == D("10094.62951")
    [position] = account.positions
    assert (position.symbol, position.quantity, position.entry_price) == (
        "BTCUSDT",
        D("0.1"),
        D("50010.0"),
    )
    assert (position.leverage, position.margin_type, position.margin) == (
        10,
        MarginType.ISOLATED,
        D("500.1"),  # 0.1 x 50,010 / 10
    )
    # Isolated: (500.1 - 0.1 x 50,010) / (0.1 x 0.004 - 0.1) = 45,189.759..., up to the tick
    assert position.liquidation_price == D("45189.8")
    assert await second.exchange.open_orders() == [stop]
    assert await second.exchange.query_order("ETHUSDT", "eth-out") == sold
    assert sold is not None
    assert (sold.avg_price, sold.realized_pnl, sold.fee) == (D("2099.58"), D("99.18"), D("1.04979"))
    assert second.exchange.income() == income
    assert sum((r.income for r in income), D(0)) == account.wallet_balance


async def test_order_ids_and_settings_carry_on_after_a_restart(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    first = await start_run(PaperAccountRepository(sessions))
    await isolated_btc_long_with_stop(first)  # orders 1 and 2
    await first.exchange.set_margin_type("ETHUSDT", MarginType.ISOLATED)
    await first.exchange.set_leverage("ETHUSDT", 4)

    second = await start_run(PaperAccountRepository(sessions))
    entry = await second.exchange.place_order(market("ETHUSDT", BUY, "1", "eth-in"))

    assert entry.exchange_order_id == "3"
    position = (await second.exchange.account()).position("ETHUSDT")
    assert position is not None
    assert (position.leverage, position.margin_type) == (4, MarginType.ISOLATED)
    assert position.margin == D("500.1")  # 1 x 2,000.40 / 4


async def test_funding_paid_before_a_restart_is_not_paid_again_and_funding_missed_is_paid(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    first = await start_run(PaperAccountRepository(sessions))
    await isolated_btc_long_with_stop(first)
    first.market.set_funding("BTCUSDT", 0.0001, mark_price=50_000.0)
    first.clock.now = EIGHT_AM_MS
    first.market.push("BTCUSDT", 50_000, 50_000, 50_000, 50_000)  # 08:00: 0.1 x 50,000 x 0.0001
    await first.exchange.account()

    # Down from 08:00 to 16:01: the position was held through the 16:00 funding time.
    second = await start_run(
        PaperAccountRepository(sessions), EIGHT_AM_MS + 8 * HOUR_MS + MINUTE_MS
    )
    second.market.set_funding("BTCUSDT", 0.0002, mark_price=50_000.0)
    second.market.push("BTCUSDT", 50_000, 50_000, 50_000, 50_000)

    fundings = second.exchange.income(income_type=IncomeType.FUNDING_FEE)
    assert [(f.time_ms, f.income) for f in fundings] == [
        (EIGHT_AM_MS, D("-0.5")),
        (EIGHT_AM_MS + 8 * HOUR_MS, D("-1")),  # 0.1 x 50,000 x 0.0002, at 16:00
    ]
    position = (await second.exchange.account()).position("BTCUSDT")
    assert position is not None
    assert position.margin == D("498.6")  # isolated funding moves the margin: 500.1 - 0.5 - 1


async def test_a_stop_that_fires_after_a_restart_is_saved_before_listeners_hear_of_it(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    first = await start_run(PaperAccountRepository(sessions))
    await isolated_btc_long_with_stop(first)
    second = await start_run(PaperAccountRepository(sessions))
    second.clock.advance(MINUTE_MS)

    second.market.push("BTCUSDT", 49_000, 49_100, 47_900, 48_500)

    assert second.updates == []  # the save runs in the background; nothing is reported before
    await second.exchange.account()
    [filled] = second.updates
    assert (filled.client_order_id, filled.status) == ("btc-sl", OrderStatus.FILLED)
    assert filled.avg_price == D("47990.4")  # 48,000 x 0.9998
    assert filled.realized_pnl == D("-201.96")  # (47,990.4 - 50,010.0) x 0.1
    third = await start_run(PaperAccountRepository(sessions))
    account = await third.exchange.account()
    assert account.positions == ()
    assert await third.exchange.open_orders() == []
    assert await third.exchange.query_order("BTCUSDT", "btc-sl") == filled
    assert account.wallet_balance == D("9793.13998")  # 10,000 - 2.5005 - 201.96 - 2.39952 fee


class FlakyStore:
    """The database store, failing its next save on request: before writing (a full disk), or
    after it committed (the answer lost), which leaves the outcome unknown to the exchange."""

    def __init__(self, store: PaperAccountRepository) -> None:
        self._store = store
        self.fail_next_save: Literal["before", "after"] | None = None

    async def load(self) -> PaperState | None:
        return await self._store.load()

    async def save(self, state: PaperState) -> None:
        failure, self.fail_next_save = self.fail_next_save, None
        if failure == "before":
            raise OSError("disk full")
        await self._store.save(state)
        if failure == "after":
            raise OSError("connection reset")

    async def clear(self) -> None:
        await self._store.clear()


@pytest.mark.parametrize("failure", ["before", "after"])
async def test_an_order_whose_save_failed_is_ambiguous_and_saved_by_the_next_flush(
    sessions: async_sessionmaker[AsyncSession], failure: Literal["before", "after"]
) -> None:
    store = FlakyStore(PaperAccountRepository(sessions))
    run = await start_run(store)
    store.fail_next_save = failure

    with pytest.raises(AmbiguousOutcome, match="the paper account could not be saved"):
        await run.exchange.place_order(market("ETHUSDT", BUY, "1", "eth-in"))

    assert run.updates == []
    found = await run.exchange.query_order("ETHUSDT", "eth-in")  # the query saves it first
    assert found is not None
    assert found.status is OrderStatus.FILLED
    assert run.updates == [found]
    resumed = await start_run(PaperAccountRepository(sessions))
    assert await resumed.exchange.query_order("ETHUSDT", "eth-in") == found
    assert resumed.exchange.income() == run.exchange.income()  # deposit and fee, once each


async def test_reset_on_start_opens_a_new_account_with_the_starting_balance(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    first = await start_run(PaperAccountRepository(sessions))
    await isolated_btc_long_with_stop(first)

    fresh = await start_run(
        PaperAccountRepository(sessions), config=CONFIG.model_copy(update={"reset_on_start": True})
    )

    account = await fresh.exchange.account()
    assert (account.wallet_balance, account.positions) == (D("10000"), ())
    assert await fresh.exchange.query_order("BTCUSDT", "btc-sl") is None
    assert (
        await fresh.exchange.place_order(market("ETHUSDT", BUY, "1", "e"))
    ).exchange_order_id == "1"
    again = await start_run(PaperAccountRepository(sessions))
    assert [p.symbol for p in (await again.exchange.account()).positions] == ["ETHUSDT"]


async def test_each_run_id_keeps_its_own_account(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    live = await start_run(PaperAccountRepository(sessions))
    await isolated_btc_long_with_stop(live)

    other = await start_run(PaperAccountRepository(sessions, run_id="bt-1"))

    assert (await other.exchange.account()).positions == ()
    assert await PaperAccountRepository(sessions, run_id="bt-2").load() is None


Corruption = Callable[[dict[str, Any]], str]


async def saved_document(sessions: async_sessionmaker[AsyncSession]) -> dict[str, Any]:
    run = await start_run(PaperAccountRepository(sessions))
    await isolated_btc_long_with_stop(run)
    async with sessions() as session:
        account = await session.get(PaperAccount, "live")
    assert account is not None
    document: dict[str, Any] = json.loads(account.state)
    return document


async def store_document(sessions: async_sessionmaker[AsyncSession], state: str) -> None:
    async with sessions.begin() as session:
        await session.execute(update(PaperAccount).values(state=state))


async def test_the_saved_document_is_versioned_with_amounts_as_exact_strings(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    document = await saved_document(sessions)

    assert document["version"] == 1
    assert document["positions"] == {
        "BTCUSDT": {
            "symbol": "BTCUSDT",
            "quantity": "0.1",
            "entry_price": "50010.00",  # to the 0.10 tick
            "terms": {
                "leverage": 10,
                "margin_type": "ISOLATED",
                "maintenance_margin_rate": "0.004",
            },
            "isolated_margin": "500.10000000",
        }
    }
    assert (document["next_order_id"], document["funding_checked_ms"]) == (3, FIRST_START_MS)


@pytest.mark.parametrize(
    ("corrupt", "problem"),
    [
        pytest.param(lambda doc: "{'version': 1", "the document is not JSON", id="not-json"),
        pytest.param(
            lambda doc: json.dumps({**doc, "version": 2}),
            "the document has version 2; this release reads version 1",
            id="newer-version",
        ),
        pytest.param(
            lambda doc: json.dumps({**doc, "next_order_id": "three"}),
            "next_order_id: Input should be a valid integer",
            id="wrong-type",
        ),
        pytest.param(
            lambda doc: json.dumps({**doc, "positions": {"ETHUSDT": doc["positions"]["BTCUSDT"]}}),
            "entries filed under another symbol: ETHUSDT",
            id="misfiled-position",
        ),
    ],
)
async def test_a_corrupted_document_is_refused_with_what_is_wrong_and_what_to_do(
    sessions: async_sessionmaker[AsyncSession], corrupt: Corruption, problem: str
) -> None:
    document = await saved_document(sessions)
    await store_document(sessions, corrupt(document))

    with pytest.raises(PaperStateError) as refused:
        await PaperExchange.resume(
            CONFIG, FakeMarket(ManualClock()), ManualClock(), PaperAccountRepository(sessions)
        )

    message = str(refused.value)
    assert message.startswith("the paper account of run 'live' cannot be resumed: ")
    assert problem in message
    assert "Set trading.paper.reset_on_start to true" in message


async def test_a_gap_in_the_income_ledger_is_refused(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    await saved_document(sessions)
    async with sessions.begin() as session:
        await session.execute(text("DELETE FROM paper_income WHERE tran_id = 1"))  # the deposit

    with pytest.raises(PaperStateError, match="the income ledger skips entry 1"):
        await PaperAccountRepository(sessions).load()
