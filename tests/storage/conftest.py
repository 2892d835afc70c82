"""Each storage test runs on a fresh SQLite file and on a fresh PostgreSQL schema."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from storage.engine import StorageUnavailable, make_engine, ping
from storage.migrate import upgrade
from tests.conftest import IN_CI, POSTGRES_URL

SCHEMA = "supportbot_test"


async def _postgres_engine() -> AsyncEngine:
    admin = make_engine(POSTGRES_URL)
    try:
        await ping(admin)
        async with admin.begin() as conn:
            await conn.execute(text(f"DROP SCHEMA IF EXISTS {SCHEMA} CASCADE"))
            await conn.execute(text(f"CREATE SCHEMA {SCHEMA}"))
    finally:
        await admin.dispose()
    return make_engine(POSTGRES_URL, connect_args={"server_settings": {"search_path": SCHEMA}})


@pytest.fixture(params=["sqlite", "postgresql"])
async def engine(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[AsyncEngine]:
    if request.param == "sqlite":
        engine = make_engine(f"sqlite:///{tmp_path / 'desk.db'}")
    else:
        try:
            engine = await _postgres_engine()
        except StorageUnavailable as error:
            if IN_CI:
                pytest.fail(f"PostgreSQL must be reachable in CI: {error}")
            pytest.skip(f"PostgreSQL not reachable: {error}")
    await upgrade(engine)
    yield engine
    await engine.dispose()


@pytest.fixture
def backend(engine: AsyncEngine) -> str:
    return engine.dialect.name
