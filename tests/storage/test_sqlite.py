"""SQLite on an event loop: what cannot wait runs on the loop, what can wait on a worker.

A transaction's inserts, updates by key and lookups by key run on the event loop (a hop to
a worker costs more than they do); reads that scan, and updates marked as scans, run on a
worker, as does copying the write-ahead log back into the database every so many commits,
never inside a commit: the database file keeps up with what was written, while no commit
pays for the copy (and its fsync)."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from pathlib import Path
from typing import Any

from sqlalchemy import (
    Column,
    Integer,
    MetaData,
    Table,
    event,
    func,
    insert,
    select,
    text,
    update,
)

from storage.engine import Database
from storage.sqlite import CHECKPOINT_EVERY, quick, scan

ROW = "x" * 2000  # a row of its own page, or nearly


def _size(path: Path) -> int:
    return path.stat().st_size


async def _grows(path: Path, beyond: int) -> bool:
    for _ in range(500):  # a worker copies in the background: wait for it, a few seconds at most
        if _size(path) > beyond:
            return True
        await asyncio.sleep(0.01)
    return False


async def test_the_log_is_copied_back_every_so_many_commits(tmp_path: Path) -> None:
    path = tmp_path / "desk.db"
    database = Database(f"sqlite:///{path}")
    try:
        async with database.begin() as conn:
            await conn.execute(text("CREATE TABLE notes (body TEXT)"))
            # a commit of the desk's own never copies the log back
            assert (await conn.execute(text("PRAGMA wal_autocheckpoint"))).scalar() == 0
        with sqlite3.connect(path) as other:  # start from an empty log
            other.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        before = _size(path)

        for _ in range(CHECKPOINT_EVERY - 2):
            async with database.begin() as conn:
                await conn.execute(text("INSERT INTO notes VALUES (:b)"), {"b": ROW})
        assert _size(path) == before, "a commit copied the log back by itself"

        for _ in range(2 * CHECKPOINT_EVERY):
            async with database.begin() as conn:
                await conn.execute(text("INSERT INTO notes VALUES (:b)"), {"b": ROW})
        # the desk's connections are all still open: only its own checkpoint can have done it
        assert await _grows(path, before + (CHECKPOINT_EVERY - 2) * len(ROW))
        async with database.begin() as conn:
            count = (await conn.execute(text("SELECT count(*) FROM notes"))).scalar()
        assert count == 3 * CHECKPOINT_EVERY - 2
    finally:
        await database.dispose()


async def test_quick_statements_run_on_the_loop_and_scans_on_a_worker(tmp_path: Path) -> None:
    database = Database(f"sqlite:///{tmp_path / 'desk.db'}")
    ran_on: list[str] = []

    @event.listens_for(database.sync_engine, "connect")
    def _where(dbapi_connection: Any, _record: Any) -> None:
        def where() -> int:
            ran_on.append(threading.current_thread().name)
            return 1

        dbapi_connection.create_function("where_am_i", 0, where)

    loop_thread = threading.current_thread().name
    notes = Table(
        "notes", MetaData(), Column("id", Integer, primary_key=True), Column("ok", Integer)
    )
    try:
        async with database.begin() as conn:
            await conn.run_sync(notes.metadata.create_all)
            ran_on.clear()
            await conn.execute(insert(notes).values(ok=func.where_am_i()))
            await conn.execute(update(notes).where(notes.c.id == 1).values(ok=func.where_am_i()))
            await conn.execute(quick(select(func.where_am_i()).where(notes.c.id == 1)))
            await conn.execute(select(func.where_am_i()).select_from(notes))
            await conn.execute(scan(update(notes).values(ok=func.where_am_i())))
        insert_, update_, lookup, read, scanned = ran_on
        assert insert_ == update_ == lookup == loop_thread
        assert read != loop_thread
        assert scanned != loop_thread
    finally:
        await database.dispose()


async def test_a_connection_waits_for_another_process_to_let_the_database_go(
    tmp_path: Path,
) -> None:
    path = tmp_path / "desk.db"
    other = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    other.execute("CREATE TABLE notes (body TEXT)")  # a new database, not in WAL mode yet
    other.execute("BEGIN EXCLUSIVE")  # nobody may even read it, let alone switch it to WAL
    database = Database(f"sqlite:///{path}")
    try:
        conn = await database.connect()  # the file is opened with the first statement
        writing = asyncio.ensure_future(conn.execute(text("INSERT INTO notes VALUES ('stored')")))
        await asyncio.sleep(0.2)  # a worker is waiting in SQLite's busy handler, not failing
        assert not writing.done()
        other.execute("COMMIT")
        await asyncio.wait_for(writing, 10)
        await conn.commit()
        await conn.close()
    finally:
        other.close()
        await database.dispose()
