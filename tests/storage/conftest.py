"""Each storage test runs on a fresh SQLite file and on a fresh PostgreSQL schema."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import text

from storage.engine import Database, StorageUnavailable
from storage.migrate import upgrade
from tests.conftest import IN_CI, POSTGRES_URL

SCHEMA = "supportbot_test"


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


@pytest.fixture(params=["sqlite", "postgresql"])
async def database(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Database]:
    if request.param == "sqlite":
        db = Database(f"sqlite:///{tmp_path / 'desk.db'}")
    else:
        try:
            db = await _postgres()
        except StorageUnavailable as error:
            if IN_CI:
                pytest.fail(f"PostgreSQL must be reachable in CI: {error}")
            pytest.skip(f"PostgreSQL not reachable: {error}")
    await upgrade(db)
    yield db
    await db.dispose()


@pytest.fixture
def backend(database: Database) -> str:
    return database.dialect_name
