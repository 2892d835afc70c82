"""A new ticket's audit line, first message and response reminders wait for the transaction's
next statement and, on PostgreSQL, go in one: every read still sees them, a failure still
keeps nothing, and a new customer's ticket costs five statements there instead of twelve."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import IntegrityError

from bot import commands as c
from bot.clock import FrozenClock
from bot.desk import Desk
from bot.kinds import EventKind, MessageKind
from bot.model import (
    Audience,
    Direction,
    OutboundMessage,
    Person,
    ReminderKind,
    Source,
    TicketEvent,
    TicketMessage,
)
from bot.rendering import Renderer
from storage import tables
from storage.engine import Database
from storage.uow import SqlUnitOfWork, SqlUnitOfWorkFactory
from tests.contract.conftest import AT, BOB, add_customer, add_ticket
from tests.storage.conftest import fresh_database
from tests.storage.sent import SentToPostgresql

LEASE = timedelta(seconds=30)


def _new_customer(n: int) -> tuple[c.RelayCustomerMessage, c.Caller]:
    person = Person("slack", f"U{n}", f"Customer {n}")
    source = Source("slack", "T1", f"D{n}", "", True)
    command = c.RelayCustomerMessage(person, source, "Where is my parcel?")
    return command, c.Caller(person, event_id=f"Ev{n}")


async def test_rows_written_later_are_read_back_in_the_same_transaction(
    database: Database,
) -> None:
    async with SqlUnitOfWork(database) as uow:
        ticket = await add_ticket(uow, 1, await add_customer(uow))
        assert ticket.id is not None
        data = {"nested": {"a": [1, 2]}, "text": "日本語"}
        await uow.events.add(TicketEvent(ticket.id, EventKind.NOTE, BOB, AT, data))
        await uow.messages.add(TicketMessage(ticket.id, Direction.NOTE, BOB, "checking", AT))
        # the caller's dict changes before the row is written
        data["nested"]["a"].append(3)  # type: ignore[index]
        [found] = await uow.events.for_ticket(ticket.id)
        [note] = await uow.messages.for_ticket(ticket.id)
        await uow.commit()
    assert found.data == {"nested": {"a": [1, 2]}, "text": "日本語"}
    assert found.at == AT
    assert note.body == "checking"


async def test_a_row_that_cannot_be_written_fails_the_commit_and_keeps_nothing(
    database: Database,
) -> None:
    async with SqlUnitOfWork(database) as uow:
        ticket = await add_ticket(uow, 1, await add_customer(uow))
        await uow.commit()
    assert ticket.id is not None
    with pytest.raises(IntegrityError):
        await _note_and_a_bad_event(database, ticket.id)
    async with SqlUnitOfWork(database) as uow:
        assert await uow.messages.for_ticket(ticket.id) == []


async def _note_and_a_bad_event(database: Database, ticket_id: int) -> None:
    async with SqlUnitOfWork(database) as uow:
        await uow.messages.add(TicketMessage(ticket_id, Direction.NOTE, BOB, "kept?", AT))
        await uow.events.add(TicketEvent(99_999, EventKind.NOTE, BOB, AT))  # no such ticket
        await uow.commit()


async def test_a_new_customers_ticket_is_whole_after_the_commit(database: Database) -> None:
    desk = Desk(SqlUnitOfWorkFactory(database), Renderer(), clock=FrozenClock())
    for n in range(2):
        outcome = await desk.handle(*_new_customer(n))
        assert outcome.ticket_number == n + 1
    async with SqlUnitOfWork(database) as uow:
        ticket = await uow.tickets.by_number(2)
        assert ticket is not None
        assert ticket.id is not None
        assert [e.kind for e in await uow.events.for_ticket(ticket.id)] == [EventKind.OPENED]
        [message] = await uow.messages.for_ticket(ticket.id)
        reminders = await uow.reminders.open_for_ticket(ticket.id)
    assert message.body == "Where is my parcel?"
    assert message.author == Person("slack", "U1", "Customer 1")
    assert {r.kind for r in reminders} == {ReminderKind.SLA_NUDGE, ReminderKind.SLA_BREACH}

    # the same event delivered again changes nothing
    again = await desk.handle(*_new_customer(1))
    assert again.already_handled


async def test_a_new_customers_ticket_takes_five_statements_on_postgresql(
    tmp_path: Path,
) -> None:
    database = await fresh_database("postgresql", tmp_path)
    desk = Desk(SqlUnitOfWorkFactory(database), Renderer(), clock=FrozenClock())
    # the first ones prepare the statements (the second one's go to asyncpg directly)
    for n in range(2):
        await desk.handle(*_new_customer(n))
    sent = SentToPostgresql(database)
    try:
        await desk.handle(*_new_customer(2))
        await sent.settled()
    finally:
        sent.close()
        await database.dispose()
    # the conversation's lock with the inbound event; the customer found or added; who is
    # on duty; the ticket with its number; its audit line, message, reminders and outbox rows
    assert len(sent.all) == 5, "\n".join(sent.all)
    assert sent.statements == [], "a statement the desk repeats went through SQLAlchemy"


async def test_messages_sent_together_are_marked_in_one_statement_on_postgresql(
    tmp_path: Path,
) -> None:
    database = await fresh_database("postgresql", tmp_path)
    try:
        async with SqlUnitOfWork(database) as uow:  # three tickets' acknowledgements
            customer_id = await add_customer(uow)
            for n in range(3):
                ticket = await add_ticket(uow, n + 1, customer_id)
                message = OutboundMessage("slack", Audience.CUSTOMER, MessageKind.ACK, f"m{n}")
                await uow.outbox.add(replace(message, channel=f"D{n}", ticket_id=ticket.id), AT)
            await uow.commit()
        async with SqlUnitOfWork(database) as uow:
            claimed = await uow.outbox.claim(AT, 10, "w", AT + LEASE, customers_only=False)
            await uow.commit()
        assert len(claimed) == 3
        sent = SentToPostgresql(database)
        try:
            async with SqlUnitOfWork(database) as uow:
                for message in claimed:
                    assert message.id is not None
                    await uow.outbox.mark_sent(message.id, f"ts-{message.body}", AT)
                await uow.commit()
            await sent.settled()
        finally:
            sent.close()
        assert len(sent.all) == 1, "\n".join(sent.all)
        async with database.begin() as conn:  # each row marked as its own, counted once
            ob = tables.outbox.c
            rows = await conn.execute(
                select(ob.body, ob.status, ob.platform_message_id, ob.attempts, ob.lease_owner)
            )
            found = sorted(tuple(row) for row in rows)
        assert found == [(f"m{n}", "sent", f"ts-m{n}", 1, None) for n in range(3)]
    finally:
        await database.dispose()


async def test_conversations_held_one_after_another_are_all_locked(tmp_path: Path) -> None:
    """A command that holds a customer's conversation, then the routing lock, before its next
    statement: both are locked by then (on PostgreSQL the lock goes with that statement)."""
    database = await fresh_database("postgresql", tmp_path)
    try:
        async with SqlUnitOfWork(database) as uow:
            await uow.hold_conversation("slack:D1")
            await uow.hold_conversation("routing")
            assert await uow.tickets.by_number(1) is None  # the next statement
            conn = uow.tickets.conn  # type: ignore[attr-defined]
            held = await conn.execute(
                text(
                    "SELECT count(*) FROM pg_locks "
                    "WHERE locktype = 'advisory' AND pid = pg_backend_pid()"
                )
            )
            assert held.scalar() == 2
    finally:
        await database.dispose()


async def test_outbox_rows_written_with_waiting_rows_are_numbered_in_their_order(
    database: Database,
) -> None:
    """On PostgreSQL the outbox rows go in the statement that writes the waiting rows: a
    conversation's messages still go out in the order they were written."""
    async with SqlUnitOfWork(database) as uow:
        ticket = await add_ticket(uow, 1, await add_customer(uow))
        await uow.commit()
    assert ticket.id is not None
    async with SqlUnitOfWork(database) as uow:
        await uow.events.add(TicketEvent(ticket.id, EventKind.NOTE, BOB, AT, {}))  # waits
        await uow.messages.add(TicketMessage(ticket.id, Direction.NOTE, BOB, "checking", AT))
        for n in range(12):
            message = OutboundMessage("slack", Audience.STAFF, MessageKind.NOTICE, f"m{n}")
            await uow.outbox.add(replace(message, ticket_id=ticket.id, channel="C1"), AT)
        await uow.commit()
    async with database.begin() as conn:
        ob = tables.outbox.c
        found = await conn.execute(select(ob.id, ob.body).order_by(ob.id))
        rows = [(int(row.id), str(row.body)) for row in found]
    assert [body for _, body in rows] == [f"m{n}" for n in range(12)]
    async with SqlUnitOfWork(database) as uow:
        [first] = await uow.outbox.claim(AT, 10, "w", AT + LEASE, customers_only=False)
        assert [e.kind for e in await uow.events.for_ticket(ticket.id)] == [EventKind.NOTE]
    assert (first.id, first.body) == rows[0]
