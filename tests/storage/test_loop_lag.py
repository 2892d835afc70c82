"""The event loop stays responsive while the database makes the desk wait: while another
process holds SQLite's write lock, and while the digest reads a large desk. A probe task ticks
every 10 ms on the real clock and records how late each tick comes; the old, synchronous
storage froze the loop for as long as the lock was held (seconds)."""

from __future__ import annotations

import asyncio
import gc
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import text

from bench.lag_probe import LagProbe, WriteLockHolder
from bench.seed import NOW, seed
from bot import commands as c
from bot.desk import Desk, Outcome
from bot.desk.digest import figures
from bot.model import Person, Source
from bot.rendering import Renderer
from bot.settings import DeskSettings
from storage.engine import Database
from storage.migrate import upgrade
from storage.uow import SqlUnitOfWork, SqlUnitOfWorkFactory

# generous: CI machines are noisy; a blocked loop shows as the whole wait (seconds)
BOUND = 0.25
MESSAGES = 5
TICKS_WHILE_WAITING = 20
SEEDED = 50_000


@contextmanager
def _settled() -> Iterator[None]:
    """As `supportbot run` settles after start-up (bot.app.cli._settle_memory): what was built
    before (here every earlier test's leftovers, which a bot has none of) is out of the
    collector's sight, so a full collection measures the desk's garbage, not the suite's."""
    gc.collect()
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()


def _message(i: int) -> tuple[c.RelayCustomerMessage, c.Caller]:
    person = Person("bench", f"U{i}", f"Customer {i}")
    command = c.RelayCustomerMessage(
        person, Source("bench", "W", f"D{i}"), f"Order {i} has not arrived"
    )
    return command, c.Caller(person, event_id=f"E{i}")


async def _count(database: Database, table: str) -> int:
    async with database.begin() as conn:
        return int((await conn.execute(text(f"SELECT count(*) FROM {table}"))).scalar_one())


async def test_loop_runs_while_another_process_holds_the_write_lock(tmp_path: Path) -> None:
    path = tmp_path / "desk.db"
    database = Database(f"sqlite:///{path}")
    try:
        await upgrade(database)
        desk = Desk(SqlUnitOfWorkFactory(database), Renderer())
        # a desk that has been running: templates compiled, a connection in the pool
        assert (await desk.handle(*_message(0))).ticket_number
        async with asyncio.timeout(60):
            async with WriteLockHolder(str(path)) as holder, LagProbe() as probe:
                start = probe.ticks
                tasks = [
                    asyncio.create_task(desk.handle(*_message(i))) for i in range(1, MESSAGES + 1)
                ]
                # proof the loop ran while the desk waited: ticks kept coming, nothing stored
                await probe.wait_ticks(TICKS_WHILE_WAITING)
                waiting = probe.stats(start)
                assert not any(task.done() for task in tasks), "the lock did not make it wait"
                await holder.release()
                replies: list[Outcome] = await asyncio.gather(*tasks)
                overall = probe.stats(start)
        assert waiting.ticks >= TICKS_WHILE_WAITING
        assert waiting.max < BOUND, f"loop blocked while the lock was held: {waiting.describe()}"
        assert overall.max < BOUND, f"loop blocked while storing: {overall.describe()}"
        assert all(reply.ok and reply.ticket_number for reply in replies)
        assert len({reply.ticket_number for reply in replies}) == MESSAGES
        assert await _count(database, "tickets") == MESSAGES + 1
    finally:
        await database.dispose()


async def test_loop_runs_while_the_digest_reads_a_large_desk(database: Database) -> None:
    await seed(database, SEEDED, 5_000)

    async def digest() -> None:
        async with SqlUnitOfWork(database) as uow:
            found = await figures(uow, DeskSettings(), NOW)  # as the desk counts it
        assert found.new > 1000
        assert found.backlog_total > 4_000

    await digest()  # the pool and the database's caches, as on a desk that has been running
    with _settled():
        async with asyncio.timeout(60), LagProbe() as probe:
            # enough digests that the probe sees the loop through them, however fast they are
            rounds = 0
            while rounds < 3 or probe.ticks < TICKS_WHILE_WAITING:
                await digest()
                rounds += 1
    assert probe.ticks >= TICKS_WHILE_WAITING
    assert probe.max < BOUND, (
        f"loop blocked during {rounds} digests of {SEEDED:,} tickets "
        f"on {database.dialect_name}: {probe.stats().describe()}"
    )
