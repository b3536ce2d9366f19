"""Migrations build the schema the models describe, on a fresh file and across up/down cycles."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Connection, inspect, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

from alphatransformer.api.views import decision_out
from alphatransformer.database.engine import create_engine, session_factory
from alphatransformer.database.migrate import downgrade_database, head_revision, upgrade_database
from alphatransformer.database.models import (
    AccountSnapshot,
    Base,
    Decision,
    DecisionCycle,
    DecisionStatus,
)
from alphatransformer.database.paper_state import PaperAccountRepository
from alphatransformer.database.repositories import (
    DecisionFilter,
    DecisionRepository,
    SnapshotRepository,
    StatusChange,
)
from alphatransformer.database.types import fits_exact_decimal
from alphatransformer.trading.paper.ledger import IncomeRecord, IncomeType
from alphatransformer.trading.paper.state import AccountCore, PaperState

T0 = datetime(2026, 1, 5, 12, 0, tzinfo=UTC)


@pytest.fixture
async def engine(tmp_path: Path) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path}/nested/dir/test.db")
    yield engine
    await engine.dispose()


def cycle(minute: int) -> DecisionCycle:
    return DecisionCycle(id=f"c{minute}", started_at=T0 + timedelta(minutes=minute), model="rules")


async def add(repository: DecisionRepository, *rows: Decision) -> list[int]:
    """Store each row under its own cycle."""
    ids: list[int] = []
    for row in rows:
        minute = int(row.cycle_id[1:])
        ids += await repository.add_cycle(cycle(minute), [row])
    return ids


def decision(symbol: str, minute: int, status: DecisionStatus = DecisionStatus.HOLD) -> Decision:
    at = T0 + timedelta(minutes=minute)
    return Decision(
        cycle_id=f"c{minute}",
        created_at=at,
        updated_at=at,
        symbol=symbol,
        action="hold",
        status=status.value,
        confidence=0.5,
        model="rules",
        price=Decimal("95000.10"),
    )


async def test_fresh_database_is_created_at_head_with_all_tables(engine: AsyncEngine) -> None:
    revision = await upgrade_database(engine)
    assert revision == head_revision()
    async with engine.connect() as connection:
        tables = await connection.run_sync(lambda c: set(inspect(c).get_table_names()))
    assert {"decisions", "trade_executions", "account_snapshots", "alembic_version"} <= tables
    assert {"paper_accounts", "paper_orders", "paper_income"} <= tables


async def test_migrations_match_the_models_exactly(engine: AsyncEngine) -> None:
    await upgrade_database(engine)

    def differences(connection: Connection) -> list[object]:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        return list(compare_metadata(context, Base.metadata))

    async with engine.connect() as connection:
        assert await connection.run_sync(differences) == []


async def test_upgrade_is_idempotent_and_survives_a_downgrade_cycle(engine: AsyncEngine) -> None:
    await upgrade_database(engine)
    assert await upgrade_database(engine) == head_revision()
    await downgrade_database(engine, "base")
    async with engine.connect() as connection:
        tables = await connection.run_sync(lambda c: set(inspect(c).get_table_names()))
    assert "decisions" not in tables
    assert await upgrade_database(engine) == head_revision()


async def test_upgrade_keeps_existing_rows(engine: AsyncEngine) -> None:
    await upgrade_database(engine)
    repository = DecisionRepository(session_factory(engine))
    await add(repository, decision("BTCUSDT", 1))
    await upgrade_database(engine)
    assert await repository.count() == 1


async def test_sqlite_file_runs_in_wal_mode(engine: AsyncEngine) -> None:
    async with engine.connect() as connection:
        mode = (await connection.execute(text("PRAGMA journal_mode"))).scalar()
        foreign_keys = (await connection.execute(text("PRAGMA foreign_keys"))).scalar()
    assert mode == "wal"
    assert foreign_keys == 1


async def test_money_and_time_round_trip_exactly(engine: AsyncEngine) -> None:
    await upgrade_database(engine)
    sessions = session_factory(engine)
    snapshots = SnapshotRepository(sessions)
    await snapshots.add(
        AccountSnapshot(
            taken_at=T0,
            environment="paper",
            wallet_balance=Decimal("10000.123456789012345678"),
            equity=Decimal("0.1") + Decimal("0.2"),
            available_balance=Decimal("1E-8"),
            unrealized_pnl=Decimal("-12.50"),
            margin_used=Decimal("0"),
            open_positions=0,
            positions=[],
        )
    )
    stored = await snapshots.latest()
    assert stored is not None
    assert stored.wallet_balance == Decimal("10000.123456789012345678")
    assert stored.equity == Decimal("0.3")
    assert stored.available_balance == Decimal("0.00000001")
    assert stored.unrealized_pnl == Decimal("-12.50")
    assert stored.taken_at == T0
    assert stored.taken_at.tzinfo is not None


async def test_naive_datetimes_and_floats_for_money_are_refused(engine: AsyncEngine) -> None:
    await upgrade_database(engine)
    repository = DecisionRepository(session_factory(engine))
    naive = decision("BTCUSDT", 1)
    naive.created_at = datetime(2026, 1, 1)  # naive on purpose
    with pytest.raises(Exception, match="naive datetimes"):
        await add(repository, naive)
    floaty = decision("BTCUSDT", 2)
    floaty.price = 95000.1  # type: ignore[assignment]
    with pytest.raises(Exception, match="takes Decimal values"):
        await add(repository, floaty)


@pytest.mark.parametrize(
    ("value", "fits"),
    [
        ("99999999999999999999.999999999999999999", True),  # NUMERIC(38, 18) at its widest
        ("1e20", False),
        ("1e308", False),
        ("1e-300", False),
        ("-0.000000000000000001", True),
        ("NaN", False),
    ],
)
def test_exact_decimal_takes_only_what_fits_its_column_on_every_backend(
    value: str, fits: bool
) -> None:
    assert fits_exact_decimal(Decimal(value)) is fits


async def test_a_number_that_does_not_fit_is_refused_not_stored(engine: AsyncEngine) -> None:
    await upgrade_database(engine)
    repository = DecisionRepository(session_factory(engine))
    huge = decision("BTCUSDT", 1)
    huge.quantity = Decimal("1e308")
    with pytest.raises(Exception, match="ExactDecimal refuses 1E"):
        await add(repository, huge)


async def test_decisions_page_newest_first_with_filters(engine: AsyncEngine) -> None:
    await upgrade_database(engine)
    repository = DecisionRepository(session_factory(engine))
    rows = [decision("BTCUSDT" if i % 2 else "ETHUSDT", i) for i in range(10)]
    ids = await add(repository, *rows)
    assert ids == sorted(ids)

    first = await repository.page(DecisionFilter(), limit=4)
    assert [r.id for r in first] == ids[::-1][:4]
    second = await repository.page(DecisionFilter(before_id=first[-1].id), limit=4)
    assert [r.id for r in second] == ids[::-1][4:8]

    btc = await repository.page(DecisionFilter(symbol="BTCUSDT"), limit=100)
    assert len(btc) == 5
    assert all(r.symbol == "BTCUSDT" for r in btc)
    window = await repository.page(
        DecisionFilter(since=T0 + timedelta(minutes=3), until=T0 + timedelta(minutes=6)), limit=100
    )
    assert sorted(r.cycle_id for r in window) == ["c3", "c4", "c5"]


async def test_page_rows_read_the_same_decisions_as_the_orm_page(engine: AsyncEngine) -> None:
    """The API lists the raw rows; a decision must read the same there as in its detail view
    (from the ORM row): whole-second and fractional times, tiny and trailing-zero decimals,
    nulls, and every filter."""
    await upgrade_database(engine)
    repository = DecisionRepository(session_factory(engine))
    rows = [decision("BTCUSDT" if i % 2 else "ETHUSDT", i) for i in range(8)]
    rows[1].created_at += timedelta(microseconds=123_400)
    rows[2].price, rows[2].quantity = Decimal("0.00000001"), Decimal("1.500")
    rows[3].stop_loss, rows[3].action = Decimal("-0.0"), "open_long"
    await add(repository, *rows)
    await repository.set_status(
        1, DecisionStatus.REJECTED, at=T0, reason="too big", rule="max_notional"
    )
    filters = [
        DecisionFilter(),
        DecisionFilter(symbol="BTCUSDT", before_id=7),
        DecisionFilter(action="open_long"),
        DecisionFilter(status="rejected"),
        DecisionFilter(since=T0 + timedelta(minutes=1), until=T0 + timedelta(minutes=5)),
    ]
    for page_filter in filters:
        listed = [decision_out("a", r) for r in await repository.page_rows(page_filter, 5)]
        stored = [decision_out("a", r) for r in await repository.page(page_filter, 5)]
        assert listed, page_filter
        assert [r.model_dump_json() for r in listed] == [r.model_dump_json() for r in stored]
    window = DecisionFilter(since=rows[1].created_at, until=rows[2].created_at)
    [fractional] = await repository.page_rows(window, 5)
    assert decision_out("a", fractional).created_at == rows[1].created_at


async def test_status_update_records_reason_and_rule(engine: AsyncEngine) -> None:
    await upgrade_database(engine)
    repository = DecisionRepository(session_factory(engine))
    [decision_id] = await add(repository, decision("BTCUSDT", 0, DecisionStatus.PENDING))
    later = T0 + timedelta(seconds=5)
    await repository.set_status(
        decision_id,
        DecisionStatus.REJECTED,
        at=later,
        reason="confidence 0.2 < 0.55",
        rule="min_confidence",
    )
    stored = await repository.get(decision_id)
    assert stored is not None
    assert (stored.status, stored.rejection_rule, stored.updated_at) == (
        "rejected",
        "min_confidence",
        later,
    )


async def test_upgrade_to_decision_cycles_keeps_usage_and_cost_exact(engine: AsyncEngine) -> None:
    """0001 stored usage on every decision row and split the cost; 0002 moves it to cycles."""
    await upgrade_database(engine, "0001")
    insert = text(
        "INSERT INTO decisions (cycle_id, created_at, updated_at, symbol, action, status,"
        " confidence, reasoning, model, prompt_hash, input_tokens, output_tokens, latency_ms,"
        " cost_usd) VALUES (:cycle, '2026-01-05 12:00:00.000000', '2026-01-05 12:00:00.000000',"
        " :symbol, 'hold', 'hold', 0.5, '', 'gpt', 'h1', 1200, 300, 850.0, :cost)"
    )
    async with engine.begin() as connection:
        for symbol, cost in (("BTCUSDT", "0.001"), ("ETHUSDT", "0.001"), ("SOLUSDT", "0.0010")):
            await connection.execute(insert, {"cycle": "c1", "symbol": symbol, "cost": cost})

    await upgrade_database(engine)

    repository = DecisionRepository(session_factory(engine))
    stored = await repository.cycle("c1")
    assert stored is not None
    assert (stored.model, stored.prompt_hash) == ("gpt", "h1")
    assert (stored.input_tokens, stored.output_tokens, stored.latency_ms) == (1200, 300, 850.0)
    assert stored.cost_usd == Decimal("0.0030")
    assert stored.started_at == T0
    assert await repository.count() == 3

    await downgrade_database(engine, "0001")
    async with engine.connect() as connection:
        rows = (
            await connection.execute(text("SELECT input_tokens, cost_usd FROM decisions"))
        ).all()
    assert [(tokens, Decimal(cost)) for tokens, cost in rows] == [(1200, Decimal("0.001"))] * 3


async def test_runs_share_the_database_but_never_see_each_other(engine: AsyncEngine) -> None:
    await upgrade_database(engine)
    sessions = session_factory(engine)
    live = DecisionRepository(sessions)
    backtest = DecisionRepository(sessions, run_id="bt-1")
    await add(live, decision("BTCUSDT", 1), decision("ETHUSDT", 2))
    await backtest.add_cycle(
        DecisionCycle(id="bt-1-c3", started_at=T0, model="rules"),
        [decision("BTCUSDT", 3)],
    )
    assert await live.count() == 2
    assert await backtest.count() == 1
    [only] = await backtest.page(DecisionFilter(), limit=10)
    assert (only.run_id, only.cycle_id) == ("bt-1", "bt-1-c3")
    assert {row.run_id for row in await live.page(DecisionFilter(), limit=10)} == {"live"}


async def test_0004_adds_paper_accounts_and_its_downgrade_removes_only_them(
    engine: AsyncEngine,
) -> None:
    await upgrade_database(engine)
    sessions = session_factory(engine)
    decisions = DecisionRepository(sessions)
    await add(decisions, decision("BTCUSDT", 1))
    paper = PaperAccountRepository(sessions)
    deposit = IncomeRecord(1, "", IncomeType.TRANSFER, Decimal("10000"), "USDT", "deposit", 0)
    account = PaperState(AccountCore(1, None, {}, {}, {}, {}), [], [deposit])
    await paper.save(account)
    assert await paper.load() == account

    await downgrade_database(engine, "0003")
    async with engine.connect() as connection:
        tables = await connection.run_sync(lambda c: set(inspect(c).get_table_names()))
    assert not {"paper_accounts", "paper_orders", "paper_income"} & tables
    assert await decisions.count() == 1

    await upgrade_database(engine)
    assert await paper.load() is None
    assert await decisions.count() == 1


def transcript(system: str, question: str) -> list[dict[str, Any]]:
    """The shape `llm_agent.transcript` writes: the system message, then the exchange."""
    return [
        {"type": "system", "data": {"content": system, "type": "system", "id": None}},
        {"type": "human", "data": {"content": question, "type": "human", "id": None}},
    ]


async def test_each_system_prompt_is_stored_once_and_read_back_in_its_transcript(
    engine: AsyncEngine,
) -> None:
    await upgrade_database(engine)
    sessions = session_factory(engine)
    live, backtest = DecisionRepository(sessions), DecisionRepository(sessions, run_id="bt")
    written = {
        "c1": transcript("You trade perpetuals.", "BTC at 95k?"),
        "c2": transcript("You trade perpetuals.", "BTC at 96k?"),
        "c3": transcript("You trade carefully.", "BTC at 97k?"),
    }
    for minute, messages in enumerate(written.values(), start=1):
        row = cycle(minute)
        row.transcript = messages
        await live.add_cycle(row, [])
    # Another run (a fresh repository) sending a prompt stored before is no conflict.
    again = DecisionCycle(id="bt-c4", started_at=T0, model="rules", transcript=written["c1"])
    await backtest.add_cycle(again, [])
    await live.add_cycle(DecisionCycle(id="c5", started_at=T0, model="rules"), [])

    for cycle_id, messages in written.items():
        stored = await live.cycle(cycle_id)
        assert stored is not None
        assert stored.transcript == messages
    stored_again = await backtest.cycle("bt-c4")
    assert stored_again is not None
    assert stored_again.transcript == written["c1"]
    without = await live.cycle("c5")
    assert without is not None
    assert without.transcript is None
    async with engine.connect() as connection:
        prompts = (await connection.execute(text("SELECT count(*) FROM system_prompts"))).scalar()
        kept = (
            await connection.execute(text("SELECT transcript FROM decision_cycles WHERE id='c2'"))
        ).scalar()
    assert prompts == 2
    assert "You trade" not in kept


async def test_0006_moves_system_prompts_out_of_transcripts_and_back(engine: AsyncEngine) -> None:
    await upgrade_database(engine, "0005")
    written = {
        "c1": transcript("You trade perpetuals.", "BTC at 95k?"),
        "c2": transcript("You trade perpetuals.", "ETH at 3k?"),
        "c3": transcript("You trade carefully.", "SOL at 190?"),
        "c4": [{"type": "human", "data": {"content": "no system message", "type": "human"}}],
    }
    insert = text(
        "INSERT INTO decision_cycles (id, run_id, started_at, model, input_tokens,"
        " output_tokens, latency_ms, cost_usd, transcript) VALUES (:id, 'live',"
        " '2026-01-05 12:00:00.000000', 'gpt', 0, 0, 0.0, '0', :transcript)"
    )
    async with engine.begin() as connection:
        for cycle_id, messages in written.items():
            await connection.execute(insert, {"id": cycle_id, "transcript": json.dumps(messages)})

    await upgrade_database(engine)
    repository = DecisionRepository(session_factory(engine))
    for cycle_id, messages in written.items():
        stored = await repository.cycle(cycle_id)
        assert stored is not None
        assert stored.transcript == messages
    async with engine.connect() as connection:
        prompts = (await connection.execute(text("SELECT count(*) FROM system_prompts"))).scalar()
    assert prompts == 2

    await downgrade_database(engine, "0005")
    async with engine.connect() as connection:
        rows = (await connection.execute(text("SELECT id, transcript FROM decision_cycles"))).all()
    assert {cycle_id: json.loads(value) for cycle_id, value in rows} == written


def snapshot(minute: int, equity: str) -> AccountSnapshot:
    return AccountSnapshot(
        taken_at=T0 + timedelta(minutes=minute),
        environment="paper",
        wallet_balance=Decimal(equity),
        equity=Decimal(equity),
        available_balance=Decimal(equity),
        unrealized_pnl=Decimal(0),
        margin_used=Decimal(0),
        open_positions=0,
        positions=[],
    )


async def test_batched_snapshots_are_read_back_by_their_writer_and_written_in_batches(
    engine: AsyncEngine,
) -> None:
    await upgrade_database(engine)
    sessions = session_factory(engine)
    backtest = SnapshotRepository(sessions, "bt", write_batch=3)
    other_reader = SnapshotRepository(sessions, "bt")
    await backtest.add(snapshot(0, "100"))
    await backtest.add(snapshot(1, "101"))
    assert await other_reader.last_id() is None  # held back, not written yet

    assert await backtest.first_equity_since(T0 + timedelta(minutes=1)) == Decimal("101")
    assert await other_reader.last_id() is not None  # the read wrote them first
    for minute in range(2, 5):
        await backtest.add(snapshot(minute, f"10{minute}"))
    total, _ = await other_reader.equity_series(None, None, 100)
    assert total == 5  # the third of a batch wrote the batch; one is held
    await backtest.flush()
    latest = await other_reader.latest()
    assert latest is not None
    assert latest.equity == Decimal("104")


async def test_held_outcomes_are_read_back_and_written_with_the_next_cycle(
    engine: AsyncEngine,
) -> None:
    await upgrade_database(engine)
    sessions = session_factory(engine)
    backtest = DecisionRepository(sessions, "bt", hold_statuses=True)
    other_reader = DecisionRepository(sessions, "bt")
    [first] = await add(backtest, decision("BTCUSDT", 0, DecisionStatus.PENDING))
    change = StatusChange(first, DecisionStatus.REJECTED, "too big", "max_position_share")
    await backtest.set_statuses([change], at=T0 + timedelta(minutes=1))
    held = await other_reader.get(first)
    assert held is not None
    assert held.status == DecisionStatus.PENDING.value  # not written yet

    await add(backtest, decision("ETHUSDT", 3))  # the next cycle writes it in its transaction
    written = await other_reader.get(first)
    assert written is not None
    assert (written.status, written.rejection_rule) == ("rejected", "max_position_share")
    assert written.updated_at == T0 + timedelta(minutes=1)

    second = StatusChange(first, DecisionStatus.FAILED, "venue down")
    await backtest.set_statuses([second], at=T0 + timedelta(minutes=4))
    own = await backtest.get(first)  # a read here writes what is held first
    assert own is not None
    assert own.status == DecisionStatus.FAILED.value


async def test_held_outcomes_survive_a_cycle_that_could_not_be_written(
    engine: AsyncEngine,
) -> None:
    await upgrade_database(engine)
    sessions = session_factory(engine)
    backtest = DecisionRepository(sessions, "bt", hold_statuses=True)
    [first] = await add(backtest, decision("BTCUSDT", 0, DecisionStatus.PENDING))
    await backtest.set_statuses([StatusChange(first, DecisionStatus.EXECUTED)], at=T0)
    with pytest.raises(IntegrityError):
        await add(backtest, decision("ETHUSDT", 0))  # cycle c0 again: the transaction fails
    stored = await DecisionRepository(sessions, "bt").get(first)
    assert stored is not None
    assert stored.status == DecisionStatus.PENDING.value  # rolled back with the cycle
    await backtest.flush()
    stored = await DecisionRepository(sessions, "bt").get(first)
    assert stored is not None
    assert stored.status == DecisionStatus.EXECUTED.value  # still held, and written now
