"""Messages a customer sends in quick succession reach staff in the order they were sent,
although the database is off the event loop and they are handled concurrently."""

from __future__ import annotations

import asyncio

from bot import commands as c
from bot.desk import Desk
from bot.model import Person, Source
from bot.rendering import Renderer
from storage.engine import Database
from storage.uow import SqlUnitOfWork, SqlUnitOfWorkFactory


async def test_a_burst_from_one_customer_is_relayed_in_order(database: Database) -> None:
    desk = Desk(SqlUnitOfWorkFactory(database), Renderer())
    alice = Person("slack", "UALICE", "Alice")
    source = Source("slack", "T1", "DALICE", "", True)
    texts = [f"part {i} of my question" for i in range(12)]
    replies = await asyncio.gather(
        *(
            desk.handle(
                c.RelayCustomerMessage(alice, source, text), c.Caller(alice, event_id=f"E{i}")
            )
            for i, text in enumerate(texts)
        )
    )
    assert {r.ticket_number for r in replies} == {1}  # one ticket, not twelve
    async with SqlUnitOfWork(database) as uow:
        ticket = await uow.tickets.by_number(1)
        assert ticket is not None
        assert ticket.id is not None
        stored = [m.body for m in await uow.messages.for_ticket(ticket.id)]
        now = ticket.created_at
        due = await uow.outbox.claim(now, 1000, "w", now, customers_only=False)
    assert stored == texts
    staff = [m for m in due if m.audience.value == "staff"]
    assert staff[0].kind == "card"  # the oldest of the staff thread's conversation goes first


async def test_two_processes_take_one_customer_burst_into_one_ticket(database: Database) -> None:
    # two desks on one database: two `supportbot run` processes, each with its own InOrder
    desks = [Desk(SqlUnitOfWorkFactory(database), Renderer()) for _ in range(2)]
    bob = Person("slack", "UBOB", "Bob")
    source = Source("slack", "T1", "DBOB", "", True)
    texts = [f"line {i}" for i in range(12)]
    replies = await asyncio.gather(
        *(
            desks[i % 2].handle(
                c.RelayCustomerMessage(bob, source, text), c.Caller(bob, event_id=f"B{i}")
            )
            for i, text in enumerate(texts)
        )
    )
    assert {r.ticket_number for r in replies} == {1}  # one ticket, whichever process took it
    async with SqlUnitOfWork(database) as uow:
        ticket = await uow.tickets.by_number(1)
        assert ticket is not None
        assert ticket.id is not None
        stored = [m.body for m in await uow.messages.for_ticket(ticket.id)]
    assert sorted(stored) == sorted(texts)
