"""The database behind DATABASE_URL, with one small async interface for both backends.

PostgreSQL goes through asyncpg. SQLite goes through the standard sqlite3 driver called
directly on the event loop: a statement on a local WAL-mode file takes microseconds, while
handing every statement to a driver thread and back (aiosqlite) cost about ten times the
work itself (measured: ~30 tickets/s through aiosqlite against several hundred this way; see
bench/intake.py). A unit of work never awaits anything but its own statements, so on SQLite
it runs to its commit without yielding, and writers in one process never wait on each other.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, Protocol, TypeVar

import orjson
from sqlalchemy import Connection, Engine, Executable, create_engine, event, make_url, text
from sqlalchemy.engine import URL, CursorResult
from sqlalchemy.exc import ArgumentError, SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

from storage.prepared import Rows, SqlitePlans, Written, written

T = TypeVar("T")
Params = dict[str, Any] | list[dict[str, Any]] | None


class StorageUnavailable(Exception):
    """The database cannot be used; the message says which and what to check."""


class Conn(Protocol):
    """What repositories and migrations use of a connection."""

    async def execute(self, statement: Executable, params: Params = None) -> CursorResult[Any]: ...
    async def write(self, statement: Executable, params: Rows) -> Written:
        """An INSERT or UPDATE built once, whose result is read only for a count or new id."""
        ...

    async def fetch(self, statement: Executable, params: dict[str, Any]) -> Sequence[Any]:
        """Rows, read by column name, of a statement built once (a SELECT, or RETURNING)."""
        ...

    async def commit(self) -> None: ...
    async def rollback(self) -> None: ...
    async def close(self) -> None: ...
    def in_transaction(self) -> bool: ...
    async def run_sync(self, fn: Callable[[Connection], T]) -> T: ...


class _SqliteConn:
    def __init__(self, conn: Connection, plans: SqlitePlans) -> None:
        self._conn = conn
        self._plans = plans

    async def execute(self, statement: Executable, params: Params = None) -> CursorResult[Any]:
        return self._conn.execute(statement, params)

    async def write(self, statement: Executable, params: Rows) -> Written:
        return self._plans.write(self._conn, statement, params)

    async def fetch(self, statement: Executable, params: dict[str, Any]) -> Sequence[Any]:
        return self._plans.fetch(self._conn, statement, params)

    async def commit(self) -> None:
        self._conn.commit()

    async def rollback(self) -> None:
        self._conn.rollback()

    async def close(self) -> None:
        self._conn.close()

    def in_transaction(self) -> bool:
        return self._conn.in_transaction()

    async def run_sync(self, fn: Callable[[Connection], T]) -> T:
        return fn(self._conn)


class _AsyncConn:
    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def execute(self, statement: Executable, params: Params = None) -> CursorResult[Any]:
        return await self._conn.execute(statement, params)

    async def write(self, statement: Executable, params: Rows) -> Written:
        return written(statement, params, await self._conn.execute(statement, params))

    async def fetch(self, statement: Executable, params: dict[str, Any]) -> Sequence[Any]:
        return (await self._conn.execute(statement, params)).all()

    async def commit(self) -> None:
        await self._conn.commit()

    async def rollback(self) -> None:
        await self._conn.rollback()

    async def close(self) -> None:
        await self._conn.close()

    def in_transaction(self) -> bool:
        return self._conn.in_transaction()

    async def run_sync(self, fn: Callable[[Connection], T]) -> T:
        return await self._conn.run_sync(fn)


def new_id(written: Written) -> int:
    """The primary key a one-row INSERT just created."""
    assert written.new_id is not None, "no row was inserted"
    return written.new_id


def _json_text(value: Any) -> str:
    return orjson.dumps(value).decode()


# JSON columns through orjson: a new ticket writes a dozen small documents (outbox actions,
# mentions and card fields, the inbound event, the audit event), and json.dumps builds a new
# encoder for each one
_JSON: dict[str, Any] = {"json_serializer": _json_text, "json_deserializer": orjson.loads}


class Database:
    def __init__(self, url: str, **engine_args: Any) -> None:
        self.url = resolve_url(url)
        self.dialect_name = self.url.get_backend_name()
        self._sync: Engine | None = None
        self._async: AsyncEngine | None = None
        if self.dialect_name == "sqlite":
            _check_sqlite_path(self.url)
            self._sync = create_engine(self.url, **_JSON, **engine_args)
            _tune_sqlite(self._sync)
            self._plans = SqlitePlans()
        else:
            self._async = create_async_engine(self.url, pool_pre_ping=True, **_JSON, **engine_args)

    @property
    def description(self) -> str:
        """The URL for logs and messages, without its password."""
        return self.url.render_as_string(hide_password=True)

    async def connect(self) -> Conn:
        if self._sync is not None:
            return _SqliteConn(self._sync.connect(), self._plans)
        assert self._async is not None
        return _AsyncConn(await self._async.connect())

    @asynccontextmanager
    async def begin(self) -> AsyncIterator[Conn]:
        """A connection whose work commits at the end of the block (or rolls back on error)."""
        conn = await self.connect()
        try:
            yield conn
            await conn.commit()
        finally:
            if conn.in_transaction():
                await conn.rollback()
            await conn.close()

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
        if self._sync is not None:
            self._sync.dispose()
        if self._async is not None:
            await self._async.dispose()


def resolve_url(url: str) -> URL:
    """Pick the driver: the standard sqlite3 module, or asyncpg for PostgreSQL."""
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise StorageUnavailable(
            f"DATABASE_URL is not a database URL: {url!r}. "
            "Use sqlite:///supportbot.db or postgresql://user@host:5432/dbname."
        ) from None
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        return parsed.set(drivername="sqlite+pysqlite")
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


def _tune_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # let SQLAlchemy, not the driver, decide when transactions begin
        dbapi_connection.isolation_level = None
        for pragma in (
            "journal_mode=WAL",
            "synchronous=NORMAL",
            "foreign_keys=ON",
            "busy_timeout=10000",
        ):
            dbapi_connection.execute(f"PRAGMA {pragma}")

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        # take the write lock up front, so a read-then-write never fails half way
        # (straight on the driver: this runs once per transaction, on the hot path)
        conn.connection.dbapi_connection.execute("BEGIN IMMEDIATE")
