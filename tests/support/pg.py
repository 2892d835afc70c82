"""Throwaway PostgreSQL databases, one per process under test.

The admin connection goes to `tests.conftest.POSTGRES_URL` (by default
postgresql://postgres@127.0.0.1:5432/test, trust auth), where CREATE DATABASE runs.
"""

from __future__ import annotations

import contextlib
import os
import re
import uuid
from collections.abc import AsyncIterator

import asyncpg
import pytest
from sqlalchemy.engine import make_url

from tests.conftest import IN_CI, POSTGRES_URL

__all__ = [
    "database_url",
    "drop_database",
    "fresh_database",
    "postgres_available",
    "required_database",
    "temporary_database",
    "with_port",
]


def database_url(name: str, *, port: int | None = None) -> str:
    """postgresql:// URL of database `name` on the test server (or on 127.0.0.1:`port`)."""
    url = make_url(POSTGRES_URL).set(drivername="postgresql", database=name)
    if port is not None:
        url = url.set(host="127.0.0.1", port=port)
    return url.render_as_string(hide_password=False)


def with_port(url: str, port: int) -> str:
    """The same URL, pointed at 127.0.0.1:`port` (a TcpProxy in front of the server)."""
    return make_url(url).set(host="127.0.0.1", port=port).render_as_string(hide_password=False)


def _admin_dsn() -> str:
    return make_url(POSTGRES_URL).set(drivername="postgresql").render_as_string(False)


async def postgres_available() -> str | None:
    """None when the test server answers, else why not (for pytest.skip / pytest.fail)."""
    try:
        conn = await asyncpg.connect(_admin_dsn(), timeout=5)
    except (OSError, asyncpg.PostgresError, TimeoutError) as error:
        return f"PostgreSQL not reachable at {POSTGRES_URL}: {error!r}"
    await conn.close()
    return None


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


async def fresh_database(name_prefix: str) -> str:
    """Create an empty, uniquely named database; return its postgresql:// URL."""
    prefix = re.sub(r"[^a-z0-9_]", "_", name_prefix.lower()).strip("_") or "db"
    suffix = f"_{os.getpid()}_{uuid.uuid4().hex[:10]}"
    name = prefix[: 63 - len(suffix)] + suffix
    conn = await asyncpg.connect(_admin_dsn(), timeout=10)
    try:
        await conn.execute(f"CREATE DATABASE {_quote(name)}")
    finally:
        await conn.close()
    return database_url(name)


async def drop_database(name: str) -> None:
    """Drop a database made by `fresh_database` (its name or URL), even with clients left on it.

    WITH (FORCE) ends the sessions still open on it, such as those of a killed process
    whose backends have not noticed yet.
    """
    if "://" in name:
        name = make_url(name).database or ""
    if not name:
        raise ValueError("no database name")
    conn = await asyncpg.connect(_admin_dsn(), timeout=10)
    try:
        await conn.execute(f"DROP DATABASE IF EXISTS {_quote(name)} WITH (FORCE)")
    finally:
        await conn.close()


@contextlib.asynccontextmanager
async def temporary_database(name_prefix: str) -> AsyncIterator[str]:
    """`fresh_database` for the length of a block, dropped afterwards."""
    url = await fresh_database(name_prefix)
    try:
        yield url
    finally:
        await drop_database(url)


@contextlib.asynccontextmanager
async def required_database(prefix: str) -> AsyncIterator[str]:
    """A fresh database, dropped afterwards; without a server the test is skipped, except
    in CI, where that is a failure: PostgreSQL suites always run there."""
    reason = await postgres_available()
    if reason is not None:
        if IN_CI:
            pytest.fail(reason)
        pytest.skip(reason)
    async with temporary_database(prefix) as url:
        yield url
