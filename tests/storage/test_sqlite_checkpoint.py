"""SQLite's write-ahead log is copied back into the database by a worker every so many
commits, never inside a commit on the event loop: a busy desk's database file keeps up with
what was written, while no commit pays for the copy (and its fsync)."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

from sqlalchemy import text

from storage.engine import Database
from storage.sqlite import CHECKPOINT_EVERY

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
