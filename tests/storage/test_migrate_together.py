"""Several processes started at once on a fresh PostgreSQL database: one applies the
migrations, the others wait for it and find the schema up to date."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from storage.engine import Database
from storage.migrate import current_revision, head_revision, upgrade
from tests.support.pg import required_database

STARTED_TOGETHER = 4


@pytest.fixture
async def fresh_url() -> AsyncIterator[str]:
    async with required_database("migrate_together") as url:
        yield url


async def test_upgrades_started_together_apply_each_migration_once(fresh_url: str) -> None:
    databases = [Database(fresh_url) for _ in range(STARTED_TOGETHER)]
    try:
        for database in databases:  # connected first, so that the upgrades start together
            await database.ping()
        outcomes = await asyncio.gather(*(upgrade(d) for d in databases))
        applied = [revisions for revisions in outcomes if revisions]
        assert len(applied) == 1, outcomes  # the others found it done
        assert applied[0][-1] == head_revision()
        assert await current_revision(databases[0]) == head_revision()
    finally:
        for database in databases:
            await database.dispose()
