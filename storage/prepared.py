"""Statements on SQLite's hot path, compiled once and run straight on the sqlite3 driver.

Opening a ticket runs about a dozen statements. Through SQLAlchemy's execution machinery
each cost 15 to 45 µs of Python (compiled-cache lookup, execution context, result set-up),
while SQLite itself needs 2 to 5 µs. Repositories therefore send the statements they build
once at import through `Conn.write` (an INSERT or UPDATE read only for a count or a new id)
or `Conn.fetch` (rows read by column name). On SQLite these compile each statement once per
set of parameter names, keep the driver-level SQL and the column types' own bind and result
processors, and run it on the driver: the values stored and read are exactly SQLAlchemy's.
A statement that needs more (expanding IN lists, Python-side defaults, values not given as
parameters) takes the ordinary path.
"""

from __future__ import annotations

import sqlite3
from collections import namedtuple
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from operator import itemgetter
from typing import Any

from sqlalchemy import Connection, CursorResult, Integer, Select
from sqlalchemy.exc import DBAPIError
from sqlalchemy.sql import Executable
from sqlalchemy.sql.dml import Insert, Update

Rows = dict[str, Any] | list[dict[str, Any]]
Processor = Callable[[Any], Any]

_PLANS_LIMIT = 256  # statements are module constants; more than this means one is built per call


@dataclass(frozen=True, slots=True)
class Written:
    """What a write reports: rows affected, and the new row's id for a one-row INSERT."""

    rowcount: int
    new_id: int | None = None


def written(statement: Executable, params: Rows, result: CursorResult[Any]) -> Written:
    """A Written from SQLAlchemy's own result (PostgreSQL, and statements with no plan)."""
    one = isinstance(statement, Insert) and isinstance(params, dict) and result.rowcount == 1
    key = result.inserted_primary_key if one else None
    # a surrogate id, not a natural key such as (platform, user_id)
    new = key[0] if key is not None and len(key) == 1 else None
    return Written(result.rowcount, new if isinstance(new, int) else None)


class _Plan:
    def __init__(
        self,
        statement: Executable,
        sql: str,
        binds: Sequence[tuple[str, Processor | None]],
        returns_id: bool,
        columns: Sequence[tuple[str, Processor | None]],
    ) -> None:
        self.statement = statement  # held so its id() stays unique while the plan is cached
        self.sql = sql
        self.returns_id = returns_id  # an INSERT into a table keyed by one integer (the rowid)
        self._pick = itemgetter(*(name for name, _ in binds))
        self._single = len(binds) == 1
        self._convert = [(i, p) for i, (_, p) in enumerate(binds) if p is not None]
        # rows read by column name, like SQLAlchemy's Row
        self._row: Any = namedtuple("Row", [name for name, _ in columns]) if columns else None
        self._read = [(i, p) for i, (_, p) in enumerate(columns) if p is not None]

    def values(self, row: dict[str, Any]) -> list[Any]:
        """The row's values in the statement's order, as the column types store them."""
        picked = self._pick(row)
        values = [picked] if self._single else list(picked)
        for i, convert in self._convert:
            values[i] = convert(values[i])
        return values

    def rows(self, fetched: list[tuple[Any, ...]]) -> list[Any]:
        """Fetched tuples as rows read by column name, as the column types read them."""
        assert self._row is not None
        if not self._read:
            return [self._row._make(raw) for raw in fetched]
        out = []
        for raw in fetched:
            values = list(raw)
            for i, convert in self._read:
                values[i] = convert(values[i])
            out.append(self._row._make(values))
        return out


class SqlitePlans:
    """Plans per (statement, parameter names) for one engine's dialect."""

    def __init__(self) -> None:
        self._plans: dict[tuple[int, tuple[str, ...]], _Plan | None] = {}

    def write(self, conn: Connection, statement: Executable, params: Rows) -> Written:
        rows = params if isinstance(params, list) else [params]
        plan = self._plan(conn, statement, tuple(rows[0]), reading=False)
        if plan is None:
            return written(statement, params, conn.execute(statement, params))
        values = [plan.values(row) for row in rows]
        driver = _driver(conn)
        try:
            if len(values) > 1:
                return Written(driver.executemany(plan.sql, values).rowcount)
            cursor = driver.execute(plan.sql, values[0])
        except sqlite3.Error as error:
            raise _raised(conn, plan, values, error) from error
        one = plan.returns_id and cursor.rowcount == 1
        return Written(cursor.rowcount, cursor.lastrowid if one else None)

    def fetch(self, conn: Connection, statement: Executable, params: dict[str, Any]) -> list[Any]:
        plan = self._plan(conn, statement, tuple(params), reading=True)
        if plan is None:
            return list(conn.execute(statement, params).all())
        values = plan.values(params)
        driver = _driver(conn)
        try:
            fetched = driver.execute(plan.sql, values).fetchall()
        except sqlite3.Error as error:
            raise _raised(conn, plan, values, error) from error
        return plan.rows(fetched)

    def _plan(
        self, conn: Connection, statement: Executable, keys: tuple[str, ...], reading: bool
    ) -> _Plan | None:
        cache_key = (id(statement), keys)
        if cache_key in self._plans:
            return self._plans[cache_key]
        plan = _compile(conn, statement, keys, reading)
        if len(self._plans) < _PLANS_LIMIT:
            self._plans[cache_key] = plan
        return plan


def _driver(conn: Connection) -> sqlite3.Connection:
    """The driver connection, inside the connection's transaction."""
    if not conn.in_transaction():
        conn.begin()  # fires the engine's "begin" listener: BEGIN IMMEDIATE
    driver = conn.connection.dbapi_connection
    assert isinstance(driver, sqlite3.Connection)
    return driver


def _raised(conn: Connection, plan: _Plan, values: Any, error: sqlite3.Error) -> Exception:
    """The exception the ordinary path would raise (IntegrityError, OperationalError...)."""
    wrapped = DBAPIError.instance(plan.sql, values, error, sqlite3.Error, dialect=conn.dialect)
    assert isinstance(wrapped, Exception)
    return wrapped


def _compile(
    conn: Connection, statement: Executable, keys: tuple[str, ...], reading: bool
) -> _Plan | None:
    """None when the statement needs what only the ordinary path does."""
    if not isinstance(statement, Insert | Update | Select):
        return None
    dialect = conn.dialect
    compiled = statement.compile(dialect=dialect, column_keys=list(keys))
    names = compiled.positiontup or []
    if compiled.insert_prefetch or compiled.update_prefetch:
        return None  # Python-side defaults to compute
    if not names or not set(names) <= set(keys):
        return None  # a value the caller did not give: let SQLAlchemy say which
    binds = []
    for name in names:
        bind = compiled.binds[name]
        if bind.expanding:
            return None
        binds.append((name, bind.type.dialect_impl(dialect).bind_processor(dialect)))
    selected = statement.selected_columns if isinstance(statement, Select) else compiled.returning
    columns: list[tuple[str, Processor | None]] = [
        (str(column.key), column.type.dialect_impl(dialect).result_processor(dialect, None))
        for column in selected or []
    ]
    if reading != bool(columns) or len({name for name, _ in columns}) != len(columns):
        return None  # rows where none are read, or none where they are; or ambiguous names
    key = list(statement.table.primary_key) if isinstance(statement, Insert) else []
    returns_id = len(key) == 1 and isinstance(key[0].type, Integer)
    return _Plan(statement, compiled.string, binds, returns_id, columns)
