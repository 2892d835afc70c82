"""The statements a test's code sent to the database, whichever way they went: through
SQLAlchemy, or directly to the driver (storage.sqlite_direct, storage.pg_direct)."""

from __future__ import annotations

import asyncio
from typing import Any

from sqlalchemy import event

from storage.engine import Database

_TRANSACTION = ("BEGIN", "COMMIT", "ROLLBACK")


class SentBySqlAlchemy:
    """The statements SQLAlchemy sent to the driver (a direct path sends none)."""

    def __init__(self, database: Database) -> None:
        self.statements: list[str] = []
        self._engine = database.sync_engine
        event.listen(self._engine, "before_cursor_execute", self._seen)

    def _seen(self, *args: Any) -> None:
        self.statements.append(args[2])

    def close(self) -> None:
        event.remove(self._engine, "before_cursor_execute", self._seen)


class SentToPostgresql(SentBySqlAlchemy):
    """Every statement sent to PostgreSQL by connections taken from the pool meanwhile:
    SQLAlchemy's, and those asyncpg ran for the direct path (its query log, which has
    SQLAlchemy's executemany too: counted once). BEGIN, COMMIT and ROLLBACK are not counted,
    as SQLAlchemy's events do not count them."""

    def __init__(self, database: Database) -> None:
        super().__init__(database)
        self.direct: list[str] = []
        self._logged_twice: list[str] = []
        event.listen(self._engine, "checkout", self._checked_out)
        event.listen(self._engine, "checkin", self._checked_in)

    def _seen(self, *args: Any) -> None:
        super()._seen(*args)
        if args[5]:  # executemany: asyncpg logs it as well
            self._logged_twice.append(args[2])

    def _checked_out(self, dbapi_connection: Any, *_: Any) -> None:
        dbapi_connection.driver_connection.add_query_logger(self._logged)

    def _checked_in(self, dbapi_connection: Any, *_: Any) -> None:
        if dbapi_connection is not None:
            dbapi_connection.driver_connection.remove_query_logger(self._logged)

    def _logged(self, record: Any) -> None:
        if record.query in self._logged_twice:
            self._logged_twice.remove(record.query)
        elif not record.query.lstrip().upper().startswith(_TRANSACTION):
            self.direct.append(record.query)

    @property
    def all(self) -> list[str]:
        return self.statements + self.direct

    async def settled(self) -> None:
        """asyncpg hands its log over on the loop's next turns."""
        for _ in range(3):
            await asyncio.sleep(0)

    def close(self) -> None:
        super().close()
        event.remove(self._engine, "checkout", self._checked_out)
        event.remove(self._engine, "checkin", self._checked_in)
