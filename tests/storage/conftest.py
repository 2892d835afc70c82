"""Each storage test runs on a fresh SQLite file and on a fresh PostgreSQL schema.

The schema is SUPPORTBOT_TEST_SCHEMA (default supportbot_test), so that two runs sharing one
server (the storage suite and the contract suite, say) each drop and create their own."""

from __future__ import annotations

import os
import re
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import text

from storage.engine import Database, StorageUnavailable
from storage.migrate import upgrade
from tests.conftest import IN_CI, POSTGRES_URL

SCHEMA = os.environ.get("SUPPORTBOT_TEST_SCHEMA", "supportbot_test")
if not re.fullmatch(r"[a-z_][a-z0-9_]*", SCHEMA):  # it goes into SQL as it is
    raise ValueError(f"SUPPORTBOT_TEST_SCHEMA must be a plain lower-case name, not {SCHEMA!r}")


async def _postgres() -> Database:
    admin = Database(POSTGRES_URL)
    try:
        await admin.ping()
        async with admin.begin() as conn:
            await conn.execute(text(f"DROP SCHEMA IF EXISTS {SCHEMA} CASCADE"))
            await conn.execute(text(f"CREATE SCHEMA {SCHEMA}"))
    finally:
        await admin.dispose()
    return Database(POSTGRES_URL, connect_args={"server_settings": {"search_path": SCHEMA}})


async def fresh_database(backend: str, tmp_path: Path, revision: str = "head") -> Database:
    """An empty database migrated to `revision`: a SQLite file under `tmp_path`, or the
    PostgreSQL schema SCHEMA dropped and created anew. PostgreSQL out of reach skips the
    test, and fails it in CI."""
    if backend == "sqlite":
        db = Database(f"sqlite:///{tmp_path / 'desk.db'}")
    else:
        try:
            db = await _postgres()
        except StorageUnavailable as error:
            if IN_CI:
                pytest.fail(f"PostgreSQL must be reachable in CI: {error}")
            pytest.skip(f"PostgreSQL not reachable: {error}")
    await upgrade(db, revision)
    return db


@pytest.fixture(params=["sqlite", "postgresql"])
async def database(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Database]:
    db = await fresh_database(request.param, tmp_path)
    yield db
    await db.dispose()


@pytest.fixture
def backend(database: Database) -> str:
    return database.dialect_name
