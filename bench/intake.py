"""Customer messages become tickets through the desk (outbox included), on SQLite and on
PostgreSQL, beside a floor of bare SQLAlchemy Core inserts (one transaction each) into the
same database. Information first: a desk needs correct and responsive far more than speed.
Target: at least 300 tickets/s one at a time on SQLite.

Two ways for the messages to arrive are measured: one after another, each waiting for the
last (a quiet desk), and all at once (a busy help channel, a platform redelivering its
backlog after an outage), where the commands wait on each other for the database."""

from __future__ import annotations

import asyncio
import tempfile
import time
from pathlib import Path

from sqlalchemy import Column, Integer, MetaData, String, Table, insert

from bench.pg import fresh_postgres
from bot import commands as c
from bot.desk import Desk
from bot.model import Person, Source
from bot.rendering import Renderer
from storage.engine import Database
from storage.migrate import upgrade
from storage.uow import SqlUnitOfWorkFactory

TARGET_SQLITE = 300.0


async def floor_inserts(database: Database, n: int) -> float:
    """Bare Core inserts per second, one transaction each, same engine settings."""
    rows = Table(
        "floor", MetaData(), Column("id", Integer, primary_key=True), Column("body", String(200))
    )
    async with database.begin() as conn:
        await conn.run_sync(rows.metadata.create_all)
    start = time.perf_counter()
    for i in range(n):
        async with database.begin() as conn:
            await conn.execute(insert(rows).values(body=f"message {i}"))
    return n / (time.perf_counter() - start)


async def desk_intake(database: Database, n: int, first: int, burst: bool = False) -> float:
    """Tickets per second for `n` new customers, one after another or all at once."""
    desk = Desk(SqlUnitOfWorkFactory(database), Renderer())
    messages = []
    for i in range(first, first + n):
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
    assert all(r.ok and r.ticket_number for r in replies), "a ticket was not opened"
    return n / elapsed


async def measure(database: Database, label: str, n: int) -> float:
    """Prints the figures for one backend; returns the one-at-a-time rate."""
    try:
        await upgrade(database)
        floor = await floor_inserts(database, n)
        await desk_intake(database, 50, 0)  # imports, template compilation, the pool
        single = await desk_intake(database, n, 1_000)
        burst = await desk_intake(database, n, 100_000, burst=True)
    finally:
        await database.dispose()
    print(
        f"intake ({label}, {n} tickets): one after another {single:6.1f} tickets/s, "
        f"all at once {burst:6.1f} tickets/s; floor {floor:7.1f} bare inserts/s"
    )
    return single


async def main(n: int = 1000) -> bool:
    with tempfile.TemporaryDirectory() as tmp:
        single = await measure(Database(f"sqlite:///{Path(tmp) / 'desk.db'}"), "sqlite", n)
    ok = single >= TARGET_SQLITE
    print(
        f"  [target: one after another on SQLite >= {TARGET_SQLITE:.0f}/s: "
        f"{'met' if ok else 'MISSED'}]"
    )
    postgres = await fresh_postgres("supportbot_bench_intake", "intake")
    if postgres is not None:
        await measure(postgres, "postgresql", n)
    return ok


if __name__ == "__main__":
    asyncio.run(main())
