"""Statements that asyncpg runs without SQLAlchemy's execution machinery (PostgreSQL).

A new ticket is half a dozen statements, and SQLAlchemy's async execution around each (the
greenlet, the compiled cache's key, the execution context, the result) costs the bot more
CPU than asyncpg's own round trip. So a statement that this process repeats goes to asyncpg
as storage.direct says, inside the transaction SQLAlchemy began: the SQL, the values bound
and the values read are SQLAlchemy's (its type processors, asyncpg's codecs that SQLAlchemy
set on the connection), and an error is the one SQLAlchemy would raise.

SQLAlchemy runs what a plan cannot do exactly: an INSERT whose new key SQLAlchemy would
fetch itself, Python-side column defaults, an INSERT for several rows, expanding IN, names
that need escaping, callable values, a column whose type converts by the driver's type."""

from __future__ import annotations

import re
from collections.abc import Sequence
from operator import itemgetter
from typing import Any

from sqlalchemy import Dialect, Executable, TextClause
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.sql.dml import Insert, UpdateBase
from sqlalchemy.sql.selectable import SelectBase

from storage.direct import Habits, Processor, Slot, slots_of, values_for
from storage.outcome import Rows

_COUNT = re.compile(r"(?:SELECT|UPDATE|DELETE|MERGE|INSERT \d+) (\d+)")
# asyncpg keeps a prepared statement only up to this size (its default); a longer one would
# be prepared again each time, a round trip that SQLAlchemy's own cache of them saves
_CACHEABLE = 15 * 1024


def _row_type(fields: Sequence[str]) -> type[tuple[Any, ...]]:
    """A tuple whose values are read by column name too (`row.id`, `row._mapping`)."""
    names = tuple(fields)
    members: dict[str, Any] = {
        name: property(itemgetter(i))
        for i, name in enumerate(names)
        if name.isidentifier() and not name.startswith("_")
    }
    members["__slots__"] = ()
    members["_fields"] = names
    members["_mapping"] = property(lambda row: dict(zip(names, row, strict=True)))
    return type("DirectRow", (tuple,), members)


class Plan:
    """One statement, compiled for one set of parameter keys."""

    def __init__(
        self,
        sql: str,
        slots: list[Slot],
        many: bool,
        fields: Sequence[str] | None,
        readers: list[Processor],
        dialect: Dialect,
    ) -> None:
        self.sql = sql
        self._slots = slots
        self._many = many
        self._readers = readers if any(readers) else None
        self._row = _row_type(fields) if fields is not None else None
        self._dialect = dialect

    async def run(self, conn: AsyncConnection, parameters: Any) -> Rows | None:
        """The outcome; None when SQLAlchemy must run it (a value that will not convert, a
        connection in autocommit)."""
        adapted = await _begun(conn, self._dialect)
        if adapted is None:
            return None
        driver = adapted.driver_connection
        if self._many:
            rows = [values_for(self._slots, each) for each in parameters]
            if any(row is None for row in rows):
                return None
            await self._send(adapted, driver.executemany, rows)
            return Rows.of((), -1)
        values = values_for(self._slots, parameters or {})
        if values is None:
            return None
        if self._row is None:
            status = await self._send(adapted, driver.execute, *values)
            counted = _COUNT.match(status or "")
            return Rows.of((), int(counted.group(1)) if counted else -1)
        records = await self._send(adapted, driver.fetch, *values)
        return Rows.of([self._read(record) for record in records], len(records))

    def _read(self, record: Any) -> Any:
        assert self._row is not None
        if self._readers is None:
            return self._row(record.values())
        return self._row(
            value if read is None or value is None else read(value)
            for read, value in zip(self._readers, record.values(), strict=True)
        )

    async def _send(self, adapted: Any, method: Any, *values: Any) -> Any:
        return await _translated(
            adapted, self._dialect, self.sql, values, method, self.sql, *values
        )


async def _begun(conn: AsyncConnection, dialect: Dialect) -> Any:
    """SQLAlchemy's adapter of the asyncpg connection, its transaction begun as SQLAlchemy
    begins one (the same call, asyncpg's BEGIN); None when it has none to begin (autocommit)
    or cannot be used (closed, invalidated: SQLAlchemy then says so)."""
    sync = conn.sync_connection
    if sync is None or sync.invalidated:
        return None
    if not sync.in_transaction():
        await conn.begin()  # SQLAlchemy's own record of it, as its autobegin would make
    try:
        adapted = sync.connection.dbapi_connection
    except Exception:
        return None
    if adapted is None or not hasattr(adapted, "_start_transaction"):
        return None
    if adapted._transaction is None:
        await _translated(adapted, dialect, "BEGIN", (), adapted._start_transaction)
    return adapted if adapted._transaction is not None else None


async def _translated(
    adapted: Any, dialect: Dialect, sql: str, values: Sequence[Any], call: Any, *args: Any
) -> Any:
    """`call(*args)`, its error the one SQLAlchemy would raise."""
    try:
        return await call(*args)
    except Exception as error:
        try:  # the DB-API error SQLAlchemy's adapter makes of it
            adapted._handle_exception(error)
        except dialect.loaded_dbapi.Error as translated:
            raise DBAPIError.instance(
                sql, values, translated, dialect.loaded_dbapi.Error, dialect=dialect
            ) from error
        raise


class DirectStatements:
    """Plans for the statements this process repeats on PostgreSQL."""

    def __init__(self, dialect: Dialect) -> None:
        self._dialect = dialect
        self._habits: Habits[Plan] = Habits(self._compiled)

    async def execute(
        self, conn: AsyncConnection, statement: Executable, parameters: Any
    ) -> Rows | None:
        """The outcome, or None: SQLAlchemy runs the statement instead."""
        plan = self._habits.plan(statement, parameters)
        return None if plan is None else await plan.run(conn, parameters)

    def _compiled(self, statement: Executable, keys: list[str], many: bool) -> Plan | None:
        if isinstance(statement, UpdateBase):
            if many and isinstance(statement, Insert):  # SQLAlchemy's "insertmanyvalues"
                return None
            compiled: Any = statement.compile(
                dialect=self._dialect, column_keys=keys, for_executemany=many
            )
            # a RETURNING SQLAlchemy added itself, to learn the new row's key
            implicit = compiled.effective_returning and not statement._returning
            if implicit or compiled.insert_prefetch or compiled.update_prefetch:
                return None
        elif isinstance(statement, SelectBase | TextClause) and not many:
            compiled = statement.compile(dialect=self._dialect)
        else:
            return None
        slots = slots_of(compiled, self._dialect)
        if slots is None or len(compiled.string) > _CACHEABLE:
            return None
        columns = compiled._result_columns
        if not columns:
            # a text may return rows that SQLAlchemy names; a statement made by .returning()
            # from one compiled before may carry that one's memoized (empty) list of columns
            if isinstance(statement, TextClause) or " RETURNING " in compiled.string:
                return None
            return Plan(compiled.string, slots, many, None, [], self._dialect)
        fields = [column[0] for column in columns]
        if many or len(set(fields)) != len(fields):
            return None
        readers: list[Processor] = []
        for column in columns:
            try:  # asyncpg's codecs convert most; a type that needs the driver's own does not
                readers.append(column[3]._cached_result_processor(self._dialect, None))
            except Exception:
                return None
        return Plan(compiled.string, slots, many, fields, readers, self._dialect)
