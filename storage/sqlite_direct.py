"""Writes that SQLite's driver runs without SQLAlchemy's execution machinery.

A new ticket is a dozen small inserts and updates, each a few microseconds of SQLite's own
work, and SQLAlchemy's execution around each costs several times that. So an INSERT, UPDATE
or DELETE that this process repeats goes to the driver as storage.direct says: the SQL and
what is stored are SQLAlchemy's. What that plan cannot do exactly, SQLAlchemy does:
RETURNING, Python-side column defaults, expanding IN, names that need escaping, callable
values."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Mapping
from typing import Any

from sqlalchemy import Dialect, Executable, Table
from sqlalchemy.exc import DBAPIError
from sqlalchemy.sql.dml import Insert, UpdateBase

from storage.direct import Habits, Slot, slots_of, values_for


class Plan:
    """One statement, compiled for one set of parameter keys."""

    def __init__(
        self, statement: UpdateBase, sql: str, slots: list[Slot], dialect: Dialect
    ) -> None:
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

    def run(
        self, driver: sqlite3.Connection, parameters: Mapping[str, Any] | list[Mapping[str, Any]]
    ) -> tuple[int, tuple[Any, ...] | None] | None:
        """(rows changed, the new row's primary key), or None: SQLAlchemy runs it instead."""
        if isinstance(parameters, Mapping):
            row = values_for(self._slots, parameters)
            if row is None:
                return None
            cursor = self._send(driver.execute, row)
            return cursor.rowcount, self._new_key(parameters, cursor.lastrowid)
        rows = []
        for each in parameters:
            values = values_for(self._slots, each)
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
    """Plans for the writes this process repeats."""

    def __init__(self, dialect: Dialect) -> None:
        self._dialect = dialect
        self._habits: Habits[Plan] = Habits(self._compiled)

    def plan(self, statement: Executable, parameters: Any) -> Plan | None:
        if not isinstance(statement, UpdateBase) or not parameters:
            return None
        return self._habits.plan(statement, parameters)

    def _compiled(self, statement: Executable, keys: list[str], many: bool) -> Plan | None:
        assert isinstance(statement, UpdateBase)
        compiled: Any = statement.compile(
            dialect=self._dialect, column_keys=keys, for_executemany=many
        )
        if (
            # the SQL itself: a statement made by .returning() from one compiled before may
            # carry that one's memoized (empty) list of returned columns
            " RETURNING " in compiled.string
            or compiled.effective_returning
            or compiled.insert_prefetch
            or compiled.update_prefetch
        ):
            return None
        slots = slots_of(compiled, self._dialect)
        return None if slots is None else Plan(statement, compiled.string, slots, self._dialect)
