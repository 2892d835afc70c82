"""A statement's outcome as repositories read it (storage.engine.Rows), read entirely where
the statement ran: from SQLAlchemy's result, or from what a direct path came to."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import suppress
from typing import Any

from sqlalchemy import Row
from sqlalchemy.exc import InvalidRequestError


class Rows:
    """A statement's outcome, read entirely where the statement ran."""

    __slots__ = ("_rows", "inserted_primary_key", "rowcount")

    def __init__(self, result: Any) -> None:
        self.rowcount: int = result.rowcount
        self.inserted_primary_key: Any = None
        context = result.context
        if context.isinsert and not context.executemany:
            # PostgreSQL reads a new key back with an implicit RETURNING (rows, and a key);
            # an INSERT with a RETURNING of its own has rows and no key
            with suppress(InvalidRequestError):
                self.inserted_primary_key = result.inserted_primary_key
        self._rows: Sequence[Row[Any]] = result.all() if result.returns_rows else ()

    @classmethod
    def written(cls, rowcount: int, key: tuple[Any, ...] | None) -> Rows:
        """What a write sent to the driver directly came to (storage.sqlite_direct)."""
        return cls.of((), rowcount, key)

    @classmethod
    def of(cls, rows: Sequence[Any], rowcount: int, key: tuple[Any, ...] | None = None) -> Rows:
        """An outcome read without SQLAlchemy (storage.pg_direct: its rows and their count)."""
        outcome = cls.__new__(cls)
        outcome.rowcount, outcome.inserted_primary_key, outcome._rows = rowcount, key, rows
        return outcome

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


class Scalars:
    """The first column of each row."""

    def __init__(self, values: list[Any]) -> None:
        self._values = values

    def all(self) -> Sequence[Any]:
        return self._values

    def __iter__(self) -> Iterator[Any]:
        return iter(self._values)
