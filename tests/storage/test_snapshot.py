"""A long read (the export's) beside a desk that keeps taking customers, on SQLite: before,
each export batch took SQLite's write lock, so customers waited while it read."""

from __future__ import annotations

import asyncio
import io
import json
import threading
from pathlib import Path

from sqlalchemy import Connection, func, select

from bot import commands as c
from bot.clock import FrozenClock
from bot.desk import Desk
from bot.model import Person, Source
from bot.rendering import Renderer
from storage import tables as t
from storage.export import export
from storage.uow import SqlUnitOfWorkFactory
from tests.storage.conftest import fresh_database
from tests.storage.test_records import START

WAIT = 10.0  # seconds a thread waits for the other side before the test fails


async def _writes(desk: Desk, number: int) -> int | None:
    who = Person("test", f"U{number}", f"Customer {number}")
    source = Source("test", "W", f"D{number}")
    reply = await desk.handle(
        c.RelayCustomerMessage(who, source, f"Help with order {number}"),
        c.Caller(who, event_id=f"E{number}", seen=(source.channel, f"E{number}")),
    )
    return reply.ticket_number


async def test_a_customer_is_taken_while_a_long_read_is_open_and_the_read_sees_one_moment(
    tmp_path: Path,
) -> None:
    database = await fresh_database("sqlite", tmp_path)
    desk = Desk(SqlUnitOfWorkFactory(database), Renderer(), clock=FrozenClock(START))
    try:
        assert await _writes(desk, 1) == 1
        reading, go_on = threading.Event(), threading.Event()

        def read(conn: Connection) -> tuple[int, int]:
            count = select(func.count()).select_from(t.tickets)
            before = conn.execute(count).scalar_one()
            reading.set()
            assert go_on.wait(WAIT), "the customer's ticket never came"
            return before, conn.execute(count).scalar_one()

        read_done = asyncio.ensure_future(database.snapshot(read))
        assert await asyncio.to_thread(reading.wait, WAIT)
        # the read is open on a worker: a customer writes, and is answered meanwhile
        assert await _writes(desk, 2) == 2
        go_on.set()
        assert await read_done == (1, 1)  # what the read saw did not change under it
        sink = io.StringIO()
        assert await export(database, sink) == 2  # the next read sees the new ticket
        assert [json.loads(line)["number"] for line in sink.getvalue().splitlines()] == [1, 2]
    finally:
        await database.dispose()
