"""A fresh PostgreSQL database for a benchmark, on the machine's server."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Awaitable, Callable
from pathlib import Path

import asyncpg

from storage.engine import Database, StorageUnavailable

POSTGRES = os.environ.get("SUPPORTBOT_BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432")


async def fresh_postgres(name: str, label: str) -> Database | None:
    """An empty database called `name`, or None (said on one line) when PostgreSQL is away."""
    try:
        conn = await asyncpg.connect(POSTGRES.replace("postgresql://", "postgres://") + "/test")
    except (OSError, asyncpg.PostgresError) as error:
        print(f"{label} (postgresql): not measured, PostgreSQL unreachable: {error}")
        return None
    try:
        await conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        await conn.execute(f"CREATE DATABASE {name}")
    finally:
        await conn.close()
    return Database(f"{POSTGRES}/{name}")


async def on_both_backends(
    label: str, name: str, measure: Callable[[Database, str], Awaitable[bool]]
) -> bool:
    """`measure` on a fresh SQLite file, then on a fresh PostgreSQL database `name`."""
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        sqlite = Database(f"sqlite:///{Path(tmp) / f'{name}.db'}")
        try:
            results.append(await measure(sqlite, "sqlite"))
        finally:
            await sqlite.dispose()
    postgres = await fresh_postgres(name, label)
    if postgres is None:
        return False
    try:
        results.append(await measure(postgres, "postgresql"))
    except StorageUnavailable as error:
        print(f"{label} (postgresql): not measured: {error}")
        return False
    finally:
        await postgres.dispose()
    return all(results)
