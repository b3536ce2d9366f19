"""Queries, one class per table, so SQL lives here and nowhere else."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from functools import cache
from typing import Any

from sqlalchemy import (
    Executable,
    Select,
    Table,
    bindparam,
    func,
    insert,
    select,
    text,
    type_coerce,
    update,
)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession, async_sessionmaker
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.sql.schema import ScalarElementColumnDefault
from sqlalchemy.sql.sqltypes import NullType

from alphatransformer.database.models import (
    LIVE_RUN,
    AccountSnapshot,
    Base,
    Decision,
    DecisionCycle,
    DecisionStatus,
    ExecutionPurpose,
    SystemPrompt,
    TradeExecution,
)
from alphatransformer.database.types import UTCDateTime
from alphatransformer.trading.models import OrderSide
from alphatransformer.trading.performance import ExecutionFill


@dataclass(frozen=True, slots=True)
class DecisionFilter:
    symbol: str | None = None
    action: str | None = None
    status: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    before_id: int | None = None


def _table(model: type[Base]) -> Table:
    return Base.metadata.tables[model.__tablename__]


_CYCLES, _DECISIONS, _SNAPSHOTS, _EXECUTIONS, _PROMPTS = (
    _table(model)
    for model in (DecisionCycle, Decision, AccountSnapshot, TradeExecution, SystemPrompt)
)
# Built once: a statement object memoizes its cache key, which SQLAlchemy would otherwise
# work out again on every execution.
_INSERT_CYCLE = insert(_CYCLES)
_INSERT_DECISIONS = insert(_DECISIONS).returning(_DECISIONS.c.id)
_UPDATE_STATUS = update(_DECISIONS).where(_DECISIONS.c.id == bindparam("decision_id"))
_INSERT_SNAPSHOT = insert(_SNAPSHOTS)
_INSERT_EXECUTION = insert(_EXECUTIONS)
_INSERT_PROMPT = insert(_PROMPTS)


def _engine(sessions: async_sessionmaker[AsyncSession]) -> AsyncEngine:
    """The engine behind `sessions`, for the hot writes: a Core transaction on a connection
    skips the ORM session around it, a third of a small write's cost."""
    bind = sessions.kw.get("bind")
    if not isinstance(bind, AsyncEngine):
        raise TypeError("repositories need sessions bound to an AsyncEngine")
    return bind


class _HeldWrites:
    """Parameter sets of one statement held back to run together (a backtest's batched
    writes), held again when the transaction that should have written them fails."""

    def __init__(self, engine: AsyncEngine, statement: Executable) -> None:
        self._engine = engine
        self._statement = statement
        self._held: list[dict[str, Any]] = []

    def hold(self, parameters: Sequence[dict[str, Any]]) -> int:
        """Hold `parameters`; return how many sets are held now."""
        self._held += parameters
        return len(self._held)

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncConnection]:
        """A transaction that first writes what is held, for the caller to add to."""
        held, self._held = self._held, []
        try:
            async with self._engine.begin() as connection:
                if held:
                    await connection.execute(self._statement, held)
                yield connection
        except BaseException:
            self._held = held + self._held
            raise

    async def flush(self) -> None:
        if self._held:
            async with self.transaction():
                pass


def _new_row_values(row: Base) -> dict[str, Any]:
    """A new row's column values for a Core INSERT, column defaults filled in (every row of one
    INSERT must name the same columns), a generated primary key left out.

    Hot writes (every cycle of a 14,400-cycle backtest) go through Core: an ORM flush costs
    several times the INSERT itself.
    """
    values: dict[str, Any] = {}
    for column in _table(type(row)).columns:
        value = getattr(row, column.key)
        if column.primary_key and value is None:
            continue
        default = column.default
        if value is None and isinstance(default, ScalarElementColumnDefault):
            value = default.arg
        values[column.key] = value
    return values


@dataclass(frozen=True, slots=True)
class StatusChange:
    """A decision's new status, and why (the risk rule that rejected it, if one did)."""

    decision_id: int
    status: DecisionStatus
    reason: str | None = None
    rule: str | None = None

    def values(self, at: datetime) -> dict[str, Any]:
        """The columns the change writes: for the UPDATE, and for a row already in hand."""
        return {
            "status": self.status.value,
            "status_reason": self.reason,
            "rejection_rule": self.rule,
            "updated_at": at,
        }


@dataclass(frozen=True, slots=True)
class UsageTotals:
    cycles: int
    input_tokens: int
    output_tokens: int
    cost_usd: Decimal
    mean_latency_ms: float
    errors: int = 0
    """Cycles whose model call failed (`decision_cycles.error` set): every symbol held."""


class DecisionRepository:
    """Scoped to one run: live trading, a backtest or an arena entrant.

    `hold_statuses` keeps the outcomes `set_statuses` records until the next write or read
    here, and writes them in that transaction: a backtest's cycle then costs one transaction,
    not two. Live trading writes them at once: the API reads them as they come.
    """

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        run_id: str = LIVE_RUN,
        *,
        hold_statuses: bool = False,
    ) -> None:
        self._sessions = sessions
        self._engine = _engine(sessions)
        self.run_id = run_id
        self._hold_statuses = hold_statuses
        self._statuses = _HeldWrites(self._engine, _UPDATE_STATUS)
        self._stored_prompts: set[str] = set()

    async def add_cycle(self, cycle: DecisionCycle, rows: Sequence[Decision]) -> list[int]:
        """Insert a cycle and its decisions in one transaction; return the ids, in order (and
        set them on `rows`, which then hold what the table holds)."""
        cycle.run_id = self.run_id
        for row in rows:
            row.run_id, row.cycle_id = self.run_id, cycle.id
        values = await self._with_stored_system_prompt(_new_row_values(cycle))
        async with self._statuses.transaction() as connection:
            # The cycle first: the rows' foreign key needs it.
            await connection.execute(_INSERT_CYCLE, values)
            if not rows:
                return []
            # One multi-row INSERT (a Core one: the ORM's splits rows by which values
            # are None), not one per row. SQLite gives the rows of one INSERT ascending
            # rowids in order, so the sorted ids are in the rows' order.
            inserted = await connection.execute(
                _INSERT_DECISIONS, [_new_row_values(row) for row in rows]
            )
            ids = sorted(inserted.scalars())
        for row, decision_id in zip(rows, ids, strict=True):
            row.id = decision_id
        return ids

    async def usage_totals(self) -> UsageTotals:
        """Model usage over every cycle; cost is summed exactly in Python (SQLite stores text)."""
        async with self._sessions() as session:
            cycles, inputs, outputs, latency, errors = (
                await session.execute(
                    select(
                        func.count(DecisionCycle.id),
                        func.coalesce(func.sum(DecisionCycle.input_tokens), 0),
                        func.coalesce(func.sum(DecisionCycle.output_tokens), 0),
                        func.coalesce(func.avg(DecisionCycle.latency_ms), 0.0),
                        func.count(DecisionCycle.error),
                    ).where(DecisionCycle.run_id == self.run_id)
                )
            ).one()
            costs = await session.scalars(
                select(DecisionCycle.cost_usd).where(
                    DecisionCycle.run_id == self.run_id, DecisionCycle.cost_usd != Decimal(0)
                )
            )
            cost = sum(costs.all(), Decimal(0))
        return UsageTotals(
            int(cycles), int(inputs), int(outputs), cost, float(latency), int(errors)
        )

    async def last_cycle_started(self) -> datetime | None:
        """When the newest cycle started: usage totals change only when this does."""
        query = select(func.max(DecisionCycle.started_at)).where(
            DecisionCycle.run_id == self.run_id
        )
        async with self._sessions() as session:
            return await session.scalar(query)

    async def _with_stored_system_prompt(self, values: dict[str, Any]) -> dict[str, Any]:
        """The cycle's values with the transcript's opening system message stored apart, once
        (in a transaction of its own, so a run that stored it first is no conflict)."""
        transcript = values["transcript"]
        if not transcript or transcript[0].get("type") != "system":
            return values
        message = transcript[0]
        digest = SystemPrompt.digest(message)
        if digest not in self._stored_prompts:
            try:
                async with self._engine.begin() as connection:
                    await connection.execute(_INSERT_PROMPT, {"hash": digest, "message": message})
            except IntegrityError:
                pass  # stored already, by an earlier run or another writer
            self._stored_prompts.add(digest)
        return {**values, "transcript": transcript[1:], "system_prompt_hash": digest}

    async def cycle(self, cycle_id: str) -> DecisionCycle | None:
        """The cycle with its whole transcript, the system message put back in front."""
        async with self._sessions() as session:
            cycle = await session.get(DecisionCycle, cycle_id)
            if cycle is None or cycle.system_prompt_hash is None:
                return cycle
            prompt = await session.get(SystemPrompt, cycle.system_prompt_hash)
        if prompt is not None:
            whole = [prompt.message, *(cycle.transcript or [])]
            set_committed_value(cycle, "transcript", whole)  # as read, not a change to write
        return cycle

    async def set_status(
        self,
        decision_id: int,
        status: DecisionStatus,
        *,
        at: datetime,
        reason: str | None = None,
        rule: str | None = None,
    ) -> None:
        await self.set_statuses([StatusChange(decision_id, status, reason, rule)], at=at)

    async def set_statuses(self, changes: Sequence[StatusChange], *, at: datetime) -> None:
        """Every change in one transaction and one executemany UPDATE: a cycle's outcomes."""
        self._statuses.hold([{"decision_id": c.decision_id, **c.values(at)} for c in changes])
        if not self._hold_statuses:
            await self.flush()

    async def flush(self) -> None:
        """Write the statuses held back, in one transaction."""
        await self._statuses.flush()

    async def get(self, decision_id: int) -> Decision | None:
        await self.flush()
        async with self._sessions() as session:
            return await session.get(Decision, decision_id)

    async def page(self, filters: DecisionFilter, limit: int) -> list[Decision]:
        """Newest first; `before_id` pages backwards (keyset pagination, stable under inserts)."""
        await self.flush()
        async with self._sessions() as session:
            return list((await session.scalars(*self._page(filters, limit, columns="orm"))).all())

    async def page_rows(self, filters: DecisionFilter, limit: int) -> list[dict[str, Any]]:
        """`page` as dicts of the columns much as the database driver returns them (SQLite: text
        for datetimes and decimals), for a view that validates and serialises them in one pass:
        no ORM objects and no conversion in Python, value by value."""
        await self.flush()
        async with self._engine.connect() as connection:
            dialect = self._engine.dialect.name
            result = await connection.execute(*self._page(filters, limit, columns=dialect))
            keys = list(result.keys())
            return [dict(zip(keys, row, strict=True)) for row in result]

    def _page(
        self, filters: DecisionFilter, limit: int, *, columns: str
    ) -> tuple[Select[Any], dict[str, Any]]:
        """The page statement for the filters given, and its parameters."""
        values = {name: getattr(filters, name) for name in _PAGE_FILTERS}
        present = frozenset(name for name, value in values.items() if value is not None)
        parameters = {name: values[name] for name in present}
        parameters.update(run_id=self.run_id, limit=limit)
        return _page_statement(present, columns=columns), parameters

    async def of_cycle(self, cycle_id: str) -> list[Decision]:
        """The decisions one cycle produced, in the order the model gave them."""
        await self.flush()
        query = select(Decision).where(Decision.cycle_id == cycle_id).order_by(Decision.id)
        async with self._sessions() as session:
            return list((await session.scalars(query)).all())

    async def pending(self) -> list[Decision]:
        """Decisions saved but never settled: the process stopped between save and execute."""
        await self.flush()
        query = select(Decision).where(
            Decision.run_id == self.run_id, Decision.status == DecisionStatus.PENDING.value
        )
        async with self._sessions() as session:
            return list((await session.scalars(query.order_by(Decision.id))).all())

    async def latest_executed_open(self, symbol: str) -> Decision | None:
        """The executed entry behind the position now open in `symbol` (its exit plan)."""
        await self.flush()
        query = (
            select(Decision)
            .where(
                Decision.run_id == self.run_id,
                Decision.symbol == symbol,
                Decision.status == DecisionStatus.EXECUTED.value,
                Decision.action.in_(("open_long", "open_short")),
            )
            .order_by(Decision.id.desc())
            .limit(1)
        )
        async with self._sessions() as session:
            return await session.scalar(query)

    async def count(self) -> int:
        async with self._sessions() as session:
            query = select(func.count(Decision.id)).where(Decision.run_id == self.run_id)
            return int(await session.scalar(query) or 0)


_PAGE_FILTERS = {
    "symbol": _DECISIONS.c.symbol == bindparam("symbol"),
    "action": _DECISIONS.c.action == bindparam("action"),
    "status": _DECISIONS.c.status == bindparam("status"),
    "since": _DECISIONS.c.created_at >= bindparam("since"),
    "until": _DECISIONS.c.created_at < bindparam("until"),
    "before_id": _DECISIONS.c.id < bindparam("before_id"),
}


@cache
def _page_statement(present: frozenset[str], *, columns: str) -> Select[Any]:
    """One statement per set of filters, built once: a statement memoizes its cache key, which
    SQLAlchemy would otherwise work out again on every request.

    `columns` is "orm" for `Decision` objects, or a dialect's name for the raw columns.
    """
    query = select(Decision) if columns == "orm" else select(*_raw_columns(columns))
    return (
        query.where(
            _DECISIONS.c.run_id == bindparam("run_id"),
            *(condition for name, condition in _PAGE_FILTERS.items() if name in present),
        )
        .order_by(_DECISIONS.c.id.desc())
        .limit(bindparam("limit"))
    )


def _raw_columns(dialect: str) -> list[Any]:
    """The decision columns untyped, so values come back as the driver returns them, except
    datetimes, which stay UTC-aware: SQLite's naive UTC text gets its "Z" in SQL, any other
    database's values go through the column type."""
    columns: list[Any] = []
    for column in _DECISIONS.columns:
        if not isinstance(column.type, UTCDateTime):
            columns.append(type_coerce(column, NullType()).label(column.key))
        elif dialect == "sqlite":
            columns.append(type_coerce(column, NullType()).concat("Z").label(column.key))
        else:
            columns.append(column)
    return columns


class ExecutionRepository:
    """Scoped to one run: live trading, a backtest or an arena entrant."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession], run_id: str = LIVE_RUN) -> None:
        self._sessions = sessions
        self._engine = _engine(sessions)
        self.run_id = run_id

    async def add(self, row: TradeExecution) -> int:
        """Insert the row (committed before the order it mirrors is sent); return its id."""
        row.run_id = self.run_id
        async with self._engine.begin() as connection:
            result = await connection.execute(_INSERT_EXECUTION, _new_row_values(row))
        key = result.inserted_primary_key
        if key is None:
            raise RuntimeError("the database gave no id for the new execution row")
        row.id = int(key[0])
        return row.id

    async def update_by_client_id(self, client_order_id: str, **values: Any) -> bool:
        """Apply exchange state to the row mirroring that order; False when no row has the id."""
        statement = (
            update(_EXECUTIONS)
            .where(_EXECUTIONS.c.client_order_id == client_order_id)
            .values(values)
        )
        async with self._engine.begin() as connection:
            result = await connection.execute(statement)
        return bool(result.rowcount)

    async def get_by_client_id(self, client_order_id: str) -> TradeExecution | None:
        async with self._sessions() as session:
            return await session.scalar(
                select(TradeExecution).where(TradeExecution.client_order_id == client_order_id)
            )

    async def page(
        self,
        *,
        limit: int,
        symbol: str | None = None,
        status: str | None = None,
        before_id: int | None = None,
    ) -> list[TradeExecution]:
        """Newest first, keyset-paged like decisions."""
        query = (
            select(TradeExecution)
            .where(TradeExecution.run_id == self.run_id)
            .order_by(TradeExecution.id.desc())
            .limit(limit)
        )
        if symbol is not None:
            query = query.where(TradeExecution.symbol == symbol)
        if status is not None:
            query = query.where(TradeExecution.status == status)
        if before_id is not None:
            query = query.where(TradeExecution.id < before_id)
        async with self._sessions() as session:
            return list((await session.scalars(query)).all())

    async def fills(self) -> list[ExecutionFill]:
        """Every order that filled something, oldest first, as the analytics read them."""
        query = (
            select(TradeExecution)
            .where(
                TradeExecution.run_id == self.run_id, TradeExecution.filled_quantity != Decimal(0)
            )
            .order_by(TradeExecution.updated_at, TradeExecution.id)
        )
        async with self._sessions() as session:
            rows = (await session.scalars(query)).all()
        return [
            ExecutionFill(
                symbol=row.symbol,
                side=OrderSide(row.side),
                purpose=ExecutionPurpose(row.purpose),
                filled_quantity=row.filled_quantity,
                avg_price=row.avg_price or Decimal(0),
                fee=row.fee,
                realized_pnl=row.realized_pnl,
                time=row.updated_at,
            )
            for row in rows
        ]

    async def unsettled(self, final_statuses: Sequence[str]) -> list[TradeExecution]:
        """Rows whose order may still change: everything not in `final_statuses`."""
        query = select(TradeExecution).where(
            TradeExecution.run_id == self.run_id, TradeExecution.status.not_in(final_statuses)
        )
        async with self._sessions() as session:
            return list((await session.scalars(query.order_by(TradeExecution.id))).all())

    async def last_change(self) -> tuple[int, datetime | None]:
        """Row count and newest update time: fills can only change when these do."""
        query = select(func.count(TradeExecution.id), func.max(TradeExecution.updated_at)).where(
            TradeExecution.run_id == self.run_id
        )
        async with self._sessions() as session:
            count, newest = (await session.execute(query)).one()
        return int(count), newest

    async def count_by_status(self) -> dict[str, int]:
        async with self._sessions() as session:
            rows = await session.execute(
                select(TradeExecution.status, func.count(TradeExecution.id))
                .where(TradeExecution.run_id == self.run_id)
                .group_by(TradeExecution.status)
            )
            return {status: int(count) for status, count in rows}

    async def for_decision(self, decision_id: int) -> list[TradeExecution]:
        async with self._sessions() as session:
            query = (
                select(TradeExecution)
                .where(TradeExecution.decision_id == decision_id)
                .order_by(TradeExecution.id)
            )
            return list((await session.scalars(query)).all())


class SnapshotRepository:
    """Scoped to one run: live trading, a backtest or an arena entrant.

    `write_batch` > 1 holds new snapshots back and writes them that many at a time, for a
    backtest, which takes one every cycle and reads them back only now and then (each read
    here writes what is held first, so this repository always sees its own snapshots; another
    reader of the run sees the held ones once they are written). Live trading writes each one
    at once: the API reads them as they come.
    """

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        run_id: str = LIVE_RUN,
        *,
        write_batch: int = 1,
    ) -> None:
        self._sessions = sessions
        self._engine = _engine(sessions)
        self.run_id = run_id
        self._write_batch = write_batch
        self._snapshots = _HeldWrites(self._engine, _INSERT_SNAPSHOT)

    async def add(self, row: AccountSnapshot) -> None:
        row.run_id = self.run_id
        if self._snapshots.hold([_new_row_values(row)]) >= self._write_batch:
            await self.flush()

    async def flush(self) -> None:
        """Write the snapshots held back, in one transaction."""
        await self._snapshots.flush()

    async def latest(self) -> AccountSnapshot | None:
        await self.flush()
        async with self._sessions() as session:
            query = (
                select(AccountSnapshot)
                .where(AccountSnapshot.run_id == self.run_id)
                .order_by(AccountSnapshot.taken_at.desc())
                .limit(1)
            )
            return await session.scalar(query)

    async def equity_series(
        self, since: datetime | None, until: datetime | None, max_points: int
    ) -> tuple[int, list[EquityRow]]:
        """Snapshots in the range, thinned in SQL to about `max_points` (first and last kept).

        Thinning is by time: the last snapshot at or before each of evenly spaced instants,
        each found by an index seek, so a year of one-minute snapshots costs milliseconds.
        Returns the range's total row count and the kept rows, oldest first.
        """
        table = AccountSnapshot
        conditions = [table.run_id == self.run_id]
        if since is not None:
            conditions.append(table.taken_at >= since)
        if until is not None:
            conditions.append(table.taken_at < until)
        columns = (table.taken_at, table.equity, table.wallet_balance, table.unrealized_pnl)
        await self.flush()
        async with self._sessions() as session:
            total = await session.scalar(select(func.count()).where(*conditions)) or 0
            query = select(*columns).where(*conditions).order_by(table.taken_at)
            if total > max_points:
                # Two seeks: SQLite answers min() and max() from the index only one at a time.
                oldest = query.with_only_columns(table.taken_at)
                first = await session.scalar(oldest.limit(1))
                last = await session.scalar(
                    oldest.order_by(None).order_by(table.taken_at.desc()).limit(1)
                )
                instants = _instants(first, last, max_points)
                query = query.where(table.id.in_(_last_at_or_before(instants, self.run_id)))
            rows = (await session.execute(query)).all()
        return int(total), [(t, e, w, u) for t, e, w, u in rows]

    async def last_id(self) -> int | None:
        """The newest snapshot's id: the equity curve changes only when this does."""
        query = select(func.max(AccountSnapshot.id)).where(AccountSnapshot.run_id == self.run_id)
        await self.flush()
        async with self._sessions() as session:
            return await session.scalar(query)

    async def first_equity_since(self, since: datetime) -> Decimal | None:
        """Equity of the first snapshot at or after `since` (the day's opening equity)."""
        await self.flush()
        async with self._sessions() as session:
            query = (
                select(AccountSnapshot.equity)
                .where(AccountSnapshot.run_id == self.run_id, AccountSnapshot.taken_at >= since)
                .order_by(AccountSnapshot.taken_at)
                .limit(1)
            )
            return await session.scalar(query)


EquityRow = tuple[datetime, Decimal, Decimal, Decimal]


def _instants(first: Any, last: Any, count: int) -> list[str]:
    """`count` evenly spaced instants from `first` to `last`, both included, as stored text."""
    start, end = _naive(first), _naive(last)
    step = (end - start) / (count - 1)
    return [_as_stored(start + step * i) for i in range(count - 1)] + [_as_stored(end)]


def _as_stored(moment: datetime) -> str:
    """The text SQLAlchemy stores for a naive datetime on SQLite (`%Y-%m-%d %H:%M:%S.%f`), so
    instants compare with stored times; `isoformat` writes it three times faster than strftime."""
    return moment.isoformat(" ", "microseconds")


def _naive(moment: Any) -> datetime:
    value = moment if isinstance(moment, datetime) else datetime.fromisoformat(str(moment))
    return value.astimezone(UTC).replace(tzinfo=None) if value.tzinfo else value


def _last_at_or_before(instants: list[str], run_id: str) -> Any:
    """Ids of the newest snapshot at or before each instant (SQLite's json_each lists them).

    Only the run and the instant bound the seek: the instants lie between the range's first
    and last snapshots, so the answer is inside the range anyway, and a second bound would make
    SQLite scan forward from it instead of stepping back once from the instant.
    """
    table = AccountSnapshot
    moments = func.json_each(json.dumps(instants)).table_valued("value").alias("moments")
    newest = (
        select(table.id)
        .where(table.run_id == run_id, table.taken_at <= moments.c.value)
        .order_by(table.taken_at.desc())
        .limit(1)
        .correlate(moments)
        .scalar_subquery()
    )
    return select(newest).select_from(moments)


@dataclass(frozen=True, slots=True)
class RunSummary:
    """One run at a glance: its cycles (and how many ended in a model error), the model of its
    first cycle (None: it has none), and its first and last account snapshots."""

    run_id: str
    cycles: int
    model_errors: int
    model: str | None
    first_at: datetime
    last_at: datetime
    start_equity: Decimal
    end_equity: Decimal

    @property
    def total_return(self) -> float | None:
        """End over start equity, less one; None for a curve without length or a start at 0."""
        if self.last_at <= self.first_at or self.start_equity <= 0:
            return None
        return float((self.end_equity - self.start_equity) / self.start_equity)


# Distinct run ids from the newest (greatest) down, one index seek each however many
# snapshots the runs hold: a GROUP BY would read every snapshot of every run.
_NEWEST_RUN_IDS = text(
    """
    WITH RECURSIVE ids(run_id, n) AS (
        SELECT (SELECT max(run_id) FROM account_snapshots
                WHERE run_id >= :low AND run_id < :high), 1
        UNION ALL
        SELECT (SELECT max(s.run_id) FROM account_snapshots AS s
                WHERE s.run_id >= :low AND s.run_id < ids.run_id), ids.n + 1
        FROM ids WHERE ids.run_id IS NOT NULL AND ids.n < :limit
    )
    SELECT run_id FROM ids WHERE run_id IS NOT NULL
    """
)


class RunRepository:
    """Across runs rather than scoped to one: which runs exist, and each at a glance, for
    lists of past backtests and arena leaderboards. Every figure comes from index seeks (or a
    count over one run's index range), so its cost follows the number of runs asked for, not
    their length."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = sessions

    async def newest_run_ids(self, prefix: str, limit: int) -> list[str]:
        """Up to `limit` ids of runs with account snapshots that start with `prefix`, greatest
        first (for ids that continue with a timestamp, as `new_run_id`'s do: newest first)."""
        high = prefix[:-1] + chr(ord(prefix[-1]) + 1)
        parameters = {"low": prefix, "high": high, "limit": limit}
        async with self._sessions() as session:
            return list((await session.scalars(_NEWEST_RUN_IDS, parameters)).all())

    async def summaries(self, run_ids: Sequence[str]) -> list[RunSummary]:
        """The runs among `run_ids` that have account snapshots, summarised, in that order."""
        if not run_ids:
            return []
        ids = func.json_each(json.dumps(list(run_ids))).table_valued("key", "value").alias("ids")
        run_id = ids.c.value
        cycles = select(func.count()).where(_CYCLES.c.run_id == run_id)
        snapshots = _SNAPSHOTS.c
        earliest = (snapshots.taken_at, snapshots.id)
        latest = (snapshots.taken_at.desc(), snapshots.id.desc())
        query = select(
            run_id,
            cycles.scalar_subquery(),
            cycles.where(_CYCLES.c.error.is_not(None)).scalar_subquery(),
            _first(_CYCLES.c.model, run_id, _CYCLES.c.run_id, (_CYCLES.c.started_at,)),
            _first(snapshots.taken_at, run_id, snapshots.run_id, earliest),
            _first(snapshots.taken_at, run_id, snapshots.run_id, latest),
            _first(snapshots.equity, run_id, snapshots.run_id, earliest),
            _first(snapshots.equity, run_id, snapshots.run_id, latest),
        ).order_by(ids.c.key)
        async with self._sessions() as session:
            rows = (await session.execute(query)).all()
        return [
            RunSummary(str(run), int(count), int(errors), model, first, last, start, end)
            for run, count, errors, model, first, last, start, end in rows
            if first is not None
        ]


def _first(column: Any, run_id: Any, run_column: Any, order: Sequence[Any]) -> Any:
    """`column` of the run's first row in `order`: one seek on a (run_id, ...) index."""
    return select(column).where(run_column == run_id).order_by(*order).limit(1).scalar_subquery()
