"""Rows whose ids nobody reads at once (a ticket's audit line, its messages, its reminders,
the marks of messages sent) wait, and go to PostgreSQL together just before the
transaction's next statement or its commit, so that every read in the transaction still
sees them; a conversation's advisory lock goes with that statement too, and so do the
outbox's rows at the commit (numbered in their order, see `insert_in_order`).

Why: on PostgreSQL each statement is a round trip through asyncpg and SQLAlchemy (about a
quarter of a millisecond of the bot's CPU), and in a burst of new customers that CPU is what
every customer's acknowledgement waits for. On SQLite a statement is a call in the process:
rows are written at once, as before."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from sqlalchemy import (
    CTE,
    Connection,
    Executable,
    Insert,
    Table,
    Update,
    bindparam,
    insert,
    literal_column,
    select,
    text,
    union_all,
)
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncResult

from storage.engine import Conn, Rows
from storage.pg_direct import DirectStatements

T = TypeVar("T")

# a transaction advisory lock in a key space of its own (two int4 keys never meet the
# bigint keys of storage.leadership), freed when the transaction ends
CONVERSATION_LOCKS = 0x7375_7070  # "supp"
HOLD = text("SELECT pg_advisory_xact_lock(:space, hashtext(:key))")
Row = dict[str, Any]

# statements built for the combinations of tables met so far (a handful in practice)
_Shape = tuple[tuple[tuple[Insert, int, tuple[str, ...]], ...], Any]
_COMBINED: dict[_Shape, Executable] = {}
_COMBINED_MAX = 256
# rows that `insert_in_order` writes with the waiting ones (a new ticket writes three);
# more go in a statement of their own, as a statement holds at most 32767 parameters
_IN_ORDER_MAX = 16


class WriteBehind:
    """A connection whose `later` rows are written just before anything else it runs."""

    def __init__(self, conn: Conn, dialect: str, direct: DirectStatements | None = None) -> None:
        self._conn = conn
        # statements this process repeats go to asyncpg directly (storage.pg_direct)
        self._direct = direct if isinstance(conn, AsyncConnection) else None
        self._waiting = dialect == "postgresql"
        self._rows: list[tuple[Insert | Update, list[Row]]] = []
        self._held: str | None = None  # a conversation to lock before the next statement

    async def hold(self, key: str) -> None:
        """Lock conversation `key` (PostgreSQL's advisory lock) before the next statement,
        or within it: see `take_hold`."""
        if self._held is not None:  # one still to be locked is locked first, in order
            await self._lock(self._held)
        self._held = key

    def take_hold(self) -> str | None:
        """The conversation still to be locked; the caller's statement now locks it."""
        key, self._held = self._held, None
        return key

    async def later(self, statement: Insert | Update, rows: Row | Sequence[Row]) -> None:
        """Run `statement` for `rows` (one or several, of one shape) before the next
        statement runs: inserts of different tables in one statement, the same update for
        several rows in one executemany."""
        batch = [rows] if isinstance(rows, dict) else list(rows)
        if not batch:
            return
        if not self._waiting:
            await self._run(statement, batch[0] if len(batch) == 1 else batch)
            return
        if isinstance(statement, Update):
            last = self._rows[-1] if self._rows else None
            if last is not None and last[0] is statement and set(last[1][0]) == set(batch[0]):
                last[1].extend(batch)
                return
        # ids follow the order rows were written only statement by statement: a second
        # batch for a table already waiting goes after the first has been written
        elif any(waiting.table is statement.table for waiting, _ in self._rows):
            await self.flush()
        self._rows.append((statement, batch))

    async def flush(self) -> None:
        if (key := self.take_hold()) is not None:
            await self._lock(key)
        rows, self._rows = self._rows, []
        inserts = [(s, batch) for s, batch in rows if isinstance(s, Insert)]
        if len(inserts) == len(rows) > 1:
            await self._run(_combined(inserts), _parameters(inserts))
            return
        for statement, batch in rows:
            await self._run(statement, batch[0] if len(batch) == 1 else batch)

    async def insert_in_order(self, insert: Insert, rows: Sequence[Row]) -> list[int]:
        """Insert `rows` (of one shape) with ids in their order, and return the ids; on
        PostgreSQL in one statement with the rows waiting to be written."""
        assert self._waiting, "PostgreSQL only: SQLite reads its ids from last_insert_rowid"
        table = insert.table
        assert isinstance(table, Table)
        if len(rows) > _IN_ORDER_MAX:  # a statement of its own, batched by SQLAlchemy
            await self.flush()
            returning = insert.returning(table.c.id, sort_by_parameter_order=True)
            return [int(row[0]) for row in await self._run(returning, list(rows))]
        if (key := self.take_hold()) is not None:
            await self._lock(key)
        waiting = [(s, batch) for s, batch in self._rows if isinstance(s, Insert)]
        if len(waiting) < len(self._rows) or any(s.table is table for s, _ in waiting):
            await self.flush()
            waiting = []
        self._rows = []
        statement = _combined(waiting, (table, len(rows), tuple(rows[0])))
        values = _parameters(waiting) | {
            f"o_{i}_{name}": value for i, row in enumerate(rows) for name, value in row.items()
        }
        return [int(row[0]) for row in await self._run(statement, values)]

    async def _lock(self, key: str) -> None:
        self._held = None
        await self._run(HOLD, {"space": CONVERSATION_LOCKS, "key": key})

    async def execute(self, statement: Executable, parameters: Any = None) -> Rows:
        await self.flush()
        return await self._run(statement, parameters)

    async def _run(self, statement: Executable, parameters: Any = None) -> Rows:
        if self._direct is not None:
            assert isinstance(self._conn, AsyncConnection)
            done = await self._direct.execute(self._conn, statement, parameters)
            if done is not None:
                return done
        return await self._conn.execute(statement, parameters)

    @property
    def streams(self) -> bool:
        """Whether `stream` reads through a server-side cursor (PostgreSQL's connection)."""
        return isinstance(self._conn, AsyncConnection)

    async def stream(self, statement: Executable, parameters: Any = None) -> AsyncResult[Any]:
        """A server-side cursor's result, a slice per round trip (PostgreSQL only)."""
        await self.flush()
        assert isinstance(self._conn, AsyncConnection)
        return await self._conn.stream(statement, parameters)

    async def commit(self) -> None:
        await self.flush()
        await self._conn.commit()

    async def rollback(self) -> None:
        self._rows, self._held = [], None
        await self._conn.rollback()

    async def close(self) -> None:
        self._rows, self._held = [], None
        await self._conn.close()

    async def invalidate(self) -> None:
        await self._conn.invalidate()

    def in_transaction(self) -> bool:
        return bool(self._rows) or self._conn.in_transaction()

    async def run_sync(self, fn: Callable[[Connection], T]) -> T:
        await self.flush()
        return await self._conn.run_sync(fn)


def _combined(
    rows: list[tuple[Insert, list[Row]]], ordered: tuple[Table, int, tuple[str, ...]] | None = None
) -> Executable:
    """WITH w0 AS (INSERT ...), w1 AS (INSERT ...) SELECT 1: PostgreSQL runs every
    data-modifying WITH to completion, whether the SELECT reads it or not. With `ordered`
    (a table, a number of rows and their columns), those rows go in one INSERT whose ids
    follow the rows' order, and the statement returns the ids."""
    key = (tuple((insert, len(batch), tuple(batch[0])) for insert, batch in rows), ordered)
    statement = _COMBINED.get(key)
    if statement is None:
        # a row each: SQLAlchemy caches no multi-row VALUES, and compiling this anew
        # would cost more than the round trips it saves (a batch's own rows need no order)
        ctes = [
            insert.values(
                {
                    name: bindparam(f"w{n}_{i}_{name}", type_=insert.table.c[name].type)
                    for name in row
                }
            ).cte(f"w{n}_{i}")
            for n, (insert, batch) in enumerate(rows)
            for i, row in enumerate(batch)
        ]
        if ordered is None:
            statement = select(literal_column("1")).add_cte(*ctes)
        else:
            inserted = _in_order(*ordered)
            statement = select(inserted.c.id).order_by(inserted.c.id).add_cte(*ctes)
        if len(_COMBINED) >= _COMBINED_MAX:
            _COMBINED.clear()
        _COMBINED[key] = statement
    return statement


def _parameters(rows: list[tuple[Insert, list[Row]]]) -> Row:
    return {
        f"w{n}_{i}_{name}": value
        for n, (_insert, batch) in enumerate(rows)
        for i, row in enumerate(batch)
        for name, value in row.items()
    }


def _in_order(table: Table, count: int, names: tuple[str, ...]) -> CTE:
    """INSERT ... SELECT ... ORDER BY n: the sequence numbers the rows as they come sorted
    (sibling WITHs run in no defined order, and a conversation's messages go by id)."""
    rows = [
        select(
            literal_column(str(i)).label("n"),
            *(bindparam(f"o_{i}_{name}", type_=table.c[name].type).label(name) for name in names),
        )
        for i in range(count)
    ]
    source = (union_all(*rows) if count > 1 else rows[0]).subquery("o_rows")
    ordered = select(*(source.c[name] for name in names)).order_by(source.c.n)
    return insert(table).from_select(list(names), ordered).returning(table.c.id).cte("o")
