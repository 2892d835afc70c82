"""SQLite through worker threads: SQLAlchemy's own synchronous engine, one hop per call.

aiosqlite hands each step of a statement (cursor, execute, fetch, close) to its thread and
back, and SQLAlchemy's async layer adds a greenlet switch to each; a new ticket cost about
4 ms of CPU that way. Here each call of the unit of work (a statement with its rows, a
commit) runs whole on a worker thread, SQLAlchemy's compiling and row processing included,
and the event loop only waits for the answer: half the CPU, and nothing on the loop. A
connection is used by one unit of work at a time, so which worker runs a call is immaterial
(`check_same_thread=False`).

SQLite lets one writer in at a time, and every transaction here begins with BEGIN IMMEDIATE.
Transactions of this process therefore take turns on an asyncio lock first: waiting for a
turn happens on the event loop, and the workers never sit in SQLite's busy handler waiting
for each other (four waiting workers would leave none for the transaction holding the lock).
A worker still waits there for *another* process's lock, which is what busy_timeout is for.
Likewise a unit of work waits on the loop for a pooled connection, so that no worker blocks
in the pool while the connections it waits for need a worker to finish."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from sqlalchemy import Connection, Engine, Executable, Row

T = TypeVar("T")
# a unit of work is sequential; several at once (a burst, the outbox, the tick) each get one
WORKERS = 4


class Rows:
    """A statement's outcome, read entirely on the worker thread."""

    __slots__ = ("_rows", "inserted_primary_key", "rowcount")

    def __init__(self, result: Any) -> None:
        self.rowcount: int = result.rowcount
        self.inserted_primary_key: Any = None
        if result.returns_rows:
            self._rows: Sequence[Row[Any]] = result.all()
        else:
            self._rows = ()
            context = result.context
            if context.isinsert and not context.executemany:
                self.inserted_primary_key = result.inserted_primary_key

    def first(self) -> Row[Any] | None:
        return self._rows[0] if self._rows else None

    def scalar(self) -> Any:
        return self._rows[0][0] if self._rows else None

    def scalar_one(self) -> Any:
        if len(self._rows) != 1:
            raise LookupError(f"expected one row, got {len(self._rows)}")
        return self._rows[0][0]

    def all(self) -> Sequence[Row[Any]]:
        return self._rows

    def scalars(self) -> Scalars:
        return Scalars([row[0] for row in self._rows])

    def __iter__(self) -> Iterator[Row[Any]]:
        return iter(self._rows)


class WriterTurns:
    """One transaction of this process at a time, in the order they asked."""

    def __init__(self) -> None:
        self._lock = asyncio.Lock()
        self._holder: asyncio.Task[Any] | None = None

    async def take(self) -> None:
        task = asyncio.current_task()
        if task is not None and task is self._holder:
            # it would wait for itself forever: a unit of work opened inside another
            raise RuntimeError("a second SQLite transaction in the task that holds one")
        await self._lock.acquire()
        self._holder = task

    def give_back(self) -> None:
        self._holder = None
        self._lock.release()


class Scalars:
    """The first column of each row."""

    def __init__(self, values: list[Any]) -> None:
        self._values = values

    def all(self) -> Sequence[Any]:
        return self._values

    def __iter__(self) -> Iterator[Any]:
        return iter(self._values)


class ThreadedConnection:
    def __init__(
        self,
        conn: Connection,
        workers: ThreadPoolExecutor,
        turns: WriterTurns,
        on_close: Callable[[], None],
    ) -> None:
        self._conn = conn
        self._workers = workers
        self._turns = turns
        self._turn = False
        self._on_close: Callable[[], None] | None = on_close

    async def _call(self, fn: Callable[[], T]) -> T:
        return await asyncio.get_running_loop().run_in_executor(self._workers, fn)

    async def _in_turn(self, fn: Callable[[], T]) -> T:
        """Run `fn`, which may begin a transaction: with this process's writer turn."""
        if not self._turn:
            await self._turns.take()
            self._turn = True
        try:
            return await self._call(fn)
        finally:
            self._end_turn_if_idle()

    def _end_turn_if_idle(self) -> None:
        if self._turn and not self._conn.in_transaction():
            self._turn = False
            self._turns.give_back()

    async def execute(self, statement: Executable, parameters: Any = None) -> Rows:
        return await self._in_turn(lambda: Rows(self._conn.execute(statement, parameters)))

    async def run_sync(self, fn: Callable[[Connection], T]) -> T:
        return await self._in_turn(lambda: fn(self._conn))

    async def commit(self) -> None:
        try:
            await self._call(self._conn.commit)
        finally:
            self._end_turn_if_idle()

    async def rollback(self) -> None:
        try:
            await self._call(self._conn.rollback)
        finally:
            self._end_turn_if_idle()

    async def close(self) -> None:
        try:
            await self._call(self._conn.close)
        finally:
            self._end_turn_if_idle()
            self._back_to_pool()

    async def invalidate(self) -> None:
        try:
            await self._call(self._conn.invalidate)
        finally:
            self._end_turn_if_idle()
            self._back_to_pool()

    def _back_to_pool(self) -> None:
        # the close is on its way to the worker even if this task was cancelled waiting for
        # it (the pool rolls back what is left): the turn and the slot go now, or a cancelled
        # unit of work would keep every other one waiting
        if self._turn:
            self._turn = False
            self._turns.give_back()
        if self._on_close is not None:
            self._on_close()
            self._on_close = None

    def in_transaction(self) -> bool:
        return self._conn.in_transaction()


class ThreadedEngine:
    def __init__(self, engine: Engine, connections: int) -> None:
        """`connections`: how many the engine's pool hands out at most."""
        self.sync_engine = engine
        self._workers = ThreadPoolExecutor(WORKERS, thread_name_prefix="sqlite")
        self._turns = WriterTurns()
        self._connections = asyncio.Semaphore(connections)

    async def connect(self) -> ThreadedConnection:
        await self._connections.acquire()
        loop = asyncio.get_running_loop()
        try:
            conn = await loop.run_in_executor(self._workers, self.sync_engine.connect)
        except BaseException:
            self._connections.release()
            raise
        return ThreadedConnection(conn, self._workers, self._turns, self._connections.release)

    async def dispose(self) -> None:
        await asyncio.get_running_loop().run_in_executor(self._workers, self.sync_engine.dispose)
        self._workers.shutdown(wait=False)
