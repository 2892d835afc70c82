"""Group commit on SQLite: units of work that commit while others wait for the writer share
one COMMIT, and none of them returns from its commit before the rows are in the database."""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Column, Integer, MetaData, Table, event, insert, text

from storage.engine import Database
from storage.sqlite_writer import GROUP_MAX


@pytest.fixture
async def database(tmp_path: Path) -> AsyncIterator[Database]:
    db = Database(f"sqlite:///{tmp_path / 'desk.db'}")
    async with db.begin() as conn:
        await conn.execute(text("CREATE TABLE notes (n INTEGER)"))
    yield db
    await db.dispose()


def _commits(database: Database) -> list[int]:
    """A growing list: one entry per COMMIT the database was sent."""
    sent: list[int] = []

    @event.listens_for(database.sync_engine, "commit")
    def counted(conn: Any) -> None:
        sent.append(1)

    return sent


def _stored(database: Database) -> set[int]:
    """What another process would read from the file now."""
    path = str(database.url.database)
    with sqlite3.connect(path) as other:
        return {n for (n,) in other.execute("SELECT n FROM notes")}


async def _write(database: Database, n: int, *, keep: bool = True) -> set[int]:
    """One unit of work; what is in the file when its commit has returned."""
    conn = await database.connect()
    try:
        await conn.execute(text("INSERT INTO notes VALUES (:n)"), {"n": n})
        if keep:
            await conn.commit()
        else:
            await conn.rollback()
        return _stored(database)
    finally:
        await conn.close()


async def test_alone_a_unit_commits_at_once(database: Database) -> None:
    commits = _commits(database)
    assert await _write(database, 1) == {1}
    assert len(commits) == 1


async def test_units_at_once_share_commits_and_each_returns_once_stored(
    database: Database,
) -> None:
    commits = _commits(database)
    seen = await asyncio.gather(*(_write(database, n) for n in range(40)))
    assert _stored(database) == set(range(40))
    for n, stored in enumerate(seen):
        assert n in stored  # its commit returned after its row was in the file
    # 40 units: a few groups of at most GROUP_MAX, not forty transactions
    assert 40 / GROUP_MAX <= len(commits) <= 40 / 4


async def test_a_unit_that_rolls_back_in_a_group_leaves_the_others_be(
    database: Database,
) -> None:
    await asyncio.gather(*(_write(database, n, keep=n != 5) for n in range(10)))
    assert _stored(database) == set(range(10)) - {5}


async def test_when_a_groups_commit_fails_every_unit_in_it_fails_and_nothing_is_kept(
    database: Database,
) -> None:
    failing = True

    @event.listens_for(database.sync_engine, "commit")
    def disk_full(conn: Any) -> None:
        if failing:
            raise sqlite3.OperationalError("database or disk is full")

    outcomes = await asyncio.gather(
        *(_write(database, n) for n in range(8)), return_exceptions=True
    )
    assert all(isinstance(o, Exception) for o in outcomes), outcomes
    assert _stored(database) == set()
    failing = False
    assert await _write(database, 99) == {99}  # the writer goes on


async def test_the_first_unit_of_a_transaction_takes_no_savepoint_and_still_undoes_alone(
    tmp_path: Path,
) -> None:
    """The transaction holds nobody else's writes yet: undoing it undoes the unit, and SQLite
    keeps no copy of the pages the unit changes."""
    said: list[str] = []
    db = Database(f"sqlite:///{tmp_path / 'desk.db'}")
    event.listen(db.sync_engine, "connect", lambda raw, _: raw.set_trace_callback(said.append))
    try:
        async with db.begin() as conn:
            await conn.execute(text("CREATE TABLE notes (n INTEGER)"))
        said.clear()
        assert await _write(db, 1) == {1}
        assert await _write(db, 2, keep=False) == {1}
        assert not [s for s in said if "SAVEPOINT" in s], said
        # the first of a group is undone alone; those after it, in savepoints, are kept
        await asyncio.gather(*(_write(db, n, keep=n != 10) for n in range(10, 20)))
        assert _stored(db) == {1, *range(11, 20)}
        assert [s for s in said if s.startswith("SAVEPOINT")]
    finally:
        await db.dispose()


def _temporary_files() -> list[str]:
    """SQLite's temporary files this process has open (deleted as soon as they are opened)."""
    found = []
    for fd in Path("/proc/self/fd").iterdir():
        with contextlib.suppress(OSError):  # closed since it was listed
            target = str(fd.readlink())
            if "etilqs_" in target:
                found.append(target)
    return found


@pytest.mark.skipif(not Path("/proc/self/fd").is_dir(), reason="reads /proc (Linux)")
async def test_a_units_savepoint_keeps_its_pages_in_memory_not_in_a_file(
    database: Database,
) -> None:
    """A new ticket changes some 35 pages; past 64 KiB SQLite would open a temporary file
    for the savepoint's copies, for each unit in a group."""
    async with database.begin() as conn:
        await conn.execute(text("CREATE TABLE pages (body TEXT)"))
        for _ in range(100):  # a page each, or nearly
            await conn.execute(text("INSERT INTO pages VALUES (:b)"), {"b": "x" * 3000})
    files: list[list[str]] = []

    async def member() -> None:
        conn = await database.connect()
        try:
            await conn.execute(text("UPDATE pages SET body = body || 'y'"))  # 100 pages
            files.append(_temporary_files())
            await conn.commit()
        finally:
            await conn.close()

    # the first unit begins the transaction; the others join it, each in a savepoint
    await asyncio.gather(_write(database, 1), member(), member())
    assert files == [[], []]
    async with database.begin() as conn:
        assert (await conn.execute(text("PRAGMA temp_store"))).scalar() == 2  # memory
        body = (await conn.execute(text("SELECT body FROM pages LIMIT 1"))).scalar()
    assert body == "x" * 3000 + "yy"


async def test_a_migration_keeps_sqlites_temporary_data_in_files(database: Database) -> None:
    """A migration's journal may be as large as the table it rewrites: files (the OS caches
    them), not the process's memory."""
    conn = await database.connect()
    try:
        where = await conn.run_sync(lambda sync: sync.execute(text("PRAGMA temp_store")).scalar())
        await conn.commit()
    finally:
        await conn.close()
    assert where == 0  # SQLite's default: files


_NOTES = Table("notes", MetaData(), Column("n", Integer))


async def _insert(database: Database, n: int) -> None:
    """A unit whose statements never wait (an INSERT runs on the loop): it yields only to
    commit."""
    conn = await database.connect()
    try:
        await conn.execute(insert(_NOTES), {"n": n})
        await conn.commit()
    finally:
        await conn.close()


async def test_units_made_ready_together_share_a_commit_though_none_waits_inside(
    database: Database,
) -> None:
    commits = _commits(database)
    await asyncio.gather(*(_insert(database, n) for n in range(12)))
    assert _stored(database) == set(range(12))
    assert len(commits) <= 2, "each unit committed on its own"
    await _insert(database, 99)  # alone: at once, in a transaction of its own
    assert _stored(database) == {*range(12), 99}
    assert len(commits) <= 3


async def test_a_unit_cancelled_as_it_commits_alone_is_undone_and_the_writer_goes_on(
    database: Database,
) -> None:
    await _insert(database, 1)  # the writer's connection is open: nothing below waits
    unit = asyncio.create_task(_insert(database, 2))
    await asyncio.sleep(0)  # the unit has written its row and waits one turn to commit
    unit.cancel()
    with pytest.raises(asyncio.CancelledError):
        await unit
    assert _stored(database) == {1}
    await _insert(database, 3)
    assert _stored(database) == {1, 3}
