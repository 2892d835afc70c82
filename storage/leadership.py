"""Roles that one process of several holds at a time, by PostgreSQL advisory locks.

Several `supportbot run` processes may share one PostgreSQL database, but a bot has one
Discord gateway connection: two would take every message in twice. The process that holds a
session-level advisory lock (`GATEWAY_LOCK`) holds the role; the others stand by and try
again every few seconds.

The lock lives on a connection of its own, never one of the pool that units of work share: a
session lock belongs to its connection, and the pool hands connections to other work and
closes them when it likes. PostgreSQL frees the lock when that session ends: the holder
stops, is killed (the kernel closes its socket), or its host goes silent (the TCP keepalives
set below end the session). A holder whose connection fails while it runs can no longer vouch
for the lock, so `watch()` returns and the caller gives the role up. It notices within two
checks; the server, when the network went silent, waits at least three keepalive intervals
more than that, so the role is not held twice.

On SQLite nothing is shared: `supportbot run` refuses a second process on the same file
(run_lock), so the process always holds every role (`SoleLock`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
from dataclasses import dataclass
from typing import Any, Protocol

import asyncpg
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.pool import NullPool

from storage.engine import (
    APPLICATION_PREFIX,
    Conn,
    Database,
    StorageUnavailable,
    label_of,
    process_label,
    resolve_url,
)

log = logging.getLogger(__name__)

# supportbot's advisory lock keys ("supp" and a number), one per role, per database
GATEWAY_LOCK = 0x7375_7070_0000_0001  # the Discord gateway connection (session-level)
MIGRATION_LOCK = 0x7375_7070_0000_0002  # Alembic upgrades (transaction-level)

# what a broken or silent connection raises, through SQLAlchemy or straight from asyncpg
_FAILURES = (OSError, TimeoutError, SQLAlchemyError, asyncpg.PostgresError, asyncpg.InterfaceError)

# pg_locks shows a bigint key as classid (high half) and objid (low half), objsubid 1
_HOLDER = text(
    "SELECT a.application_name, l.pid FROM pg_locks l "
    "LEFT JOIN pg_stat_activity a ON a.pid = l.pid "
    "WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 1 "
    "AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database()) "
    "AND l.classid::bigint = :high AND l.objid::bigint = :low"
)
_PROCESSES = text(
    "SELECT DISTINCT application_name FROM pg_stat_activity "
    "WHERE datname = current_database() AND application_name LIKE :prefix"
)


class RoleLock(Protocol):
    """A role one process holds at a time."""

    async def try_acquire(self) -> bool:
        """Take the role if nobody holds it; True while this process holds it. Raises
        StorageUnavailable when the database cannot be asked (then nobody here holds it)."""
        ...

    async def holder(self) -> str | None:
        """Who holds the role ("host:pid"), or None when nobody does or it cannot be told."""
        ...

    async def watch(self) -> str:
        """While holding: returns, with the reason, once the role can no longer be vouched
        for; by then it is let go."""
        ...

    async def release(self) -> None:
        """Let the role go now (a standby takes over without waiting for a timeout)."""
        ...


class SoleLock:
    """SQLite: one running process per database file, so it holds every role."""

    async def try_acquire(self) -> bool:
        return True

    async def holder(self) -> str | None:
        return process_label()

    async def watch(self) -> str:
        never: asyncio.Future[str] = asyncio.get_running_loop().create_future()
        return await never

    async def release(self) -> None:
        return None


class AdvisoryLock:
    """A PostgreSQL session-level advisory lock, on a connection of its own.

    `check_seconds` is how often a holder makes sure its connection still answers (and how
    long it waits for the answer)."""

    def __init__(self, database_url: str, key: int, *, check_seconds: float = 5.0) -> None:
        self.key = key
        self.check_seconds = check_seconds
        every = str(max(1, math.ceil(check_seconds)))
        keepalives = {
            "tcp_keepalives_idle": every,
            "tcp_keepalives_interval": every,
            "tcp_keepalives_count": "3",
        }
        # NullPool: the connection is made for us alone and really closed when we close it
        self._database = Database(
            database_url, poolclass=NullPool, connect_args={"server_settings": keepalives}
        )
        self._conn: AsyncConnection | None = None
        self._driver: Any = None  # the asyncpg connection under _conn
        self._lost = asyncio.Event()
        self.held = False

    async def try_acquire(self) -> bool:
        if self.held:
            return True
        try:
            driver = await self._connected()
            async with asyncio.timeout(self._patience):
                self.held = bool(await driver.fetchval("SELECT pg_try_advisory_lock($1)", self.key))
        except _FAILURES as error:
            await self._drop()
            raise StorageUnavailable(_reason(error)) from error
        return self.held

    async def holder(self) -> str | None:
        try:
            async with asyncio.timeout(self._patience), self._database.begin() as conn:
                return await holder_of(conn, self.key)
        except _FAILURES:
            return None

    async def watch(self) -> str:
        driver, lost = self._driver, self._lost
        assert self.held, "watch() is for the holder"
        assert driver is not None
        while True:
            try:
                async with asyncio.timeout(self.check_seconds):
                    await lost.wait()
                reason = "its database connection closed"
                break
            except TimeoutError:
                pass
            try:
                async with asyncio.timeout(self.check_seconds):
                    await driver.fetchval("SELECT 1")
            except TimeoutError:
                reason = f"its database connection did not answer in {self.check_seconds:g} s"
                break
            except _FAILURES as error:
                reason = f"its database connection failed: {_reason(error)}"
                break
        await self._drop()
        return reason

    async def release(self) -> None:
        """Close the lock's connection (the session ends, and the lock with it)."""
        conn = self._conn
        if conn is None:
            return
        try:
            async with asyncio.timeout(self._patience):
                await conn.close()
            self._conn = self._driver = None
            self.held = False
        except _FAILURES:
            await self._drop()
        await self._database.dispose()

    @property
    def _patience(self) -> float:
        return max(self.check_seconds, 5.0)

    async def _connected(self) -> Any:
        if self._driver is not None and not self._driver.is_closed():
            return self._driver
        await self._drop()
        async with asyncio.timeout(self._patience):
            conn = await self._database.connect()
            assert isinstance(conn, AsyncConnection)
            try:
                raw = await conn.get_raw_connection()
            except BaseException:
                await conn.invalidate()
                raise
        self._conn, self._driver = conn, raw.driver_connection
        # asyncpg calls this as soon as the socket closes, rather than at our next query
        lost = self._lost = asyncio.Event()
        self._driver.add_termination_listener(lambda _connection: lost.set())
        return self._driver

    async def _drop(self) -> None:
        """Abandon the connection without a goodbye: the network may be what failed."""
        conn, driver = self._conn, self._driver
        self._conn = self._driver = None
        self.held = False
        if driver is not None:
            driver.terminate()
        if conn is not None:
            with contextlib.suppress(*_FAILURES):
                await conn.invalidate()


def role_lock(database_url: str, key: int, *, check_seconds: float = 5.0) -> RoleLock:
    """An advisory lock on PostgreSQL; on SQLite, where one process runs, the whole role."""
    if resolve_url(database_url).get_backend_name() == "postgresql":
        return AdvisoryLock(database_url, key, check_seconds=check_seconds)
    return SoleLock()


async def holder_of(conn: Conn, key: int) -> str | None:
    row = (await conn.execute(_HOLDER, {"high": key >> 32, "low": key & 0xFFFF_FFFF})).first()
    if row is None:
        return None
    return (
        label_of(row.application_name or "")
        or f"a session that is not supportbot's (pid {row.pid})"
    )


@dataclass(frozen=True)
class Workers:
    """The supportbot processes connected to a PostgreSQL database, as `check` shows them."""

    processes: tuple[str, ...]  # "host:pid" of each, this one left out
    gateway: str | None  # who holds the Discord gateway


async def workers(database: Database) -> Workers:
    async with database.begin() as conn:
        rows = await conn.execute(_PROCESSES, {"prefix": APPLICATION_PREFIX + "%"})
        labels = {label_of(r.application_name) for r in rows} - {None, process_label()}
        gateway = await holder_of(conn, GATEWAY_LOCK)
    return Workers(tuple(sorted(label for label in labels if label)), gateway)


def _reason(error: BaseException) -> str:
    if isinstance(error, TimeoutError):
        return "no answer in time"
    detail = str(getattr(error, "orig", None) or error).strip().splitlines()
    return detail[0] if detail else type(error).__name__
