"""A burst of customers is stored over the connections the process keeps open: none is
opened and closed again per ticket (a new connection costs more than the ticket itself)."""

from __future__ import annotations

import asyncio
from typing import Any

from sqlalchemy import event

from bot import commands as c
from bot.desk import Desk
from bot.model import Person, Source
from bot.rendering import Renderer
from storage.engine import CONNECTIONS, Database
from storage.migrate import upgrade
from storage.uow import SqlUnitOfWorkFactory

CUSTOMERS = 120


async def test_a_burst_opens_no_more_connections_than_the_process_keeps(
    database: Database,
) -> None:
    await upgrade(database)
    opened: list[Any] = []
    closed: list[Any] = []
    event.listen(database.sync_engine, "connect", lambda conn, _record: opened.append(conn))
    event.listen(database.sync_engine, "close", lambda conn, _record: closed.append(conn))
    desk = Desk(SqlUnitOfWorkFactory(database), Renderer())
    messages = []
    for i in range(CUSTOMERS):
        person = Person("test", f"U{i}", f"Customer {i}")
        command = c.RelayCustomerMessage(person, Source("test", "W", f"D{i}"), f"Order {i}")
        messages.append(desk.handle(command, c.Caller(person, event_id=f"E{i}")))
    replies = await asyncio.gather(*messages)
    assert len({r.ticket_number for r in replies if r.ok}) == CUSTOMERS
    assert len(opened) <= CONNECTIONS
    assert closed == []  # all kept for the next burst
