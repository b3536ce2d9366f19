"""API latency under load, on a database holding a year of history.

Builds a SQLite database in a temp dir (migrated like the app does it) holding 100,000 decisions
in 33,334 cycles over three symbols, 5,000 orders and a year of one-minute account snapshots
(525,600 rows), all bulk-inserted with SQLAlchemy core. Then it starts the real server
(`python -m alphatransformer run`) on a free loopback port, with a cycle period so long that the
engine writes only its first cycle, and drives it from this process:

- `/api/decisions`: the first page and deep keyset pages, without and with filters,
- `/api/performance`,
- `/api/account/history`,

each with httpx async clients at a fixed concurrency, while 50 WebSocket clients stay attached to
`/ws/decisions`. Every phase runs `--rounds` times; the figures are the medians over the rounds
(the machine is shared). A concurrency-1 pass first gives each endpoint's service time alone.

Run from the repository root:  uv run python benchmarks/api_load.py
The last line is `decisions_p99_ms=<x> performance_p99_ms=<y> history_p99_ms=<z>`.
Targets: p99 < 50 ms for the decision list, < 200 ms for performance.

When a target is missed (or with `--profile`), the script then opens the runtime in this
process on the same database and times the repository calls, the pure computations and whole
requests through the app (cProfile), and prints the SQLite plans, to show where the time goes.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import cProfile
import gc
import io
import os
import pstats
import random
import re
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
from pydantic import TypeAdapter
from sqlalchemy import Engine, column, insert, table
from sqlalchemy import create_engine as create_sync_engine
from sqlalchemy.dialects import sqlite
from websockets.asyncio.client import ClientConnection, connect

from alphatransformer.database.engine import create_engine
from alphatransformer.database.migrate import upgrade_database
from alphatransformer.database.models import (
    AccountSnapshot,
    Decision,
    DecisionCycle,
    TradeExecution,
)

SYMBOLS = ("BTCUSDT", "ETHUSDT", "SOLUSDT")
START_PRICES = {"BTCUSDT": 95_000.0, "ETHUSDT": 3_400.0, "SOLUSDT": 190.0}
DECISIONS = 100_000
CYCLES = -(-DECISIONS // len(SYMBOLS))  # 33,334: the last cycle decided one symbol
EXECUTIONS = 5_000
SNAPSHOTS = 525_600  # a year of minutes
CHUNK = 20_000
SEED = 7
WEBSOCKETS = 50
CONCURRENCY = 8
DECISIONS_TARGET_MS = 50
PERFORMANCE_TARGET_MS = 200

_to_sql_datetime = sqlite.DATETIME().bind_processor(sqlite.dialect())
"""Exactly the text SQLAlchemy stores for a naive UTC datetime on SQLite."""


def sql_time(moment: datetime) -> str:
    return _to_sql_datetime(moment.astimezone(UTC).replace(tzinfo=None))


def money(value: float, digits: int = 2) -> str:
    """A Decimal column's stored text (ExactDecimal keeps `format(value, 'f')` on SQLite)."""
    return format(Decimal(f"{value:.{digits}f}"), "f")


# --------------------------------------------------------------------------------------------
# Filling the database


@dataclass(slots=True)
class Filled:
    path: Path
    start: datetime
    end: datetime
    seconds: float
    counts: dict[str, int] = field(default_factory=dict)


async def migrate(url: str) -> None:
    engine = create_engine(url)
    try:
        await upgrade_database(engine)
    finally:
        await engine.dispose()


def fill_database(path: Path) -> Filled:
    """Migrate, then bulk-insert a year of history ending a minute ago."""
    started = time.perf_counter()
    asyncio.run(migrate(f"sqlite+aiosqlite:///{path}"))
    end = datetime.now(UTC).replace(second=0, microsecond=0) - timedelta(minutes=1)
    start = end - timedelta(minutes=SNAPSHOTS - 1)
    rng = random.Random(SEED)
    engine = create_sync_engine(f"sqlite:///{path}")
    counts: dict[str, int] = {}
    with engine.begin() as connection:
        connection.exec_driver_sql("PRAGMA journal_mode=WAL")
        connection.exec_driver_sql("PRAGMA synchronous=OFF")
    try:
        counts["account_snapshots"] = _fill_snapshots(engine, rng, start)
        cycles, decisions, executions = _fill_decisions(engine, rng, start, end)
        counts["decision_cycles"] = cycles
        counts["decisions"] = decisions
        counts["trade_executions"] = executions
        with engine.begin() as connection:
            connection.exec_driver_sql("ANALYZE")
            connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        engine.dispose()
    return Filled(path, start, end, time.perf_counter() - started, counts)


def _chunks(rows: Iterator[dict[str, Any]]) -> Iterator[list[dict[str, Any]]]:
    chunk: list[dict[str, Any]] = []
    for row in rows:
        chunk.append(row)
        if len(chunk) == CHUNK:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _insert_all(engine: Engine, name: str, rows: Iterator[dict[str, Any]]) -> int:
    """Core `insert()` executemany in chunks, one transaction.

    Values are already in the form the column types store (decimals and datetimes as text), so
    the statement targets an untyped `table()` and nothing is converted per value; columns not
    given (such as a run id) take their server defaults.
    """
    count = 0
    with engine.begin() as connection:
        for chunk in _chunks(rows):
            statement = insert(table(name, *(column(key) for key in chunk[0])))
            connection.execute(statement, chunk)
            count += len(chunk)
    return count


def _fill_snapshots(engine: Engine, rng: random.Random, start: datetime) -> int:
    """A random walk of equity with slowly varying unrealised PnL, one row a minute."""

    def rows() -> Iterator[dict[str, Any]]:
        wallet = 10_000.0
        unrealized = 0.0
        minute = timedelta(minutes=1)
        at = start.replace(tzinfo=None)
        processor = _to_sql_datetime
        gauss = rng.gauss
        for _ in range(SNAPSHOTS):
            wallet *= 1 + gauss(0, 0.0002)
            unrealized = 0.98 * unrealized + gauss(0, 3.0)
            equity = wallet + unrealized
            margin = abs(unrealized) * 8 + 500.0
            open_positions = 0 if abs(unrealized) < 1 else 1 + int(abs(unrealized) // 25) % 3
            yield {
                "taken_at": processor(at),
                "environment": "paper",
                "wallet_balance": f"{wallet:.2f}",
                "equity": f"{equity:.2f}",
                "available_balance": f"{max(equity - margin, 0.0):.2f}",
                "unrealized_pnl": f"{unrealized:.2f}",
                "margin_used": f"{margin:.2f}",
                "open_positions": open_positions,
                "positions": "[]",
            }
            at += minute

    return _insert_all(engine, AccountSnapshot.__tablename__, rows())


_ACTIONS = (("hold", 0.70), ("open_long", 0.10), ("open_short", 0.08), ("close", 0.12))
_OUTCOMES = (("executed", 0.60), ("rejected", 0.35), ("failed", 0.05))
_REJECTIONS = (
    ("min_confidence", "confidence 0.48 is below the minimum 0.55"),
    ("max_open_positions", "3 positions are open, the maximum"),
    ("max_position_share", "margin 3,412.50 would exceed 30 % of equity"),
    ("stale_market_data", "market data is 42 s old; no new entries"),
    ("stop_loss_side", "the stop-loss is on the wrong side of the entry"),
)
_MODELS = ("deepseek-chat", "qwen3-max")


def _weighted(rng: random.Random, choices: tuple[tuple[str, float], ...]) -> str:
    return rng.choices([c for c, _ in choices], [w for _, w in choices])[0]


def _reasoning(rng: random.Random, symbol: str, action: str, price: float) -> str:
    trend = rng.choice(("uptrend", "downtrend", "range"))
    rsi = rng.uniform(20, 80)
    return (
        f"{symbol} 4h shows a {trend}: EMA20 {'above' if trend == 'uptrend' else 'below'} EMA50 "
        f"by {rng.uniform(0.1, 2.5):.2f} ATR. On 3m the MACD histogram is "
        f"{rng.uniform(-30, 30):+.2f} and RSI(14) is {rsi:.1f}. Price {price:,.2f}, funding "
        f"{rng.uniform(-0.01, 0.01):.4f} %, open interest {'rising' if rsi > 50 else 'falling'}. "
        f"Decision: {action.replace('_', ' ')}; risk is kept to 1 % of equity with the stop at "
        f"2 ATR and the target at 4 ATR."
    )


def _fill_decisions(
    engine: Engine, rng: random.Random, start: datetime, end: datetime
) -> tuple[int, int, int]:
    """Cycles evenly over the year, one decision per symbol; orders for some executed ones."""
    step = (end - start) / CYCLES
    prices = dict(START_PRICES)
    cycles: list[dict[str, Any]] = []
    decisions: list[dict[str, Any]] = []
    executions: list[dict[str, Any]] = []
    open_side: dict[str, str] = {}
    executed_share = 0.7 * 0.6  # non-hold share x executed share
    # Half the picks make no order (an open while one is held, a close while flat), an entry
    # makes two (the order and its stop): this lands a little above EXECUTIONS over the year.
    take = EXECUTIONS / (DECISIONS * executed_share) * 3.4
    decision_id = 0
    model = _MODELS[0]
    for index in range(CYCLES):
        at = start + step * index
        if index == CYCLES // 2:
            model = _MODELS[1]
        cycle_id = f"{at:%Y%m%dT%H%M%S%f}"[:-3] + f"-{index + 1}"
        input_tokens = rng.randint(4_000, 6_500)
        output_tokens = rng.randint(300, 1_200)
        error = "TimeoutError: no answer within 300 s; holding" if rng.random() < 0.01 else None
        cycles.append(
            {
                "id": cycle_id,
                "started_at": sql_time(at),
                "model": model,
                "prompt_hash": f"{rng.getrandbits(256):064x}",
                "input_tokens": input_tokens,
                "output_tokens": output_tokens,
                "latency_ms": rng.uniform(1_500, 9_000),
                "cost_usd": format(
                    (Decimal(input_tokens) * Decimal("0.28") + output_tokens * Decimal("0.42"))
                    / 1_000_000,
                    "f",
                ),
                "error": error,
                "transcript": None,
            }
        )
        created = sql_time(at + timedelta(seconds=rng.uniform(2, 9)))
        for symbol in SYMBOLS[: min(len(SYMBOLS), DECISIONS - decision_id)]:
            decision_id += 1
            prices[symbol] *= 1 + rng.gauss(0, 0.004)
            price = prices[symbol]
            action = "hold" if error else _weighted(rng, _ACTIONS)
            status = "hold" if action == "hold" else _weighted(rng, _OUTCOMES)
            opening = action.startswith("open")
            sign = 1 if action == "open_long" else -1
            rule, reason = rng.choice(_REJECTIONS) if status == "rejected" else (None, None)
            if status == "failed":
                reason = "ExchangeUnavailable: 503 from the venue; outcome unknown, reconciled"
            decisions.append(
                {
                    "id": decision_id,
                    "cycle_id": cycle_id,
                    "created_at": created,
                    "updated_at": created,
                    "symbol": symbol,
                    "action": action,
                    "status": status,
                    "status_reason": reason,
                    "rejection_rule": rule,
                    "price": money(price, 4),
                    "quantity": money(rng.uniform(500, 3_000) / price, 6) if opening else None,
                    "notional": None,
                    "leverage": rng.randint(2, 10) if opening else None,
                    "stop_loss": money(price * (1 - sign * 0.02), 4) if opening else None,
                    "take_profit": money(price * (1 + sign * 0.04), 4) if opening else None,
                    "invalidation_condition": (
                        f"4h close {'below' if sign > 0 else 'above'} {price * 0.97:,.2f}"
                        if opening
                        else None
                    ),
                    "confidence": round(rng.uniform(0.3, 0.95), 2),
                    "risk_usd": money(rng.uniform(20, 150)) if opening else None,
                    "reasoning": _reasoning(rng, symbol, action, price),
                    "model": model,
                }
            )
            if status == "executed" and len(executions) < EXECUTIONS and rng.random() < take:
                executions.extend(
                    _orders(rng, decision_id, symbol, action, price, created, open_side)
                )
    del executions[EXECUTIONS:]
    for number, row in enumerate(executions, start=1):
        row["id"] = number
    _insert_all(engine, DecisionCycle.__tablename__, iter(cycles))
    _insert_all(engine, Decision.__tablename__, iter(decisions))
    _insert_all(engine, TradeExecution.__tablename__, iter(executions))
    return len(cycles), len(decisions), len(executions)


def _orders(
    rng: random.Random,
    decision_id: int,
    symbol: str,
    action: str,
    price: float,
    created: str,
    open_side: dict[str, str],
) -> list[dict[str, Any]]:
    """An entry with its stop (later cancelled), or a close, as the order manager writes them."""
    held = open_side.get(symbol)
    if action.startswith("open") and held is None:
        side = "BUY" if action == "open_long" else "SELL"
        quantity = rng.uniform(500, 3_000) / price
        open_side[symbol] = side
        entry = _order(rng, decision_id, symbol, side, "MARKET", "entry", quantity, price, created)
        stop = _order(
            rng, decision_id, symbol, "SELL" if side == "BUY" else "BUY", "STOP_MARKET",
            "stop_loss", quantity, price, created, filled=False,
        )  # fmt: skip
        return [entry, stop]
    if action == "close" and held is not None:
        del open_side[symbol]
        quantity = rng.uniform(500, 3_000) / price
        side = "SELL" if held == "BUY" else "BUY"
        return [_order(rng, decision_id, symbol, side, "MARKET", "close", quantity, price, created)]
    return []


def _order(
    rng: random.Random,
    decision_id: int,
    symbol: str,
    side: str,
    order_type: str,
    purpose: str,
    quantity: float,
    price: float,
    created: str,
    *,
    filled: bool = True,
) -> dict[str, Any]:
    fee = quantity * price * 0.0005 if filled else 0.0
    return {
        "decision_id": decision_id,
        "created_at": created,
        "updated_at": created,
        "symbol": symbol,
        "side": side,
        "order_type": order_type,
        "purpose": purpose,
        "client_order_id": f"at-{decision_id}-{purpose}-{rng.getrandbits(40):010x}",
        "exchange_order_id": str(rng.getrandbits(48)),
        "status": "FILLED" if filled else "CANCELED",
        "quantity": money(quantity, 6),
        "price": None,
        "stop_price": None if filled else money(price * 0.98, 4),
        "reduce_only": purpose != "entry",
        "filled_quantity": money(quantity, 6) if filled else "0",
        "avg_price": money(price, 4) if filled else None,
        "fee": money(fee, 8),
        "fee_asset": "USDT",
        "realized_pnl": money(rng.gauss(5, 40), 8) if purpose == "close" else "0",
        "error": None,
    }


# --------------------------------------------------------------------------------------------
# The server


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def write_config(directory: Path, database: Path) -> Path:
    config = directory / "agent.yaml"
    config.write_text(
        "\n".join(
            [
                "environment: paper",
                f"symbols: [{', '.join(SYMBOLS)}]",
                "agent:",
                "  provider: rules",
                "  cycle_seconds: 86400",
                "database:",
                f"  url: sqlite+aiosqlite:///{database}",
                "api:",
                "  host: 127.0.0.1",
                "logging:",
                "  level: WARNING",
                "",
            ]
        ),
        encoding="utf-8",
    )
    return config


@contextlib.contextmanager
def running_server(directory: Path, config: Path) -> Iterator[tuple[str, int]]:
    """`python -m alphatransformer run` on a free loopback port; yields (base URL, pid)."""
    port = free_port()
    log = (directory / "server.log").open("wb")
    env = {k: v for k, v in os.environ.items() if not k.startswith("ALPHA_")}
    command = [sys.executable, "-m", "alphatransformer", "run", "--config", str(config)]
    command += ["--host", "127.0.0.1", "--port", str(port)]
    process = subprocess.Popen(  # noqa: S603 - our own interpreter and module
        command,
        cwd=directory,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        _wait_ready(base, process)
        yield base, process.pid
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()


def _wait_ready(base: str, process: subprocess.Popen[bytes]) -> None:
    """Until the server answers and the engine's first cycle (its only one) is done."""
    deadline = time.monotonic() + 120
    with httpx.Client(base_url=base, timeout=5) as client:
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise RuntimeError(f"the server exited with {process.returncode}; see server.log")
            try:
                status = client.get("/api/status").json()
                if status.get("cycles", 0) >= 1:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
    raise RuntimeError("the server did not finish its first cycle within 120 s")


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process (Linux), for server CPU per request."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return float("nan")
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


# --------------------------------------------------------------------------------------------
# Load


Request = Callable[[random.Random], tuple[str, dict[str, Any]]]


def decision_scenarios(filled: Filled) -> dict[str, Request]:
    span_s = (filled.end - filled.start).total_seconds()

    def deep(rng: random.Random) -> int:
        return rng.randint(2_000, DECISIONS)

    def day(rng: random.Random) -> dict[str, Any]:
        since = filled.start + timedelta(seconds=rng.uniform(0, span_s - 86_400))
        return {"since": since.isoformat(), "until": (since + timedelta(days=1)).isoformat()}

    return {
        "first page": lambda rng: ("/api/decisions", {}),
        "deep page": lambda rng: ("/api/decisions", {"before_id": deep(rng)}),
        "symbol first": lambda rng: ("/api/decisions", {"symbol": rng.choice(SYMBOLS)}),
        "symbol deep": lambda rng: (
            "/api/decisions",
            {"symbol": rng.choice(SYMBOLS), "before_id": deep(rng)},
        ),
        "status=rejected deep": lambda rng: (
            "/api/decisions",
            {"status": "rejected", "before_id": deep(rng)},
        ),
        "action+status deep": lambda rng: (
            "/api/decisions",
            {"action": "open_short", "status": "failed", "before_id": deep(rng)},
        ),
        "symbol+action deep": lambda rng: (
            "/api/decisions",
            {"symbol": rng.choice(SYMBOLS), "action": "close", "before_id": deep(rng)},
        ),
        "one-day range": lambda rng: ("/api/decisions", day(rng)),
    }


def other_scenarios(filled: Filled) -> dict[str, Request]:
    span_s = (filled.end - filled.start).total_seconds()

    def week(rng: random.Random) -> dict[str, Any]:
        since = filled.start + timedelta(seconds=rng.uniform(0, span_s - 7 * 86_400))
        return {"since": since.isoformat(), "until": (since + timedelta(days=7)).isoformat()}

    return {
        "performance": lambda rng: ("/api/performance", {}),
        "history year": lambda rng: ("/api/account/history", {}),
        "history week": lambda rng: ("/api/account/history", week(rng)),
    }


@dataclass(slots=True)
class PhaseResult:
    latencies_ms: list[float]
    seconds: float
    errors: int
    server_cpu_s: float
    client_cpu_s: float

    @property
    def throughput(self) -> float:
        return len(self.latencies_ms) / self.seconds if self.seconds else 0.0


def quantile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


async def run_phase(
    client: httpx.AsyncClient,
    request: Request,
    *,
    concurrency: int,
    count: int,
    budget_s: float,
    pid: int,
    seed: int,
) -> PhaseResult:
    """`count` requests (or fewer if `budget_s` runs out) from `concurrency` workers."""
    latencies: list[float] = []
    errors = 0
    remaining = count
    deadline = time.perf_counter() + budget_s

    async def worker(worker_seed: int) -> None:
        nonlocal remaining, errors
        rng = random.Random(worker_seed)
        while remaining > 0 and time.perf_counter() < deadline:
            remaining -= 1
            path, params = request(rng)
            began = time.perf_counter()
            response = await client.get(path, params=params)
            elapsed = (time.perf_counter() - began) * 1000
            if response.status_code != 200:
                errors += 1
            latencies.append(elapsed)

    cpu_before, client_before = cpu_seconds(pid), time.process_time()
    began = time.perf_counter()
    await asyncio.gather(*(worker(seed * 1000 + n) for n in range(concurrency)))
    seconds = time.perf_counter() - began
    server_cpu = cpu_seconds(pid) - cpu_before
    return PhaseResult(latencies, seconds, errors, server_cpu, time.process_time() - client_before)


async def attach_websockets(base: str, count: int) -> tuple[list[ClientConnection], list[int]]:
    """`count` clients on /ws/decisions, each counting what it receives."""
    url = base.replace("http://", "ws://") + "/ws/decisions"
    connections = [await connect(url, open_timeout=10) for _ in range(count)]
    received = [0] * count

    async def read(index: int, connection: ClientConnection) -> None:
        with contextlib.suppress(Exception):
            async for _ in connection:
                received[index] += 1

    for index, connection in enumerate(connections):
        asyncio.get_running_loop().create_task(read(index, connection))
    return connections, received


@dataclass(slots=True)
class Summary:
    """Per scenario: medians over rounds of p50, p99, req/s, and server CPU ms per request."""

    rounds: dict[str, list[PhaseResult]] = field(default_factory=dict)

    def add(self, name: str, result: PhaseResult) -> None:
        self.rounds.setdefault(name, []).append(result)

    def row(self, name: str) -> tuple[float, float, float, float, float, int, int]:
        results = self.rounds[name]
        p50 = statistics.median(quantile(r.latencies_ms, 0.5) for r in results)
        p99 = statistics.median(quantile(r.latencies_ms, 0.99) for r in results)
        rps = statistics.median(r.throughput for r in results)
        server = statistics.median(
            r.server_cpu_s * 1000 / max(len(r.latencies_ms), 1) for r in results
        )
        client = statistics.median(
            r.client_cpu_s * 1000 / max(len(r.latencies_ms), 1) for r in results
        )
        count = sum(len(r.latencies_ms) for r in results)
        errors = sum(r.errors for r in results)
        return p50, p99, rps, server, client, count, errors

    def pooled_p99(self, names: list[str]) -> float:
        """Per round, p99 over every request of these scenarios; then the median of rounds."""
        rounds = len(self.rounds[names[0]])
        return statistics.median(
            quantile([ms for n in names for ms in self.rounds[n][i].latencies_ms], 0.99)
            for i in range(rounds)
        )

    def print(self, title: str) -> None:
        print(f"\n{title}")
        print(
            f"  {'scenario':<22} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8} "
            f"{'CPU ms/req: server':>19} {'client':>7} {'requests':>9} {'errors':>6}"
        )
        for name in self.rounds:
            p50, p99, rps, server, client, count, errors = self.row(name)
            print(
                f"  {name:<22} {rps:>8.1f} {p50:>8.1f} {p99:>8.1f} {server:>19.2f} "
                f"{client:>7.2f} {count:>9} {errors:>6}"
            )


async def drive(
    base: str, pid: int, filled: Filled, args: argparse.Namespace
) -> tuple[Summary, list[str]]:
    decisions = decision_scenarios(filled)
    others = other_scenarios(filled)
    limits = httpx.Limits(max_connections=args.concurrency, max_keepalive_connections=64)
    async with httpx.AsyncClient(base_url=base, timeout=60, limits=limits) as client:
        # Warm-up: first hits build caches (SQLite pages, pydantic/FastAPI paths).
        for scenario in [*decisions.values(), *others.values()]:
            for _ in range(3):
                path, params = scenario(random.Random(0))
                (await client.get(path, params=params)).raise_for_status()

        alone = Summary()
        for name, scenario in [*decisions.items(), *others.items()]:
            heavy = name in others
            result = await run_phase(
                client, scenario, concurrency=1, count=30 if heavy else 100,
                budget_s=15, pid=pid, seed=1,
            )  # fmt: skip
            alone.add(name, result)
        alone.print("Service time, concurrency 1, no WebSocket clients (one round):")

        connections, received = await attach_websockets(base, args.websockets)
        loaded = Summary()
        try:
            for round_number in range(args.rounds):
                for name, scenario in [*decisions.items(), *others.items()]:
                    heavy = name in others
                    result = await run_phase(
                        client,
                        scenario,
                        concurrency=args.concurrency,
                        count=args.heavy_requests if heavy else args.requests,
                        budget_s=args.budget,
                        pid=pid,
                        seed=round_number + 2,
                    )
                    loaded.add(name, result)
            alive = sum(1 for c in connections if c.close_code is None)
        finally:
            await asyncio.gather(*(c.close() for c in connections), return_exceptions=True)
        loaded.print(
            f"Under load: concurrency {args.concurrency}, {args.websockets} WebSocket clients on "
            f"/ws/decisions; medians of {args.rounds} rounds:"
        )
        print(
            f"  WebSocket clients still attached at the end: {alive}/{len(connections)}, "
            f"messages received: {sum(received)}"
        )
        return loaded, list(decisions)


# --------------------------------------------------------------------------------------------
# In-process profile of the endpoints' server-side work


async def profile_in_process(config_path: Path, filled: Filled) -> None:
    """Open the runtime on the same database (engine idle) and time each piece of work behind
    the endpoints: the repository calls, the pure computations, and whole requests through the
    real app (in-process ASGI, so cProfile sees routing, validation and serialisation too)."""
    from alphatransformer.api.app import create_app
    from alphatransformer.api.routes.performance import EQUITY_POINTS
    from alphatransformer.api.schemas import DecisionOut, DecisionPage
    from alphatransformer.config import load_config
    from alphatransformer.database.repositories import DecisionFilter
    from alphatransformer.runtime import open_runtime
    from alphatransformer.trading.performance import LlmUsage, performance

    config = load_config(config_path, env={}, dotenv_path=None)
    runtime = await open_runtime(config)
    await runtime.market.start()  # the paper account needs prices
    await runtime.exchange.start()

    async def timed(label: str, work: Callable[[], Awaitable[Any]], repeats: int = 5) -> Any:
        timings = []
        result = None
        for _ in range(repeats):
            began = time.perf_counter()
            result = await work()
            timings.append((time.perf_counter() - began) * 1000)
        print(f"   {label:<62} {statistics.median(timings):>8.2f} ms")
        return result

    async def timed_sync(label: str, work: Callable[[], Any], repeats: int = 5) -> Any:
        async def run() -> Any:
            return work()

        return await timed(label, run, repeats)

    print("\nIn-process profile (server stopped, engine idle; medians of 5):")
    print(" /api/performance pieces")
    _, series = await timed(
        f"snapshots.equity_series(None, None, {EQUITY_POINTS})",
        lambda: runtime.snapshots.equity_series(None, None, EQUITY_POINTS),
    )
    fills = await timed("executions.fills()", runtime.executions.fills)
    usage = await timed("decisions.usage_totals()", runtime.decisions.usage_totals)
    account = await timed("exchange.account()", runtime.exchange.account)
    points = [(t, e) for t, e, _, _ in series]
    report = await timed_sync(
        f"performance(...) on {len(points)} points, {len(fills)} fills",
        lambda: performance(
            points,
            fills,
            account.unrealized_pnl,
            LlmUsage(usage.input_tokens, usage.output_tokens, usage.cost_usd),
        ),
    )
    adapter = TypeAdapter(type(report))
    await timed_sync("report to JSON (pydantic)", lambda: adapter.dump_json(report))
    print(" /api/account/history pieces")
    await timed(
        "snapshots.equity_series(None, None, 500)  (whole year)",
        lambda: runtime.snapshots.equity_series(None, None, 500),
    )
    week_start = filled.end - timedelta(days=7)
    await timed(
        "snapshots.equity_series(last week, 500)",
        lambda: runtime.snapshots.equity_series(week_start, filled.end, 500),
    )
    print(" /api/decisions pieces (limit 51)")
    deep = DECISIONS // 2
    rows: list[Any] = []
    for label, filters in [
        ("page_rows(first)", DecisionFilter()),
        (f"page_rows(before_id={deep})", DecisionFilter(before_id=deep)),
        (f"page_rows(symbol, before_id={deep})", DecisionFilter(symbol="ETHUSDT", before_id=deep)),
        (
            f"page_rows(action, status, before_id={deep})",
            DecisionFilter(action="open_short", status="failed", before_id=deep),
        ),
    ]:
        rows = await timed(label, lambda f=filters: runtime.decisions.page_rows(f, 51))
    items = await timed_sync(
        "50 x DecisionOut.model_validate(row)",
        lambda: [DecisionOut.model_validate(r) for r in rows[:50]],
    )
    await timed_sync(
        "DecisionPage(...).model_dump_json()",
        lambda: DecisionPage(items=items, next_before_id=1).model_dump_json(),
    )

    app = create_app(config, api_token="profile-token")  # noqa: S106 - a throwaway token
    app.state.runtime = runtime  # the lifespan is not run: the runtime is already open
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://profile") as client:
        rng = random.Random(3)
        for path, count, params in [
            ("/api/decisions", 200, lambda: {"before_id": rng.randint(2_000, DECISIONS)}),
            ("/api/performance", 3, dict),
            ("/api/account/history", 3, dict),
        ]:
            await client.get(path, params=params())  # warm
            profiler = cProfile.Profile()
            began = time.perf_counter()
            profiler.enable()
            for _ in range(count):
                (await client.get(path, params=params())).raise_for_status()
            profiler.disable()
            each = (time.perf_counter() - began) * 1000 / count
            out = io.StringIO()
            pstats.Stats(profiler, stream=out).sort_stats("tottime").print_stats(14)
            print(f"\n cProfile, {count} x GET {path} in-process, {each:.1f} ms each (profiled);")
            print("   own time, main thread only (SQLite itself runs in aiosqlite's thread):")
            for line in _profile_lines(out.getvalue()):
                print("   " + line)

    print("\n SQLite query plans of the statements the repositories issue:")
    for label, work in [
        ("equity_series(year, 20000)", lambda: runtime.snapshots.equity_series(None, None, 20_000)),
        (
            "page_rows(symbol, before_id)",
            lambda: runtime.decisions.page_rows(
                DecisionFilter(symbol="ETHUSDT", before_id=deep), 51
            ),
        ),
        (
            "page_rows(action, status, before_id)",
            lambda: runtime.decisions.page_rows(
                DecisionFilter(action="open_short", status="failed", before_id=deep), 51
            ),
        ),
    ]:
        for statement, plan in await _query_plans(runtime.database, work):
            print(f"   {label}: {' '.join(statement.split())[:90]}...")
            print(f"     plan: {plan}")
    await runtime.exchange.stop()
    await runtime.market.stop()
    await runtime.database.dispose()


async def _query_plans(database: Any, work: Callable[[], Awaitable[Any]]) -> list[tuple[str, str]]:
    """Run `work`, capturing its SQL, then ask SQLite for each statement's plan."""
    from sqlalchemy import event

    captured: list[tuple[str, Any]] = []

    def capture(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        captured.append((statement, parameters))

    event.listen(database.sync_engine, "before_cursor_execute", capture)
    try:
        await work()
    finally:
        event.remove(database.sync_engine, "before_cursor_execute", capture)
    plans = []
    async with database.connect() as connection:
        for statement, parameters in captured:
            rows = await connection.exec_driver_sql(
                "EXPLAIN QUERY PLAN " + statement, tuple(parameters)
            )
            plans.append((statement, " | ".join(str(row[-1]) for row in rows)))
    return plans


_SHORT_PATH = re.compile(r"/\S*/(?:site-packages|backend|lib/python3\.\d+)/")


def _profile_lines(text: str) -> list[str]:
    """The table part of a pstats listing, paths shortened to the package-relative part."""
    return [
        _SHORT_PATH.sub("", line.rstrip())
        for line in text.splitlines()
        if line.strip() and not line.lstrip().startswith(("Ordered", "List reduced"))
    ]


# --------------------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--concurrency", type=int, default=CONCURRENCY)
    parser.add_argument("--websockets", type=int, default=WEBSOCKETS)
    parser.add_argument("--requests", type=int, default=400, help="per decision scenario")
    parser.add_argument("--heavy-requests", type=int, default=80, help="per heavy scenario")
    parser.add_argument("--budget", type=float, default=20.0, help="seconds per phase, at most")
    parser.add_argument("--profile", action="store_true", help="profile even if targets are met")
    parser.add_argument("--no-profile", action="store_true", help="never profile")
    parser.add_argument("--keep", type=Path, help="build the database here and keep it")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="api-load-") as temp:
        directory = args.keep or Path(temp)
        directory.mkdir(parents=True, exist_ok=True)
        database = directory / "load.db"
        database.unlink(missing_ok=True)
        filled = fill_database(database)
        size_mb = database.stat().st_size / 1e6
        print(
            f"Filled {database.name} in {filled.seconds:.1f} s ({size_mb:.0f} MB): "
            + ", ".join(f"{n} {t}" for t, n in filled.counts.items())
        )
        config = write_config(directory, database)
        with running_server(directory, config) as (base, pid):
            # This process's own full collections (~90,000 objects after its imports) paused
            # its event loop for up to ~50 ms, which the open requests counted as latency.
            gc.collect()
            gc.freeze()
            summary, decision_names = asyncio.run(drive(base, pid, filled, args))
        decisions_p99 = summary.pooled_p99(decision_names)
        performance_p99 = summary.row("performance")[1]
        history_p99 = summary.pooled_p99(["history year", "history week"])
        missed = decisions_p99 >= DECISIONS_TARGET_MS or performance_p99 >= PERFORMANCE_TARGET_MS
        print(
            f"\nTargets: decision list p99 < {DECISIONS_TARGET_MS} ms: "
            f"{'MISSED' if decisions_p99 >= DECISIONS_TARGET_MS else 'met'}; performance p99 < "
            f"{PERFORMANCE_TARGET_MS} ms: "
            f"{'MISSED' if performance_p99 >= PERFORMANCE_TARGET_MS else 'met'}"
        )
        if args.profile or (missed and not args.no_profile):
            asyncio.run(profile_in_process(config, filled))

    print(
        f"decisions_p99_ms={decisions_p99:.1f} performance_p99_ms={performance_p99:.1f} "
        f"history_p99_ms={history_p99:.1f}"
    )


if __name__ == "__main__":
    main()
