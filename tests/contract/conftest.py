"""One contract for the storage ports of bot.ports, run against each implementation: the
in-memory fakes the core's unit tests run on (tests.unit.fakes), SQL on SQLite and SQL on
PostgreSQL. SQL is the reference: a test that only the fake fails is the fake's bug.

The PostgreSQL backend uses the schema tests.storage.conftest names (SUPPORTBOT_TEST_SCHEMA)
and, as there, skips when the server is out of reach, except in CI, where it fails."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest

from bot.model import Customer, Person, Priority, Source, Ticket
from bot.ports import (
    BlockRepository,
    CursorRepository,
    CustomerRepository,
    DutyRepository,
    EventRepository,
    InboundRepository,
    MessageRepository,
    OutboxRepository,
    ReminderRepository,
    ReportRepository,
    SnippetRepository,
    TicketRepository,
    TranscriptRepository,
    UnitOfWork,
    UnitOfWorkFactory,
)
from storage.engine import Database
from storage.uow import SqlUnitOfWorkFactory
from tests.storage.conftest import fresh_database
from tests.unit.fakes import (
    FakeBlocks,
    FakeCursors,
    FakeCustomers,
    FakeDuty,
    FakeEvents,
    FakeInbound,
    FakeMessages,
    FakeOutbox,
    FakeReminders,
    FakeReports,
    FakeSnippets,
    FakeTickets,
    FakeTranscripts,
    FakeUnitOfWork,
    FakeUnitOfWorkFactory,
    Store,
)

BACKENDS = ["fake", "sqlite", "postgresql"]
TOKYO = timezone(timedelta(hours=9))
# not UTC, and with microseconds: what comes back must be the same instant, in UTC
AT = datetime(2026, 11, 24, 9, 30, 15, 123456, tzinfo=TOKYO)
SECOND = timedelta(seconds=1)
BOB = Person("slack", "UBOB", "Bob")
CAROL = Person("discord", "1001", "Carol")


@pytest.fixture(params=BACKENDS)
async def uow_factory(
    request: pytest.FixtureRequest, tmp_path: Path
) -> AsyncIterator[UnitOfWorkFactory]:
    """A factory of units of work on an empty store, for each backend."""
    if request.param == "fake":
        yield FakeUnitOfWorkFactory()
        return
    database = await fresh_database(request.param, tmp_path)
    try:
        yield SqlUnitOfWorkFactory(database)
    finally:
        await database.dispose()


def _fakes_satisfy_the_ports(store: Store, database: Database) -> list[UnitOfWorkFactory]:
    """Never called: mypy checks here that the fakes (and SQL) implement bot.ports."""
    uow = FakeUnitOfWork(store)
    _: tuple[
        TicketRepository,
        CustomerRepository,
        EventRepository,
        MessageRepository,
        OutboxRepository,
        InboundRepository,
        CursorRepository,
        ReminderRepository,
        ReportRepository,
        BlockRepository,
        TranscriptRepository,
        SnippetRepository,
        DutyRepository,
        UnitOfWork,
    ] = (
        FakeTickets(uow),
        FakeCustomers(uow),
        FakeEvents(uow),
        FakeMessages(uow),
        FakeOutbox(uow),
        FakeInbound(uow),
        FakeCursors(uow),
        FakeReminders(uow),
        FakeReports(uow),
        FakeBlocks(uow),
        FakeTranscripts(uow),
        FakeSnippets(uow),
        FakeDuty(uow),
        uow,
    )
    return [FakeUnitOfWorkFactory(store), SqlUnitOfWorkFactory(database)]


async def add_customer(
    uow: UnitOfWork, user_id: str = "U1", name: str = "Ayumi", platform: str = "slack"
) -> int:
    customer = Customer(None, name, "ja")
    await uow.customers.add(customer, platform, user_id)
    assert customer.id is not None
    return customer.id


def new_ticket(number: int, customer_id: int, **fields: object) -> Ticket:
    """A ticket as the desk opens it; `fields` change any of its fields."""
    ticket = Ticket(
        id=None,
        number=number,
        subject="至急: ログインできません",
        customer_id=customer_id,
        customer_name="Ayumi",
        locale="ja",
        source=Source("slack", "T1", "D1", is_dm=True),
        created_at=AT,
        updated_at=AT + timedelta(minutes=5),
        priority=Priority.URGENT,
    )
    for name, value in fields.items():
        assert hasattr(ticket, name), name
        setattr(ticket, name, value)
    return ticket


async def add_ticket(uow: UnitOfWork, number: int, customer_id: int, **fields: object) -> Ticket:
    ticket = new_ticket(number, customer_id, **fields)
    await uow.tickets.add(ticket)
    assert ticket.id is not None
    return ticket


def in_utc(at: datetime | None) -> bool:
    return at is not None and at.utcoffset() == timedelta(0) and at.tzinfo is UTC
