"""What only SQLite's own machinery does; the repositories' contract, on every backend and
on the fakes, is tests/contract."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from storage.engine import Database
from storage.migrate import upgrade
from storage.uow import SqlUnitOfWork

TOKYO = timezone(timedelta(hours=9))
AT = datetime(2026, 11, 24, 9, 30, 15, 123456, tzinfo=TOKYO)


async def test_a_unit_of_work_cancelled_while_it_ends_leaves_sqlite_to_the_next(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """SQLite's writer turn and pooled connection are ours to give back (PostgreSQL's pool
    is SQLAlchemy's own)."""
    database = Database(f"sqlite:///{tmp_path / 'desk.db'}")
    await upgrade(database)

    async def cancelled_work() -> None:
        async with SqlUnitOfWork(database) as uow:
            await uow.inbound.record("slack", "Ev1", {"text": "hi"}, AT)
            conn = uow._conn  # the connection underneath the repositories

            async def cancelled_before_the_rollback() -> None:
                raise asyncio.CancelledError  # shutdown, or a caller that stopped waiting

            monkeypatch.setattr(conn, "rollback", cancelled_before_the_rollback)
            raise RuntimeError("the handler failed")

    with pytest.raises(asyncio.CancelledError):
        await cancelled_work()
    async with asyncio.timeout(10):  # not waiting forever for a turn or a pooled connection
        for _ in range(20):  # more than the pool holds
            async with SqlUnitOfWork(database) as uow:
                assert await uow.inbound.record("slack", "Ev1", {"text": "hi"}, AT)
                await uow.rollback()
    await database.dispose()
