"""The gateway lock on PostgreSQL: one holder at a time, handed on when the holder goes, and
given up by a holder whose connection fails or stops answering; on SQLite, always held."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import asyncpg
import pytest

from storage.engine import Database, StorageUnavailable, process_label
from storage.leadership import GATEWAY_LOCK, AdvisoryLock, SoleLock, role_lock, workers
from tests.support.pg import required_database, with_port
from tests.support.tcp_proxy import running_proxy

CHECK = 0.2  # seconds between a holder's checks of its connection


@pytest.fixture
async def pg_url() -> AsyncIterator[str]:
    async with required_database("leadership") as url:
        yield url


@pytest.fixture
async def locks(pg_url: str) -> AsyncIterator[Callable[[str], AdvisoryLock]]:
    made: list[AdvisoryLock] = []

    def lock(url: str = pg_url) -> AdvisoryLock:
        made.append(AdvisoryLock(url, GATEWAY_LOCK, check_seconds=CHECK))
        return made[-1]

    yield lock
    for each in made:
        await each.release()


async def until(check: Callable[[], Awaitable[bool]], seconds: float = 10) -> None:
    """Ask the server again until it agrees: what it knows has no event to wait on."""
    async with asyncio.timeout(seconds):
        while not await check():  # noqa: ASYNC110
            await asyncio.sleep(0.05)


async def test_one_holds_the_lock_and_the_next_takes_it_when_it_lets_go(
    pg_url: str, locks: Callable[..., AdvisoryLock]
) -> None:
    first, second = locks(), locks()
    assert await second.holder() is None
    assert await first.try_acquire()
    assert await first.try_acquire()  # asking again changes nothing
    assert not await second.try_acquire()
    assert not await second.try_acquire()
    assert await second.holder() == process_label()
    await first.release()
    assert await second.try_acquire()
    assert not await first.try_acquire()  # it connects again and finds it taken


async def test_the_holder_and_the_processes_are_named_as_check_shows_them(
    pg_url: str, locks: Callable[..., AdvisoryLock]
) -> None:
    dsn = pg_url
    other = await asyncpg.connect(dsn, server_settings={"application_name": "supportbot far:42"})
    stranger = await asyncpg.connect(dsn, server_settings={"application_name": "psql"})
    database = Database(pg_url)
    try:
        assert await other.fetchval("SELECT pg_try_advisory_lock($1)", GATEWAY_LOCK)
        standby = locks()
        assert not await standby.try_acquire()
        assert await standby.holder() == "far:42"
        found = await workers(database)
        assert found.processes == ("far:42",)  # this process is the one asking, left out
        assert found.gateway == "far:42"

        await other.close()
        assert await stranger.fetchval("SELECT pg_try_advisory_lock($1)", GATEWAY_LOCK)
        pid = await stranger.fetchval("SELECT pg_backend_pid()")
        assert await standby.holder() == f"a session that is not supportbot's (pid {pid})"
        assert (await workers(database)).processes == ()
    finally:
        await other.close()
        await stranger.close()
        await database.dispose()


async def test_a_holder_whose_session_is_ended_gives_the_lock_up_at_once(
    pg_url: str, locks: Callable[..., AdvisoryLock]
) -> None:
    holder, standby = locks(), locks()
    assert await holder.try_acquire()
    watching = asyncio.create_task(holder.watch())
    admin = await asyncpg.connect(pg_url)
    try:
        pid = await admin.fetchval(
            "SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND objid = $1 AND granted",
            GATEWAY_LOCK & 0xFFFF_FFFF,
        )
        await admin.execute("SELECT pg_terminate_backend($1)", pid)
    finally:
        await admin.close()
    async with asyncio.timeout(5):
        assert await watching == "its database connection closed"
    assert not holder.held
    assert await standby.try_acquire()


async def test_a_holder_cut_off_from_the_database_gives_up_and_stands_by(
    pg_url: str, locks: Callable[..., AdvisoryLock]
) -> None:
    async with running_proxy("127.0.0.1", 5432) as proxy:
        holder = locks(with_port(pg_url, proxy.port))
        standby = locks()
        assert await holder.try_acquire()
        watching = asyncio.create_task(holder.watch())
        await proxy.cut()
        async with asyncio.timeout(5):
            reason = await watching
        assert "closed" in reason or "failed" in reason
        assert not holder.held
        await until(standby.try_acquire)  # the server saw the session end: the lock is free
        with pytest.raises(StorageUnavailable):  # while cut, asking fails: not held
            await holder.try_acquire()
        assert not holder.held
        proxy.restore()
        assert not await holder.try_acquire()  # back, and the other one holds it now
        assert await holder.holder() == process_label()


async def test_a_holder_whose_database_goes_silent_gives_up_before_the_lock_is_free(
    pg_url: str, locks: Callable[..., AdvisoryLock]
) -> None:
    """A hung network: the holder stops vouching for the lock within two checks, while the
    server still keeps it (so nobody else can have taken it meanwhile)."""
    async with running_proxy("127.0.0.1", 5432) as proxy:
        holder = locks(with_port(pg_url, proxy.port))
        standby = locks()
        assert await holder.try_acquire()
        watching = asyncio.create_task(holder.watch())
        proxy.stall()
        async with asyncio.timeout(4 * CHECK + 2):
            reason = await watching
        assert reason == f"its database connection did not answer in {CHECK:g} s"
        assert not holder.held
        assert not await standby.try_acquire()  # the server has not let it go yet
        await proxy.cut()  # the server's side of the silent connection ends
        await until(standby.try_acquire)


async def test_on_sqlite_the_one_process_always_holds(tmp_path: Path) -> None:
    lock = role_lock(f"sqlite:///{tmp_path / 'desk.db'}", GATEWAY_LOCK)
    assert isinstance(lock, SoleLock)
    assert await lock.try_acquire()
    assert await lock.holder() == process_label()
    with pytest.raises(TimeoutError):
        async with asyncio.timeout(0.1):
            await lock.watch()  # never lost
    await lock.release()


def test_on_postgresql_the_lock_is_an_advisory_lock() -> None:
    lock = role_lock("postgresql://supportbot@db.example:5432/desk", GATEWAY_LOCK)
    assert isinstance(lock, AdvisoryLock)
    assert lock.key == GATEWAY_LOCK
