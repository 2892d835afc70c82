"""The database behind DATABASE_URL: async SQLAlchemy on both backends.

PostgreSQL goes through asyncpg; SQLite through aiosqlite, whose driver runs every statement
on a thread of its own. No statement runs on the event loop, so a database that waits (SQLite's
write lock held by `supportbot tick`, a slow digest, a PostgreSQL failover) delays only the work
that needs it: Slack's acknowledgements, Discord's heartbeats and other customers go on.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import event, make_url, text
from sqlalchemy.engine import URL, CursorResult
from sqlalchemy.exc import (
    ArgumentError,
    DataError,
    DBAPIError,
    IntegrityError,
    ProgrammingError,
    SQLAlchemyError,
)
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

from storage.jsontext import dumps, loads

# what repositories and migrations use of a connection: SQLAlchemy's own
Conn = AsyncConnection


class StorageUnavailable(Exception):
    """The database cannot be used; the message says which and what to check."""


def is_outage(error: BaseException) -> bool:
    """A failure of the database itself (unreachable, locked, read-only, gone away), which time
    may cure, as opposed to a bug in what we asked of it."""
    if isinstance(error, StorageUnavailable | OSError | TimeoutError | PoolTimeout):
        return True
    # integrity, programming and data errors are ours; the rest is the database's state
    return isinstance(error, DBAPIError) and not isinstance(
        error, IntegrityError | ProgrammingError | DataError
    )


class Database:
    def __init__(self, url: str, **engine_args: Any) -> None:
        self.url = resolve_url(url)
        self.dialect_name = self.url.get_backend_name()
        if self.dialect_name == "sqlite":
            _check_sqlite_path(self.url)
            # every unit of work ends its own transaction: no rollback round trip on return
            engine_args.setdefault("pool_reset_on_return", None)
        else:
            engine_args.setdefault("pool_pre_ping", True)
        self.engine: AsyncEngine = create_async_engine(
            self.url, json_serializer=dumps, json_deserializer=loads, **engine_args
        )
        if self.dialect_name == "sqlite":
            _tune_sqlite(self.engine)

    @property
    def description(self) -> str:
        """The URL for logs and messages, without its password."""
        return self.url.render_as_string(hide_password=True)

    async def connect(self) -> Conn:
        return await self.engine.connect()

    @asynccontextmanager
    async def begin(self) -> AsyncIterator[Conn]:
        """A connection whose work commits at the end of the block (or rolls back on error)."""
        async with self.engine.begin() as conn:
            yield conn

    async def ping(self) -> None:
        """Connect once; raise StorageUnavailable with a readable reason if that fails."""
        try:
            async with self.begin() as conn:
                await conn.execute(text("SELECT 1"))
        except (OSError, SQLAlchemyError) as error:
            detail = str(getattr(error, "orig", None) or error).splitlines()[0]
            raise StorageUnavailable(
                f"cannot use the database at {self.description}: {detail}"
            ) from error

    async def dispose(self) -> None:
        await self.engine.dispose()


def resolve_url(url: str) -> URL:
    """Pick the driver: aiosqlite for SQLite, asyncpg for PostgreSQL."""
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise StorageUnavailable(
            f"DATABASE_URL is not a database URL: {url!r}. "
            "Use sqlite:///supportbot.db or postgresql://user@host:5432/dbname."
        ) from None
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        return parsed.set(drivername="sqlite+aiosqlite")
    if backend in ("postgresql", "postgres"):
        return parsed.set(drivername="postgresql+asyncpg")
    raise StorageUnavailable(
        f"DATABASE_URL uses {backend!r}; supportbot supports sqlite and postgresql."
    )


def _check_sqlite_path(url: URL) -> None:
    if not url.database or url.database == ":memory:":
        return
    folder = Path(url.database).expanduser().resolve().parent
    if not folder.is_dir():
        raise StorageUnavailable(
            f"DATABASE_URL points at {url.database!r}, but the folder {str(folder)!r} does not "
            "exist. Create it or choose another path."
        )
    if not os.access(folder, os.W_OK):
        raise StorageUnavailable(
            f"DATABASE_URL points at {url.database!r}, but the folder {str(folder)!r} is not "
            "writable. Fix its permissions or choose another path."
        )


def _tune_sqlite(engine: AsyncEngine) -> None:
    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # let SQLAlchemy, not the driver, decide when transactions begin
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        for pragma in (
            "journal_mode=WAL",
            "synchronous=NORMAL",
            "foreign_keys=ON",
            # waiting for another process's write lock happens on the driver's thread
            "busy_timeout=10000",
        ):
            cursor.execute(f"PRAGMA {pragma}")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(conn: Any) -> None:
        # take the write lock up front, so a read-then-write never fails half way
        conn.exec_driver_sql("BEGIN IMMEDIATE")


def new_id(result: CursorResult[Any]) -> int:
    """The primary key a one-row INSERT just created."""
    key = result.inserted_primary_key
    assert key is not None and key[0] is not None, "no row was inserted"
    return int(key[0])
