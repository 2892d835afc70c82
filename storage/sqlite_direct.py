"""Writes that SQLite's driver runs without SQLAlchemy's execution machinery.

A new ticket is a dozen small inserts and updates, each a few microseconds of SQLite's own
work, and SQLAlchemy's execution around each (the compiled cache's key, the parameters'
dictionary, the execution context, the result) costs several times that. In a burst of
customers that CPU is what the last of them waits for. So an INSERT, UPDATE or DELETE that
this process has run before (the same statement object, as the repositories keep theirs)
is compiled once by SQLAlchemy, for the keys it is given, and then sent to the driver with
its values put through the same type processors SQLAlchemy would use: the SQL and what is
stored are SQLAlchemy's. What that plan cannot do exactly, SQLAlchemy does: RETURNING,
Python-side column defaults, expanding IN, names that need escaping, callable values."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Mapping
from typing import Any

from sqlalchemy import Dialect, Executable, Table
from sqlalchemy.exc import DBAPIError
from sqlalchemy.sql.dml import Insert, UpdateBase

Processor = Callable[[Any], Any] | None
_MISSING = object()
# statement objects run once (kept, so that their ids cannot be taken by another) and plans;
# the repositories keep a few dozen statements; the statements built per call come and go
_LIMIT = 256


class _Slot:
    """Where a position's value comes from: the caller's parameter, or the statement's own."""

    __slots__ = ("default", "key", "name", "process")

    def __init__(self, key: str, name: str, default: Any, process: Processor) -> None:
        self.key, self.name, self.default, self.process = key, name, default, process


class Plan:
    """One statement, compiled for one set of parameter keys."""

    def __init__(
        self, statement: UpdateBase, sql: str, slots: list[_Slot], dialect: Dialect
    ) -> None:
        self.statement = statement  # kept: the plan is found by the statement's id
        self.sql = sql
        self._slots = slots
        self._dialect = dialect
        table = statement.table if isinstance(statement, Insert) else None
        self._key_columns: tuple[str, ...] = ()
        self._autoincrement: str | None = None
        if isinstance(table, Table):
            self._key_columns = tuple(c.key for c in table.primary_key.columns)
            auto = table.autoincrement_column
            self._autoincrement = auto.key if auto is not None else None

    def values(self, parameters: Mapping[str, Any]) -> list[Any] | None:
        """The values in their positions; None when one is missing or will not convert
        (a naive datetime, say): SQLAlchemy then runs the statement and says what is wrong."""
        row = []
        for slot in self._slots:
            value = parameters.get(slot.key, _MISSING)
            if value is _MISSING:
                value = parameters.get(slot.name, slot.default)
                if value is _MISSING:
                    return None
            if slot.process is not None:
                try:
                    value = slot.process(value)
                except Exception:
                    return None
            row.append(value)
        return row

    def run(
        self, driver: sqlite3.Connection, parameters: Mapping[str, Any] | list[Mapping[str, Any]]
    ) -> tuple[int, tuple[Any, ...] | None] | None:
        """(rows changed, the new row's primary key), or None: SQLAlchemy runs it instead."""
        if isinstance(parameters, Mapping):
            row = self.values(parameters)
            if row is None:
                return None
            cursor = self._send(driver.execute, row)
            return cursor.rowcount, self._new_key(parameters, cursor.lastrowid)
        rows = []
        for each in parameters:
            values = self.values(each)
            if values is None:
                return None
            rows.append(values)
        return self._send(driver.executemany, rows).rowcount, None

    def _send(self, method: Callable[[str, Any], sqlite3.Cursor], values: Any) -> sqlite3.Cursor:
        try:
            return method(self.sql, values)
        except sqlite3.Error as error:  # as SQLAlchemy would name it
            raise DBAPIError.instance(
                self.sql, values, error, sqlite3.Error, dialect=self._dialect
            ) from error

    def _new_key(self, given: Mapping[str, Any], last: int | None) -> tuple[Any, ...] | None:
        """As SQLAlchemy's `inserted_primary_key`: the values given, the new rowid for the
        rest."""
        if not self._key_columns:
            return None
        return tuple(
            last if name == self._autoincrement and given.get(name) is None else given.get(name)
            for name in self._key_columns
        )


class DirectWrites:
    """Plans for the writes this process repeats, per statement and set of keys."""

    def __init__(self, dialect: Dialect) -> None:
        self._dialect = dialect
        self._seen: dict[int, Executable] = {}
        self._plans: dict[tuple[int, tuple[str, ...], bool], Plan | None] = {}

    def plan(self, statement: Executable, parameters: Any) -> Plan | None:
        if not isinstance(statement, UpdateBase) or not parameters:
            return None
        many = not isinstance(parameters, Mapping)
        first = parameters[0] if many else parameters
        if not isinstance(first, Mapping):
            return None
        key = (id(statement), tuple(first), many)
        if key in self._plans:
            plan = self._plans[key]
            assert plan is None or plan.statement is statement
            return plan
        if self._seen.get(id(statement)) is not statement:
            # once is no habit: a statement built for one call would cost a compile each time
            if len(self._seen) >= _LIMIT:
                self._seen.clear()
            self._seen[id(statement)] = statement
            return None
        if len(self._plans) >= _LIMIT:
            self._plans.clear()
        found = self._plans[key] = _compiled(statement, sorted(first), many, self._dialect)
        return found


def _compiled(statement: UpdateBase, keys: list[str], many: bool, dialect: Dialect) -> Plan | None:
    compiled: Any = statement.compile(dialect=dialect, column_keys=keys, for_executemany=many)
    if (
        # the SQL itself: a statement made by .returning() from one compiled before may
        # carry that one's memoized (empty) list of returned columns
        " RETURNING " in compiled.string
        or compiled.effective_returning
        or compiled.insert_prefetch
        or compiled.update_prefetch
        or compiled.post_compile_params
        or compiled.literal_execute_params
        or compiled.escaped_bind_names
        or compiled.positiontup is None
    ):
        return None
    binds = {name: bind for bind, name in compiled.bind_names.items()}
    slots = []
    for name in compiled.positiontup:
        bind = binds[name]
        if bind.callable is not None:
            return None
        default = _MISSING if bind.required else bind.value
        process = bind.type.dialect_impl(dialect).bind_processor(dialect)
        slots.append(_Slot(bind.key, name, default, process))
    return Plan(statement, compiled.string, slots, dialect)
