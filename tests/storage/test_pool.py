"""A burst of customers is stored over the connections the process keeps open: none is
opened and closed again per ticket (a new connection costs more than the ticket itself)."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import asyncpg
from sqlalchemy import event, text

from bot import commands as c
from bot.desk import Desk, Outcome
from bot.model import Person, Source
from bot.rendering import Renderer
from storage.engine import CONNECTIONS, Database
from storage.migrate import upgrade
from storage.uow import SqlUnitOfWorkFactory
from tests.conftest import POSTGRES_URL
from tests.storage.conftest import fresh_database

CUSTOMERS = 120


async def _burst(database: Database) -> list[Outcome]:
    """CUSTOMERS new customers write at once."""
    desk = Desk(SqlUnitOfWorkFactory(database), Renderer())
    messages = []
    for i in range(CUSTOMERS):
        person = Person("test", f"U{i}", f"Customer {i}")
        command = c.RelayCustomerMessage(person, Source("test", "W", f"D{i}"), f"Order {i}")
        messages.append(desk.handle(command, c.Caller(person, event_id=f"E{i}")))
    return await asyncio.gather(*messages)


async def test_a_burst_opens_no_more_connections_than_the_process_keeps(
    database: Database,
) -> None:
    await upgrade(database)
    opened: list[Any] = []
    closed: list[Any] = []
    event.listen(database.sync_engine, "connect", lambda conn, _record: opened.append(conn))
    event.listen(database.sync_engine, "close", lambda conn, _record: closed.append(conn))
    replies = await _burst(database)
    assert len({r.ticket_number for r in replies if r.ok}) == CUSTOMERS
    assert len(opened) <= CONNECTIONS
    assert closed == []  # all kept for the next burst


async def test_a_connection_the_server_closed_is_replaced_before_a_ticket_uses_it(
    tmp_path: Path,
) -> None:
    """Without a ping per unit of work (three round trips on asyncpg): a restart or an idle
    timeout on the server closes the pooled connections, and the next ticket gets a new one."""
    database = await fresh_database("postgresql", tmp_path)
    used: list[Any] = []
    event.listen(database.sync_engine, "checkout", lambda dbapi, *_: used.append(dbapi))
    try:
        desk = Desk(SqlUnitOfWorkFactory(database), Renderer())
        person = Person("test", "U1", "Customer")
        command = c.RelayCustomerMessage(person, Source("test", "W", "D1"), "Order")
        assert (await desk.handle(command, c.Caller(person, event_id="E1"))).ok
        pooled = {dbapi.driver_connection for dbapi in used}
        closed = asyncio.Event()
        for each in pooled:
            each.add_termination_listener(
                lambda _conn: closed.set() if all(p.is_closed() for p in pooled) else None
            )
        async with database.begin() as conn:
            name = (await conn.execute(text("SELECT current_setting('application_name')"))).scalar()
        # another client (an operator, a failover) ends this process's connections
        other = await asyncpg.connect(POSTGRES_URL)
        try:
            ended = await other.fetch(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                " WHERE application_name = $1",
                name,
            )
            assert ended
        finally:
            await other.close()
        # the server's goodbye reaches each socket through the event loop
        async with asyncio.timeout(10):
            await closed.wait()
        reply = await desk.handle(
            c.RelayCustomerMessage(person, Source("test", "W", "D1"), "And another"),
            c.Caller(person, event_id="E2"),
        )
        assert reply.ok
        assert reply.ticket_number == 1
    finally:
        await database.dispose()


async def test_after_warming_at_start_a_burst_opens_no_connection_on_postgresql(
    tmp_path: Path,
) -> None:
    database = await fresh_database("postgresql", tmp_path)
    try:
        await database.warm()
        opened: list[Any] = []
        event.listen(database.sync_engine, "connect", lambda conn, _record: opened.append(conn))
        replies = await _burst(database)
        assert all(reply.ok for reply in replies)
        assert opened == []
    finally:
        await database.dispose()
