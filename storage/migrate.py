"""Apply Alembic migrations programmatically (at start and by `supportbot migrate`)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import text

from storage.engine import Database
from storage.leadership import MIGRATION_LOCK

MIGRATIONS = Path(__file__).resolve().parent / "migrations"


def alembic_config(connection: Any = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = connection
    return config


async def upgrade(database: Database, revision: str = "head") -> list[str]:
    """Bring the schema to `revision`; returns the revisions that were applied."""
    async with database.begin() as conn:
        if database.dialect_name == "postgresql":
            # processes started together on a fresh database would race to create the same
            # tables: one upgrades, the others wait here until it commits and find it done
            await conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK})
        before = await conn.run_sync(_current)
        await conn.run_sync(lambda sync: command.upgrade(alembic_config(sync), revision))
        after = await conn.run_sync(_current)
    script = ScriptDirectory.from_config(alembic_config())
    if before == after:
        return []
    applied = [r.revision for r in script.iterate_revisions(after, before)]
    return list(reversed(applied))


async def current_revision(database: Database) -> str | None:
    async with database.begin() as conn:
        return await conn.run_sync(_current)


def head_revision() -> str | None:
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def _current(sync_conn: Any) -> str | None:
    return MigrationContext.configure(sync_conn).get_current_revision()
