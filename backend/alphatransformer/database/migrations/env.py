"""Alembic environment: runs on the connection the application hands over, or on a URL.

`alphatransformer db upgrade` and the engine's start pass their own connection (see
`database/migrate.py`); plain `alembic` commands use `sqlalchemy.url` from `alembic.ini`.
"""

from __future__ import annotations

import asyncio

from alembic import context
from sqlalchemy import Connection

from alphatransformer.database.engine import create_engine
from alphatransformer.database.models import Base

config = context.config
target_metadata = Base.metadata


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=True,
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


async def _run_with_url(url: str) -> None:
    engine = create_engine(url)
    try:
        async with engine.begin() as connection:
            await connection.run_sync(_run)
    finally:
        await engine.dispose()


def _main() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    url = config.get_main_option("sqlalchemy.url")
    if not url:
        raise RuntimeError("set sqlalchemy.url, or run `alphatransformer db upgrade`")
    asyncio.run(_run_with_url(url))


_main()
