"""SQLite's one writer connection, and group commit.

Every unit of work of this process writes through one connection, in its writer turn
(storage.sqlite.WriterTurns), inside a SAVEPOINT of that connection's open transaction (the
first unit of a transaction needs none). With nobody waiting for the turn, a unit commits at
once, a transaction of its own. While others wait (a burst of customers), a unit that commits
releases its savepoint and hands the turn on: the transaction commits once for the group, when
GROUP_MAX units have joined or when a commit point, queued behind those waiting at the group's
start, gets the turn. Each unit's commit returns only then, or raises that COMMIT's error, so
nothing is acknowledged to a platform that is not in the database. A group writes each page
it touches to the WAL once: a new ticket touches some 35 pages (a leaf of every table and
index it writes), most of them the same as the ticket before it."""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING

from sqlalchemy import Connection, Engine
from sqlalchemy.exc import DBAPIError, OperationalError

if TYPE_CHECKING:  # that module builds on this one
    from storage.sqlite import WriterTurns

log = logging.getLogger(__name__)
GROUP_MAX = 16  # units whose writes one COMMIT may carry; the first waits for the others


# Where SQLite keeps a transaction's temporary data, above all the pages a unit's savepoint
# changes (for a rollback to it): some 35 for a new ticket, past the 64 KiB that SQLite keeps
# in memory before it opens a file for them, and a file for each unit cost more than the
# unit's inserts. So a unit's transaction keeps them in memory; a transaction begun by
# `run_sync` (a migration, whose journal may be as large as the table it rewrites) in files,
# SQLite's default, which the OS caches and may write out. Set between transactions only.
TEMP_IN_MEMORY = "MEMORY"
TEMP_IN_FILES = "DEFAULT"


def _locked(error: OperationalError) -> bool:
    return isinstance(error.orig, sqlite3.OperationalError) and "locked" in str(error.orig)


class _Group:
    """Units whose savepoints are released into the open transaction, waiting for its COMMIT."""

    def __init__(self) -> None:
        self.members = 0
        self.done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        # a member cancelled while it waits leaves the outcome unread: that is no error
        self.done.add_done_callback(lambda f: f.cancelled() or f.exception())


class Savepoint:
    """A unit's SAVEPOINT, said to SQLite itself: SQLAlchemy's begin_nested compiles a new
    savepoint name each time, a tenth of the CPU a new ticket's writes take. Units run one at
    a time, so one name serves. The first unit of a transaction takes none (`alone`): the
    transaction holds nobody else's writes, so undoing the transaction undoes the unit, and
    SQLite keeps no copy of the pages it changes for a rollback to the savepoint."""

    def __init__(self, conn: Connection, *, alone: bool = False) -> None:
        driver = conn.connection.driver_connection
        assert driver is not None, "a unit's savepoint is taken on an open connection"
        self._driver = driver
        self.alone = alone
        if not alone:
            _say(driver, "SAVEPOINT unit")

    def commit(self) -> None:
        if not self.alone:
            _say(self._driver, "RELEASE unit")

    def rollback(self) -> None:
        """Only the unit's writes are undone; a unit alone is undone with its transaction."""
        if not self.alone:
            _say(self._driver, "ROLLBACK TO unit")
            _say(self._driver, "RELEASE unit")


def _say(driver: sqlite3.Connection, sql: str) -> None:
    try:
        driver.execute(sql)
    except sqlite3.Error as error:  # as SQLAlchemy would name it
        raise DBAPIError.instance(sql, None, error, sqlite3.Error) from error


class Writer:
    """The connection every unit of work writes through, one unit at a time (in its turn)."""

    def __init__(
        self,
        engine: Engine,
        turns: WriterTurns,
        workers: ThreadPoolExecutor,
        lock_wait_ms: int,
        on_commit: Callable[[], None],
    ) -> None:
        self._engine = engine
        self._turns = turns
        self._workers = workers
        self._lock_wait_ms = lock_wait_ms
        self._on_commit = on_commit
        self._conn: Connection | None = None
        self._temp_store: str | None = None  # the connection's, as last set
        self._group: _Group | None = None
        self._commit_points: set[asyncio.Task[None]] = set()

    @property
    def conn(self) -> Connection:
        assert self._conn is not None, "the writer is used in a unit's turn only"
        return self._conn

    async def enter(self, *, bulk: bool = False) -> Savepoint:
        """A unit's savepoint, in the transaction (begun if need be); the turn is the unit's.
        `bulk`: a transaction it begins keeps its temporary data in files."""
        if self._conn is None:  # opening the file, and its pragmas, is a worker's
            loop = asyncio.get_running_loop()
            self._conn = await loop.run_in_executor(self._workers, self._engine.connect)
            self._temp_store = None
        if not self._conn.in_transaction():
            self._keep_temporary(TEMP_IN_FILES if bulk else TEMP_IN_MEMORY)
            await self._begin(self._conn)
            return Savepoint(self._conn, alone=True)
        return Savepoint(self._conn)

    def _keep_temporary(self, where: str) -> None:
        if self._temp_store != where:
            driver = self.conn.connection.driver_connection
            assert driver is not None
            _say(driver, f"PRAGMA temp_store={where}")
            self._temp_store = where

    async def _begin(self, conn: Connection) -> None:
        try:
            conn.begin()  # BEGIN IMMEDIATE; busy_timeout is 0 here: it never waits
        except OperationalError as error:
            if not _locked(error):
                raise
            loop = asyncio.get_running_loop()  # another process holds the lock: a worker waits
            await loop.run_in_executor(self._workers, self._begin_waiting, conn)

    def _begin_waiting(self, conn: Connection) -> None:
        raw = conn.connection.dbapi_connection
        assert raw is not None
        raw.execute(f"PRAGMA busy_timeout={self._lock_wait_ms}")
        try:
            conn.begin()
        finally:
            raw.execute("PRAGMA busy_timeout=0")

    async def commit(self, unit: Savepoint) -> None:
        """The unit's writes, committed (alone, or with its group); the turn is handed on."""
        try:
            unit.commit()  # RELEASE SAVEPOINT
        except BaseException as error:
            self._abandon(error)
            raise
        group = self._group
        if group is None and not self._turns.waiting:
            await self._let_others_queue()
        if group is None and not self._turns.waiting:
            self._commit(None)  # nobody waits: a transaction of its own, as on a calm day
            return
        if group is None:
            group = self._group = _Group()
            point = asyncio.create_task(self._commit_point(group))
            self._commit_points.add(point)
            point.add_done_callback(self._commit_points.discard)
        group.members += 1
        if group.members >= GROUP_MAX:
            self._commit(group)
            return
        self._turns.give_back()
        await asyncio.shield(group.done)  # its outcome is every member's

    async def _let_others_queue(self) -> None:
        """One turn of the event loop before a unit commits alone: units made ready in the
        same turn (a burst's lookups answered together) ask for the writer meanwhile and share
        this COMMIT, which writes every page the transaction changed to the WAL (some 35 for
        a new ticket). A unit's statements never wait, so without this they would meet only
        behind a worker's read."""
        try:
            await asyncio.sleep(0)
        except BaseException:  # cancelled: nobody else's writes are in the transaction
            try:
                self.conn.rollback()
            except BaseException as error:
                self._abandon(error)
                raise
            self._turns.give_back()
            raise

    def rollback(self, unit: Savepoint) -> None:
        """The unit's writes undone, its group's kept; the turn is handed on. No await in it:
        a unit cancelled as it ends still gives the turn back."""
        try:
            unit.rollback()  # ROLLBACK TO SAVEPOINT
        except BaseException as error:
            self._abandon(error)
            raise
        if self._group is not None:  # the group's writes wait for its commit point
            self._turns.give_back()
            return
        try:
            self.conn.rollback()  # nobody else's writes are in it: the transaction ends
        except BaseException as error:
            self._abandon(error)
            raise
        self._turns.give_back()

    def invalidate(self, error: BaseException) -> None:
        """The connection failed under a unit: its group fails, and a new one is opened."""
        self._fail(error)
        if self._conn is not None:
            self._conn.invalidate()
            self._conn = None
        self._turns.give_back()

    async def _commit_point(self, group: _Group) -> None:
        """Queued behind the units waiting when the group began: commits what joined."""
        await self._turns.take()
        if self._group is not group:  # committed already (it filled up) or failed
            self._turns.give_back()
            return
        try:
            self._commit(group)
        except Exception:  # the members raise it
            log.debug("sqlite: a group's commit failed", exc_info=True)

    def _commit(self, group: _Group | None) -> None:
        """COMMIT the transaction, in the turn; the group hears how it went; the turn goes."""
        if group is not None and self._group is group:
            self._group = None
        try:
            self.conn.commit()  # appends to the WAL: no fsync, no checkpoint here
        except BaseException as error:
            self._fail(error, group)
            self._reset()
            raise
        finally:
            self._turns.give_back()
        self._on_commit()
        if group is not None:
            group.done.set_result(None)

    def _abandon(self, error: BaseException) -> None:
        """A savepoint could not be released or rolled back: the transaction is in doubt, so
        all of it goes, and the group waiting on it hears why."""
        self._fail(error)
        self._reset()
        self._turns.give_back()

    def _fail(self, error: BaseException, group: _Group | None = None) -> None:
        group = group or self._group
        self._group = None
        if group is not None and not group.done.done():
            group.done.set_exception(error)

    def _reset(self) -> None:
        if self._conn is None:
            return
        try:
            self._conn.rollback()
            raw = self._conn.connection.dbapi_connection
            if raw is not None and raw.in_transaction:  # over for SQLAlchemy, not for SQLite
                raw.execute("ROLLBACK")
        except Exception:  # unusable: the next unit opens a new one
            self._conn.invalidate()
            self._conn = None

    async def close(self) -> None:
        """After the last unit: commit points still queued run, then the connection goes."""
        while self._commit_points:
            await asyncio.gather(*self._commit_points, return_exceptions=True)
        if self._conn is not None:
            self._conn.close()  # back to the pool (a rollback first if one is open)
            self._conn = None
