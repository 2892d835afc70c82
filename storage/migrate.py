"""Apply Alembic migrations programmatically (at start and by `supportbot migrate`), and roll
them back (`supportbot migrate --to REV`) to the revision an older version knows."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, text
from sqlalchemy.exc import SQLAlchemyError

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


class UnknownRevision(Exception):
    """A revision this version's migrations do not include; the text is one line."""


class CannotRollBack(Exception):
    """The database refused the rollback, which changed nothing; the text is one line."""


def revisions() -> list[str]:
    """Every migration this version holds, oldest first."""
    script = ScriptDirectory.from_config(alembic_config())
    return [r.revision for r in reversed(list(script.walk_revisions()))]


def describe(revision: str) -> str:
    """What a migration adds (and so what rolling it back drops), in one line."""
    found = ScriptDirectory.from_config(alembic_config()).get_revision(revision)
    doc = found.doc if found is not None else ""
    line = " ".join(doc.strip().split("\n\n")[0].split())  # its first paragraph
    return line if len(line) <= 100 else line[:99].rstrip() + "…"


def steps(current: str | None, target: str) -> tuple[list[str], list[str]]:
    """What bringing the schema from `current` to `target` ("head" for the newest) takes: the
    migrations to apply, oldest first, and those to roll back, newest first."""
    known = revisions()
    target = known[-1] if target == "head" else target
    if target not in known:
        raise UnknownRevision(
            f"{target!r} is not a migration this version knows; use one of "
            f"{known[0]} to {known[-1]}, or head"
        )
    if current is not None and current not in known:
        raise UnknownRevision(
            f"the database is at {current}, which this version does not know: roll it back with "
            "the version that added it"
        )
    at = known.index(current) + 1 if current is not None else 0
    to = known.index(target) + 1
    return known[at:to], list(reversed(known[to:at]))


async def downgrade(database: Database, revision: str) -> list[str]:
    """Roll the schema back to `revision`, dropping what the newer migrations added (and
    what it holds); returns the revisions rolled back, newest first."""
    try:
        if database.dialect_name == "sqlite":
            before = await current_revision(database)
            # one transaction on a worker thread, as every SQLite write here
            await asyncio.to_thread(_sqlite_downgrade, database, revision)
        else:
            async with database.begin() as conn:
                # no process upgrading meanwhile (see upgrade)
                lock = text("SELECT pg_advisory_xact_lock(:key)")
                await conn.execute(lock, {"key": MIGRATION_LOCK})
                before = await conn.run_sync(_current)
                await conn.run_sync(lambda sync: command.downgrade(alembic_config(sync), revision))
    except SQLAlchemyError as error:
        why = str(getattr(error, "orig", None) or error).strip().splitlines()
        raise CannotRollBack(why[0] if why else type(error).__name__) from error
    return steps(before, revision)[1]


def _sqlite_downgrade(database: Database, revision: str) -> None:
    with database.sync_engine.connect() as conn:
        raw = conn.connection.dbapi_connection
        assert raw is not None
        # a migration that rebuilt a table (SQLite's way to change one) drops it on the way
        # down while rows still refer to it, which the foreign keys refuse; they are checked
        # as a whole before the commit instead
        raw.execute("PRAGMA foreign_keys=OFF")
        try:
            with conn.begin():
                command.downgrade(alembic_config(conn), revision)
                _check_references(conn)
        finally:
            raw.execute("PRAGMA foreign_keys=ON")


def _check_references(conn: Connection) -> None:
    broken = conn.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
    if broken:
        raise CannotRollBack(f"rows in {broken[0][0]} would refer to rows that are gone")
