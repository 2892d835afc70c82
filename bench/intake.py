"""N customer messages become tickets through the desk on a SQLite file, outbox included,
against a floor of N bare SQLAlchemy Core inserts (one transaction each) into the same kind
of database. Targets: at least 500 tickets/s and a ratio of at least 0.25.

Two ways for the messages to arrive are measured. One after another, each waiting for the
last (a quiet desk: every ticket pays its own commit). All at once (a busy help channel, or
a platform replaying its backlog after an outage): the desk's group commit lets the queued
messages share transactions. The targets are judged on the burst, the case where throughput
matters; the one-by-one figure is printed beside it."""

from __future__ import annotations

import asyncio
import tempfile
import time
from pathlib import Path

from sqlalchemy import Column, Integer, MetaData, String, Table, insert

from bot import commands as c
from bot.desk import Desk
from bot.model import Person, Source
from bot.rendering import Renderer
from storage.engine import Database
from storage.migrate import upgrade
from storage.uow import SqlUnitOfWorkFactory

TARGET_RATE = 500.0
TARGET_RATIO = 0.25


async def floor_inserts(path: Path, n: int) -> float:
    """Bare Core inserts per second, one transaction each, same engine settings."""
    database = Database(f"sqlite:///{path}")
    rows = Table(
        "floor", MetaData(), Column("id", Integer, primary_key=True), Column("body", String(200))
    )
    async with database.begin() as conn:
        await conn.run_sync(rows.metadata.create_all)
    start = time.perf_counter()
    for i in range(n):
        async with database.begin() as conn:
            await conn.execute(insert(rows).values(body=f"message {i}"))
    elapsed = time.perf_counter() - start
    await database.dispose()
    return n / elapsed


async def desk_intake(path: Path, n: int, burst: bool = False) -> float:
    """Tickets per second: one message after another, or all `n` arriving at once (a busy
    help channel, a platform replaying its backlog), which the desk commits in groups."""
    database = Database(f"sqlite:///{path}")
    await upgrade(database)
    desk = Desk(SqlUnitOfWorkFactory(database), Renderer())
    messages = []
    for i in range(n):
        person = Person("bench", f"U{i}", f"Customer {i}")
        text = f"Order {i} has not arrived\nPlease check the tracking."
        command = c.RelayCustomerMessage(person, Source("bench", "W", f"D{i}"), text)
        messages.append((command, c.Invocation(person, event_id=f"E{i}")))
    start = time.perf_counter()
    if burst:
        replies = await asyncio.gather(*(desk.handle(cmd, inv) for cmd, inv in messages))
    else:
        replies = [await desk.handle(cmd, inv) for cmd, inv in messages]
    elapsed = time.perf_counter() - start
    assert [r.ticket_number for r in replies] == list(range(1, n + 1))
    await database.dispose()
    return n / elapsed


async def main(n: int = 2000, rounds: int = 3) -> bool:
    """Best of `rounds` for each figure, interleaved, so all see the same machine noise."""
    floors, one_by_one, bursts = [], [], []
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        await desk_intake(folder / "warm.db", 50)  # imports, template compilation
        for r in range(rounds):
            floors.append(await floor_inserts(folder / f"floor{r}.db", n))
            one_by_one.append(await desk_intake(folder / f"one{r}.db", n))
            bursts.append(await desk_intake(folder / f"burst{r}.db", n, burst=True))
    floor, single, rate = max(floors), max(one_by_one), max(bursts)
    ratio = rate / floor
    ok = rate >= TARGET_RATE and ratio >= TARGET_RATIO
    print(
        f"intake: {n} tickets, best of {rounds}, floor {floor:7.1f} bare inserts/s\n"
        f"  arriving at once:    {rate:7.1f} tickets/s  ratio {ratio:.3f}  "
        f"[target >= {TARGET_RATE:.0f}/s and >= {TARGET_RATIO}: {'met' if ok else 'MISSED'}]\n"
        f"  one after another:   {single:7.1f} tickets/s  ratio {single / floor:.3f}"
    )
    return ok


if __name__ == "__main__":
    asyncio.run(main())
