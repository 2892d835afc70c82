"""Writes on SQLite's hot path, compiled once and run straight on the sqlite3 driver.

Opening a ticket writes about ten rows. Through SQLAlchemy's execution machinery each write
cost 15 to 45 µs of Python (compiled-cache lookup, execution context, result set-up), while
SQLite itself needs 2 to 5 µs. Repositories therefore send the writes whose result they
only read for a row count or a new id through `Conn.write`. On SQLite that compiles each
statement once per set of parameter names, keeps the driver-level SQL and the column types'
own bind processors, and runs it on the driver; the values stored are exactly those
SQLAlchemy would store. Everything else (reads, RETURNING, expanding IN lists, statements
built per call) takes the ordinary path.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from operator import itemgetter
from typing import Any

from sqlalchemy import Connection, CursorResult, Integer
from sqlalchemy.exc import DBAPIError
from sqlalchemy.sql import Executable
from sqlalchemy.sql.dml import Insert, Update

Rows = dict[str, Any] | list[dict[str, Any]]

_PLANS_LIMIT = 256  # statements are module constants; more than this means one is built per call


@dataclass(frozen=True, slots=True)
class Written:
    """What a write reports: rows affected, and the new row's id for a one-row INSERT."""

    rowcount: int
    new_id: int | None = None


class _Plan:
    def __init__(
        self,
        statement: Executable,
        sql: str,
        returns_id: bool,
        binds: Sequence[tuple[str, Callable[[Any], Any] | None]],
    ) -> None:
        self.statement = statement  # held so its id() stays unique while the plan is cached
        self.sql = sql
        self.returns_id = returns_id  # an INSERT into a table keyed by one integer (the rowid)
        self._pick = itemgetter(*(name for name, _ in binds))
        self._single = len(binds) == 1
        self._convert = [(i, p) for i, (_, p) in enumerate(binds) if p is not None]

    def values(self, row: dict[str, Any]) -> list[Any]:
        """The row's values in the statement's order, as the column types store them."""
        picked = self._pick(row)
        values = [picked] if self._single else list(picked)
        for i, convert in self._convert:
            values[i] = convert(values[i])
        return values


class SqliteWriter:
    """Plans per (statement, parameter names) for one engine's dialect."""

    def __init__(self) -> None:
        self._plans: dict[tuple[int, tuple[str, ...]], _Plan | None] = {}

    def write(self, conn: Connection, statement: Executable, params: Rows) -> Written:
        rows = params if isinstance(params, list) else [params]
        plan = self._plan(conn, statement, tuple(rows[0]))
        if plan is None:
            return written(statement, params, conn.execute(statement, params))
        if not conn.in_transaction():
            conn.begin()  # fires the engine's "begin" listener: BEGIN IMMEDIATE
        driver = conn.connection.dbapi_connection
        assert driver is not None
        values = [plan.values(row) for row in rows]
        try:
            if len(values) == 1:
                cursor = driver.execute(plan.sql, values[0])
                one = plan.returns_id and cursor.rowcount == 1
                return Written(cursor.rowcount, cursor.lastrowid if one else None)
            cursor = driver.executemany(plan.sql, values)
            return Written(cursor.rowcount)
        except sqlite3.Error as error:  # the same exception types as the ordinary path
            raise DBAPIError.instance(
                plan.sql, values, error, sqlite3.Error, dialect=conn.dialect
            ) from error

    def _plan(self, conn: Connection, statement: Executable, keys: tuple[str, ...]) -> _Plan | None:
        cache_key = (id(statement), keys)
        if cache_key in self._plans:
            return self._plans[cache_key]
        plan = _compile(conn, statement, keys)
        if len(self._plans) < _PLANS_LIMIT:
            self._plans[cache_key] = plan
        return plan


def written(statement: Executable, params: Rows, result: CursorResult[Any]) -> Written:
    """A Written from SQLAlchemy's own result (PostgreSQL, and statements with no plan)."""
    one = isinstance(statement, Insert) and isinstance(params, dict) and result.rowcount == 1
    key = result.inserted_primary_key if one else None
    # a surrogate id, not a natural key such as (platform, user_id)
    new = key[0] if key is not None and len(key) == 1 else None
    return Written(result.rowcount, new if isinstance(new, int) else None)


def _compile(conn: Connection, statement: Executable, keys: tuple[str, ...]) -> _Plan | None:
    """None when the statement needs what only the ordinary path does."""
    if not isinstance(statement, Insert | Update):
        return None
    dialect = conn.dialect
    compiled = statement.compile(dialect=dialect, column_keys=list(keys))
    names = compiled.positiontup or []
    if compiled.returning or compiled.insert_prefetch or compiled.update_prefetch:
        return None  # rows to read back, or Python-side defaults to compute
    if not names or not set(names) <= set(keys):
        return None  # a value the caller did not give: let SQLAlchemy say which
    binds = []
    for name in names:
        bind = compiled.binds[name]
        if bind.expanding:
            return None
        binds.append((name, bind.type.dialect_impl(dialect).bind_processor(dialect)))
    key = list(statement.table.primary_key) if isinstance(statement, Insert) else []
    returns_id = len(key) == 1 and isinstance(key[0].type, Integer)
    return _Plan(statement, compiled.string, returns_id, binds)
