"""SQLite for an event loop: quick statements on the loop, anything that can wait on workers.

SQLite lets one writer in at a time, and every transaction here begins with BEGIN IMMEDIATE,
so transactions of this process take turns on an asyncio lock (`WriterTurns`): waiting for
a turn happens on the event loop, never in SQLite's busy handler.

Once a transaction holds the write lock, its inserts, updates and key lookups cannot wait
for anything (in WAL mode readers never block a writer) and each takes a fraction of a
millisecond, less than a hop to a worker thread and back; in a burst, when the loop is busy,
such a hop costs several times the statement (the worker waits for the GIL the loop holds),
and every other transaction of the process waits behind it for the writer turn. So they run
on the loop. What can wait runs on worker threads, where waiting freezes nothing:
- BEGIN IMMEDIATE while another process holds the write lock: tried on the loop without
  waiting (busy_timeout is 0), then on a worker that waits up to the lock timeout;
- reads that scan (the digest, lists, the outbox's claim): every SELECT not marked `quick`,
  and every update or delete marked `scan`;
- opening a connection, and `run_sync` (migrations);
- checkpoints: a commit on the loop only appends to the WAL (synchronous=NORMAL), while
  copying the WAL back into the database (and its fsync) is left to a worker every
  CHECKPOINT_EVERY commits instead of SQLite's automatic checkpoint inside a commit.

Every unit of work writes through the one writer connection (storage.sqlite_writer), which
commits a burst's units in groups. A connection is used by one unit at a time, so which
thread runs a call is immaterial (`check_same_thread=False`). Reads in snapshots take
connections of their own from the pool, waiting on the loop for one, so that no worker blocks
in the pool while the connections it waits for need a worker to finish."""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import suppress
from typing import Any, TypeVar

from sqlalchemy import Connection, Engine, Executable

from storage.outcome import Rows
from storage.sqlite_direct import DirectWrites
from storage.sqlite_writer import Savepoint, Writer

T = TypeVar("T")
log = logging.getLogger(__name__)
# what waits: a BEGIN behind another process's lock, a scan, a checkpoint, a connect
WORKERS = 4
CHECKPOINT_EVERY = 200  # commits; SQLite's own automatic checkpoint comes every ~1000 pages
QUICK = "supportbot_quick"
SNAPSHOT = "supportbot_snapshot"  # a read-only transaction: BEGIN, not BEGIN IMMEDIATE


def quick(statement: T) -> T:
    """Mark a SELECT as a lookup by key, cheap enough to run on the event loop."""
    return statement.execution_options(**{QUICK: True})  # type: ignore[attr-defined, no-any-return]


def scan(statement: T) -> T:
    """Mark an update or delete that reads more than a key's rows: a worker's."""
    return statement.execution_options(**{QUICK: False})  # type: ignore[attr-defined, no-any-return]


def _on_loop(statement: Executable) -> bool:
    # an insert, update or delete is by key here (quick) unless marked as a scan
    default = bool(getattr(statement, "is_dml", False))
    return bool(statement.get_execution_options().get(QUICK, default))


class WriterTurns:
    """One transaction of this process at a time, in the order they asked."""

    def __init__(self) -> None:
        self._lock = asyncio.Lock()
        self._holder: asyncio.Task[Any] | None = None
        self.waiting = 0  # asking for a turn now

    async def take(self) -> None:
        task = asyncio.current_task()
        if task is not None and task is self._holder:
            # it would wait for itself forever: a unit of work opened inside another
            raise RuntimeError("a second SQLite transaction in the task that holds one")
        self.waiting += 1
        try:
            await self._lock.acquire()
        finally:
            self.waiting -= 1
        self._holder = task

    def give_back(self) -> None:
        self._holder = None
        self._lock.release()


class SqliteConnection:
    """A unit of work's connection: the process's writer (storage.sqlite_writer), from the
    unit's first statement to its commit or rollback, in the unit's turn and savepoint."""

    def __init__(self, engine: SqliteEngine) -> None:
        self._engine = engine
        self._unit: Savepoint | None = None

    async def _call(self, fn: Callable[[], T]) -> T:
        return await asyncio.get_running_loop().run_in_executor(self._engine.workers, fn)

    async def _in_turn(
        self, fn: Callable[[Connection], T], *, on_loop: bool, bulk: bool = False
    ) -> T:
        """Run `fn` in this unit's turn and savepoint, taken with its first statement."""
        writer = self._engine.writer
        if self._unit is None:
            await self._engine.turns.take()
            try:
                self._unit = await writer.enter(bulk=bulk)
            except BaseException:
                self._engine.turns.give_back()
                raise
        conn = writer.conn
        return fn(conn) if on_loop else await self._call(lambda: fn(conn))

    async def execute(self, statement: Executable, parameters: Any = None) -> Rows:
        return await self._in_turn(
            lambda conn: self._run(conn, statement, parameters), on_loop=_on_loop(statement)
        )

    def _run(self, conn: Connection, statement: Executable, parameters: Any) -> Rows:
        plan = self._engine.direct.plan(statement, parameters)
        if plan is not None and (driver := conn.connection.driver_connection) is not None:
            written = plan.run(driver, parameters)
            if written is not None:
                return Rows.written(*written)
        return Rows(conn.execute(statement, parameters))

    async def run_sync(self, fn: Callable[[Connection], T]) -> T:
        return await self._in_turn(fn, on_loop=False, bulk=True)

    async def commit(self) -> None:
        if self._unit is not None:
            unit, self._unit = self._unit, None
            await self._engine.writer.commit(unit)

    async def rollback(self) -> None:
        self._end()

    async def close(self) -> None:
        self._end()  # what was not committed goes

    def _end(self) -> None:
        if self._unit is not None:
            unit, self._unit = self._unit, None
            self._engine.writer.rollback(unit)

    async def invalidate(self) -> None:
        if self._unit is not None:
            self._unit = None
            self._engine.writer.invalidate(ConnectionError("the SQLite connection failed"))

    def in_transaction(self) -> bool:
        return self._unit is not None


class SqliteEngine:
    def __init__(self, engine: Engine, connections: int, lock_wait: float, path: str) -> None:
        """`connections`: how many the engine's pool hands out at most; `lock_wait`: seconds
        a transaction waits for another process's write lock; `path`: the database file, or
        "" in memory (no WAL to checkpoint)."""
        self.sync_engine = engine
        self.workers = ThreadPoolExecutor(WORKERS, thread_name_prefix="sqlite")
        self.turns = WriterTurns()
        self.lock_wait_ms = int(lock_wait * 1000)
        self.writer = Writer(engine, self.turns, self.workers, self.lock_wait_ms, self.committed)
        self.direct = DirectWrites(engine.dialect)
        self._path = path
        # the pool's others are for reads in snapshots; the writer keeps one for itself
        self._connections = asyncio.Semaphore(max(1, connections - 1))
        self._commits = 0
        self._checkpointer: sqlite3.Connection | None = None
        self._checkpoint: asyncio.Future[None] | None = None

    async def connect(self) -> SqliteConnection:
        return SqliteConnection(self)  # the writer is taken with the unit's first statement

    async def snapshot(self, read: Callable[[Connection], T]) -> T:
        """`read` in a read transaction on a worker: outside the writer turns, and in WAL
        mode without any lock, so the desk writes on while it reads."""
        await self._connections.acquire()  # on the loop: no worker waits in the pool
        try:
            loop = asyncio.get_running_loop()
            return await loop.run_in_executor(self.workers, self._read, read)
        finally:
            self._connections.release()

    def _read(self, read: Callable[[Connection], T]) -> T:
        snapshot = self.sync_engine.connect().execution_options(**{SNAPSHOT: True})
        with snapshot as conn, conn.begin():
            return read(conn)

    def committed(self) -> None:
        self._commits += 1
        if self._path and self._commits % CHECKPOINT_EVERY == 0 and self._checkpoint is None:
            self._checkpoint = asyncio.get_running_loop().run_in_executor(
                self.workers, self._copy_back
            )
            self._checkpoint.add_done_callback(self._checkpointed)

    def _copy_back(self) -> None:
        # PASSIVE: copies what no reader still needs, never waits, never blocks a writer
        if self._checkpointer is None:
            self._checkpointer = sqlite3.connect(self._path, check_same_thread=False)
        self._checkpointer.execute("PRAGMA wal_checkpoint(PASSIVE)")

    def _checkpointed(self, done: asyncio.Future[None]) -> None:
        self._checkpoint = None
        if not done.cancelled() and done.exception() is not None:
            # SQLite checkpoints by itself when the last connection closes: nothing is lost
            log.warning("sqlite: checkpoint failed: %s", done.exception())

    async def dispose(self) -> None:
        await self.writer.close()
        if self._checkpoint is not None:
            with suppress(Exception):
                await self._checkpoint
        await asyncio.get_running_loop().run_in_executor(self.workers, self._dispose)
        self.workers.shutdown(wait=False)

    def _dispose(self) -> None:
        self.sync_engine.dispose()
        if self._checkpointer is not None:
            self._checkpointer.close()
            self._checkpointer = None
