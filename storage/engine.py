"""The database behind DATABASE_URL, with one small async interface for both backends.

PostgreSQL goes through SQLAlchemy's asyncio engine on asyncpg; SQLite through SQLAlchemy's
own engine, with what can wait on worker threads (see storage.sqlite). No wait happens on the
event loop, so a database that waits (SQLite's write lock held by `supportbot tick`, a slow
digest, a PostgreSQL failover) delays only the work that needs it: Slack's acknowledgements,
Discord's heartbeats and other customers go on.
"""

from __future__ import annotations

import asyncio
import os
import socket
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, Protocol, TypeVar

from sqlalchemy import Connection, Engine, Executable, Row, create_engine, event, text
from sqlalchemy.engine import URL
from sqlalchemy.exc import (
    DataError,
    DBAPIError,
    DisconnectionError,
    IntegrityError,
    ProgrammingError,
    SQLAlchemyError,
)
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlalchemy.pool import QueuePool, StaticPool

from storage.database_url import LIBPQ_PARAMETERS, postgres_connect_args, why_not
from storage.database_url import in_memory as in_memory
from storage.database_url import resolve_url as resolve_url
from storage.jsontext import dumps, loads
from storage.pg_direct import DirectStatements
from storage.sqlite import SNAPSHOT, SqliteEngine

T = TypeVar("T")


class Rows(Protocol):
    """What repositories read of a statement's outcome."""

    @property
    def rowcount(self) -> int: ...
    @property
    def inserted_primary_key(self) -> Any: ...
    def first(self) -> Row[Any] | None: ...
    def scalar(self) -> Any: ...
    def scalar_one(self) -> Any: ...
    def all(self) -> Sequence[Row[Any]]: ...
    def __iter__(self) -> Iterator[Row[Any]]: ...


class Conn(Protocol):
    """What repositories and migrations use of a connection (SQLAlchemy's AsyncConnection on
    PostgreSQL, a SqliteConnection on SQLite)."""

    async def execute(self, statement: Executable, parameters: Any = None) -> Rows: ...
    async def commit(self) -> None: ...
    async def rollback(self) -> None: ...
    async def close(self) -> None: ...
    async def invalidate(self) -> None: ...
    def in_transaction(self) -> bool: ...
    async def run_sync(self, fn: Callable[[Connection], T]) -> T: ...


# seconds a transaction waits for another process's SQLite write lock, unless ?timeout= says
LOCK_WAIT = 10.0
# connections a process keeps open (transactions at once)
CONNECTIONS = 15


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
        json: dict[str, Any] = {"json_serializer": dumps, "json_deserializer": loads}
        self._sqlite: SqliteEngine | None = None
        self._async: AsyncEngine | None = None
        self.direct: DirectStatements | None = None  # PostgreSQL's (storage.pg_direct)
        if self.dialect_name == "sqlite":
            check_sqlite_path(self.url)
            # a connection moves between worker threads, never used by two at once
            args = engine_args.setdefault("connect_args", {})
            args["check_same_thread"] = False
            # every unit of work ends its own transaction: no rollback round trip on return
            engine_args.setdefault("pool_reset_on_return", None)
            if in_memory(self.url):  # one connection is the whole database
                engine_args |= {"poolclass": StaticPool}
                connections = 1
            else:
                # kept open, not closed as overflow: a connection's pragmas cost more than a
                # ticket's statements, and a burst would open and close them over and over
                connections = CONNECTIONS
                engine_args |= {
                    "poolclass": QueuePool,
                    "pool_size": connections,
                    "max_overflow": 0,
                }
            # ?timeout=SECONDS in the URL (sqlite3's own) says how long to wait for a lock
            lock_wait = float(str(self.url.query.get("timeout", LOCK_WAIT)))
            sync = create_engine(self.url, **json, **engine_args)
            _tune_sqlite(sync, lock_wait, in_memory=in_memory(self.url))
            path = "" if in_memory(self.url) else str(self.url.database)
            self._sqlite = SqliteEngine(sync, connections, lock_wait, path)
        else:
            # SQLAlchemy's pre-ping costs asyncpg three round trips (BEGIN, ";", ROLLBACK)
            # each time a unit of work takes a connection, as many as a new ticket's own
            # statements; a connection the server closed is told by its socket instead
            engine_args.setdefault("pool_pre_ping", False)
            if "poolclass" not in engine_args:
                # kept open, as on SQLite: a connection's start-up costs more than a ticket
                engine_args.setdefault("pool_size", CONNECTIONS)
                engine_args.setdefault("max_overflow", 0)
            # asyncpg takes session settings as connect_args["server_settings"], and libpq's
            # URL parameters under names of its own: left in the URL, each would reach
            # asyncpg.connect() as an unknown argument
            connect_args = postgres_connect_args(self.url) | dict(
                engine_args.get("connect_args") or {}
            )
            settings = dict(connect_args.get("server_settings") or {})
            settings.setdefault("application_name", APPLICATION_PREFIX + process_label())
            engine_args["connect_args"] = connect_args | {"server_settings": settings}
            # self.url keeps them: a Database made again from it connects the same way
            engine_url = self.url.difference_update_query(LIBPQ_PARAMETERS)
            self._async = create_async_engine(engine_url, **json, **engine_args)
            event.listen(self._async.sync_engine, "checkout", _closed_by_the_server)
            self.direct = DirectStatements(self._async.sync_engine.dialect)

    @property
    def sync_engine(self) -> Engine:
        """SQLAlchemy's engine underneath (its pool, its events), whichever the backend."""
        if self._sqlite is not None:
            return self._sqlite.sync_engine
        assert self._async is not None
        return self._async.sync_engine

    @property
    def description(self) -> str:
        """The URL for logs and messages, without its password."""
        return self.url.render_as_string(hide_password=True)

    async def connect(self) -> Conn:
        if self._sqlite is not None:
            return await self._sqlite.connect()
        assert self._async is not None
        return await self._async.connect()

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

    async def snapshot(self, read: Callable[[Connection], T]) -> T:
        """`read(connection)`, synchronous, in one read-only transaction that sees one
        moment of the database and holds up no writer: for long reads such as the export.
        SQLite runs it on a worker thread; PostgreSQL in REPEATABLE READ on the loop, whose
        waits for the server are the driver's, not the loop's."""
        if self._sqlite is not None:
            return await self._sqlite.snapshot(read)
        assert self._async is not None
        async with self._async.connect() as conn:
            await conn.execution_options(isolation_level="REPEATABLE READ")
            async with conn.begin():
                return await conn.run_sync(read)

    async def ping(self) -> None:
        """Connect once; raise StorageUnavailable with a readable reason if that fails."""
        try:
            async with self.begin() as conn:
                await conn.execute(text("SELECT 1"))
        except (OSError, SQLAlchemyError) as error:
            raise StorageUnavailable(
                f"cannot use the database at {self.description}: {why_not(error, self.url)}"
            ) from error

    async def warm(self) -> None:
        """Open at start the connections a PostgreSQL pool keeps: opened in a burst, each
        would cost the customers waiting a dozen round trips (start-up, type codecs)."""
        if self._async is None:
            return
        size = getattr(self._async.sync_engine.pool, "size", lambda: 0)()
        opened = await asyncio.gather(
            *(self._async.connect() for _ in range(size)), return_exceptions=True
        )
        for conn in opened:  # back to the pool; one that failed is opened when needed
            if not isinstance(conn, BaseException):
                await conn.close()

    async def dispose(self) -> None:
        if self._sqlite is not None:
            await self._sqlite.dispose()
        if self._async is not None:
            await self._async.dispose()


# every PostgreSQL session of a supportbot process carries this name, followed by the process's
# label, so that `supportbot check` (and pg_stat_activity) can tell which process is which
APPLICATION_PREFIX = "supportbot "


def _closed_by_the_server(dbapi_connection: Any, _record: Any, _proxy: Any) -> None:
    """A pooled connection whose server went away (a restart, a failover, an idle timeout)
    is replaced before a unit of work gets it: the pool tries another on DisconnectionError."""
    if dbapi_connection.driver_connection.is_closed():
        raise DisconnectionError("the server closed this connection")


def process_label() -> str:
    """host:pid, as this process names itself to PostgreSQL and in its logs."""
    # application_name holds 63 bytes, and PostgreSQL turns anything but ASCII into "?"
    host = socket.gethostname().encode("ascii", "replace").decode()[:40]
    return f"{host}:{os.getpid()}"


def label_of(application_name: str) -> str | None:
    """The process label in a session's application_name; None when not a supportbot one."""
    if application_name.startswith(APPLICATION_PREFIX):
        return application_name[len(APPLICATION_PREFIX) :]
    return None


def check_sqlite_path(url: URL) -> None:
    if in_memory(url) or url.database is None:
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


def _tune_sqlite(engine: Engine, lock_wait: float, in_memory: bool) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # let SQLAlchemy, not the driver, decide when transactions begin
        dbapi_connection.isolation_level = None
        for pragma in (
            # connecting is a worker's: its pragmas may wait for another process's lock
            # (the switch to WAL on a new database needs the database to itself)
            f"busy_timeout={int(lock_wait * 1000)}",
            "journal_mode=WAL",
            "synchronous=NORMAL",
            "foreign_keys=ON",
            # a checkpoint (with its fsync) is a worker's every so many commits, not part
            # of whichever commit happens to fill the WAL
            *(() if in_memory else ("wal_autocheckpoint=0",)),
            # then never wait inside SQLite: a wait for another process's lock is a
            # worker's (storage.sqlite), so that it never holds up the event loop
            "busy_timeout=0",
        ):
            dbapi_connection.execute(f"PRAGMA {pragma}")

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        if conn.get_execution_options().get(SNAPSHOT):
            conn.exec_driver_sql("BEGIN")  # a read: in WAL mode it takes no lock at all
            return
        # take the write lock up front, so a read-then-write never fails half way
        conn.exec_driver_sql("BEGIN IMMEDIATE")


def new_id(result: Rows) -> int:
    """The primary key a one-row INSERT just created."""
    key = result.inserted_primary_key
    assert key is not None, "no row was inserted"
    assert key[0] is not None, "no row was inserted"
    return int(key[0])
