"""Engines from DATABASE_URL: the async driver is picked for the user; SQLite runs in WAL
mode with writers serialized (BEGIN IMMEDIATE), so a read-then-write never deadlocks."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from sqlalchemy import event, make_url, text
from sqlalchemy.engine import URL
from sqlalchemy.exc import ArgumentError, DBAPIError, SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

_ASYNC_DRIVERS = {
    "sqlite": "sqlite+aiosqlite",
    "postgresql": "postgresql+asyncpg",
    "postgres": "postgresql+asyncpg",
}


class StorageUnavailable(Exception):
    """The database cannot be used; the message says which and what to check."""


def async_url(url: str) -> URL:
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise StorageUnavailable(
            f"DATABASE_URL is not a database URL: {url!r}. "
            "Use sqlite:///supportbot.db or postgresql://user@host:5432/dbname."
        ) from None
    backend = parsed.get_backend_name()
    if backend not in ("sqlite", "postgresql", "postgres"):
        raise StorageUnavailable(
            f"DATABASE_URL uses {backend!r}; supportbot supports sqlite and postgresql."
        )
    if "+" not in parsed.drivername:
        parsed = parsed.set(drivername=_ASYNC_DRIVERS[parsed.drivername])
    return parsed


def describe(url: URL) -> str:
    """The URL for logs and messages, without its password."""
    return url.render_as_string(hide_password=True)


def make_engine(url: str, **kwargs: Any) -> AsyncEngine:
    parsed = async_url(url)
    if parsed.get_backend_name() == "sqlite":
        _check_sqlite_path(parsed)
        engine = create_async_engine(parsed, **kwargs)
        _tune_sqlite(engine)
        return engine
    return create_async_engine(parsed, pool_pre_ping=True, **kwargs)


def _check_sqlite_path(url: URL) -> None:
    if not url.database or url.database == ":memory:":
        return
    folder = Path(url.database).expanduser().resolve().parent
    if not folder.is_dir():
        raise StorageUnavailable(
            f"DATABASE_URL points at {url.database!r}, but the folder {str(folder)!r} does not "
            "exist. Create it or choose another path."
        )
    if not os.access(folder, os.W_OK):
        raise StorageUnavailable(
            f"DATABASE_URL points at {url.database!r}, but the folder {str(folder)!r} is not "
            "writable. Fix its permissions or choose another path."
        )


def _tune_sqlite(engine: AsyncEngine) -> None:
    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # let SQLAlchemy, not the driver, decide when transactions begin
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        for pragma in (
            "journal_mode=WAL",
            "synchronous=NORMAL",
            "foreign_keys=ON",
            "busy_timeout=10000",
        ):
            cursor.execute(f"PRAGMA {pragma}")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(conn: Any) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE")


async def ping(engine: AsyncEngine) -> None:
    """Connect once; raise StorageUnavailable with a readable reason if that fails."""
    try:
        async with engine.connect() as conn:
            await conn.execute(text("SELECT 1"))
    except (OSError, SQLAlchemyError, DBAPIError) as error:
        raise StorageUnavailable(_reason(engine.url, error)) from error


def _reason(url: URL, error: BaseException) -> str:
    detail = str(getattr(error, "orig", None) or error).splitlines()[0]
    return f"cannot use the database at {describe(url)}: {detail}"
