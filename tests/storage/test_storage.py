"""The same repository and desk tests on SQLite and on PostgreSQL."""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime, timedelta

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import func, select, text

from bot import commands as c
from bot.clock import FrozenClock
from bot.delivery.sender import OutboxSender
from bot.desk import Desk
from bot.model import Person, Source, Status
from bot.rendering import Renderer
from storage import tables as t
from storage.engine import Database
from storage.migrate import head_revision, upgrade
from storage.uow import SqlUnitOfWork, SqlUnitOfWorkFactory
from tests.unit.fakes import FakeDeliverer

ALICE = Person("test", "U1", "Alice")


def _desk(
    database: Database,
    factory: SqlUnitOfWorkFactory | None = None,
    clock: FrozenClock | None = None,
) -> Desk:
    return Desk(factory or SqlUnitOfWorkFactory(database), Renderer(), clock=clock or FrozenClock())


def _staff(name: str, number: int | None = None) -> c.Caller:
    return c.Caller(Person("test", f"S-{name}", name), is_staff=True, in_ticket=number)


async def _say(desk: Desk, text_: str, who: Person = ALICE, event_id: str = "") -> int | None:
    reply = await desk.handle(
        c.RelayCustomerMessage(who, Source("test", "W", f"D-{who.user_id}"), text_),
        c.Caller(who, event_id=event_id),
    )
    return reply.ticket_number


async def test_migrations_from_empty_build_exactly_the_declared_schema(database: Database) -> None:
    async with database.begin() as conn:
        diffs = await conn.run_sync(
            lambda sync: compare_metadata(MigrationContext.configure(sync), t.metadata)
        )
        version = (await conn.execute(text("SELECT version_num FROM alembic_version"))).scalar()
        counter = (await conn.execute(select(t.counters.c.value))).scalar()
    assert diffs == []
    assert version == head_revision()
    assert counter == 0
    assert await upgrade(database) == []  # a second run changes nothing


async def test_a_ticket_round_trips_with_its_history(database: Database) -> None:
    clock = FrozenClock(datetime(2026, 5, 1, 8, 0, tzinfo=UTC))
    desk = _desk(database, clock=clock)
    assert await _say(desk, "Refund for order 7\n\nplease", event_id="E1") == 1
    clock.advance(timedelta(minutes=5))
    assert (await desk.handle_text("/ticket claim #1", _staff("bob"))).ok
    await desk.handle(c.RelayAgentMessage(1, "On it"), _staff("bob"))
    await desk.handle_text("/ticket followup #1 in 1d call back", _staff("bob"))
    await desk.handle_text("/ticket close #1 refunded", _staff("bob"))
    async with SqlUnitOfWork(database) as uow:
        ticket = await uow.tickets.by_number(1)
        assert ticket is not None
        assert ticket.id is not None
        events = await uow.events.for_ticket(ticket.id)
        messages = await uow.messages.for_ticket(ticket.id)
        reminders = await uow.reminders.open_for_ticket(ticket.id)
    assert ticket.status is Status.CLOSED
    assert ticket.subject == "Refund for order 7"
    assert ticket.first_response_at == datetime(2026, 5, 1, 8, 5, tzinfo=UTC)
    assert ticket.assignee == Person("test", "S-bob", "bob")
    assert [e.kind for e in events] == [
        "opened",
        "claimed",
        "first_response",
        "status",
        "followup_scheduled",
        "closed",
    ]
    assert events[0].data == {"priority": "high", "keyword": "refund"}
    assert [m.body for m in messages] == ["Refund for order 7\n\nplease", "On it"]
    assert reminders[0].due_at == datetime(2026, 5, 2, 8, 5, tzinfo=UTC)
    shown = await desk.handle_text("/ticket show #1", _staff("carol"))
    assert "· bob closed the ticket: refunded (5 minutes after it opened)." in shown.text


async def test_a_replayed_event_creates_nothing_twice(database: Database) -> None:
    desk = _desk(database)
    results = await asyncio.gather(*[_say(desk, "hello", event_id="Ev-1") for _ in range(3)])
    assert min(results, key=str) == 1
    async with database.begin() as conn:
        assert (await conn.execute(select(func.count()).select_from(t.tickets))).scalar() == 1
        assert (await conn.execute(select(func.count()).select_from(t.outbox))).scalar() == 3
        assert (
            await conn.execute(select(func.count()).select_from(t.inbound_events))
        ).scalar() == 1


async def test_concurrent_intake_hands_out_distinct_numbers(database: Database) -> None:
    desk = _desk(database)
    people = [Person("test", f"U{i}", f"C{i}") for i in range(12)]
    numbers = await asyncio.gather(*[_say(desk, "help", who) for who in people])
    assert sorted(n for n in numbers if n is not None) == list(range(1, 13))


class _OverlappingUnitOfWork(SqlUnitOfWork):
    """Waits after its first ticket read until every party has read the ticket, so the
    claims really overlap (PostgreSQL; SQLite serializes writers at BEGIN instead)."""

    def __init__(self, database: Database, barrier: asyncio.Barrier, waits: list[int]) -> None:
        super().__init__(database)
        self.barrier, self.waits = barrier, waits

    async def __aenter__(self):  # type: ignore[no-untyped-def]
        await super().__aenter__()
        read = self.tickets.by_number

        async def by_number(number: int):  # type: ignore[no-untyped-def]
            ticket = await read(number)
            if self.waits[0] > 0:  # only the first read of each party; retries go straight on
                self.waits[0] -= 1
                await asyncio.wait_for(self.barrier.wait(), 10)
            return ticket

        self.tickets.by_number = by_number  # type: ignore[method-assign]
        return self


class _OverlappingFactory(SqlUnitOfWorkFactory):
    def __init__(self, database: Database, parties: int) -> None:
        super().__init__(database)
        self.barrier, self.waits = asyncio.Barrier(parties), [parties]

    def __call__(self) -> SqlUnitOfWork:
        return _OverlappingUnitOfWork(self.database, self.barrier, self.waits)


async def test_two_agents_claim_at_once_exactly_one_wins(
    database: Database, backend: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, "bot.desk")
    await _say(_desk(database), "urgent: site down")
    # two bot processes on one database: each desk has its own transactions
    factory = _OverlappingFactory(database, 2) if backend == "postgresql" else None
    replies = await asyncio.gather(
        _desk(database, factory).handle_text("/ticket claim #1", _staff("bob")),
        _desk(database, factory).handle_text("/ticket claim #1", _staff("carol")),
    )
    winners = [r for r in replies if r.ok]
    losers = [r for r in replies if not r.ok]
    assert len(winners) == 1
    assert len(losers) == 1
    async with SqlUnitOfWork(database) as uow:
        ticket = await uow.tickets.by_number(1)
        assert ticket is not None
        assert ticket.id is not None
        claims = [e for e in await uow.events.for_ticket(ticket.id) if e.kind == "claimed"]
    assert ticket.assignee is not None
    assert len(claims) == 1
    assert f"held by {ticket.assignee.name}" in losers[0].text
    if backend == "postgresql":  # the loser's write really collided and was retried
        assert "changed under ClaimTicket, retrying" in caplog.text


async def test_sender_delivers_through_the_database(database: Database) -> None:
    clock = FrozenClock()
    out = FakeDeliverer("test")
    factory = SqlUnitOfWorkFactory(database)
    sender = OutboxSender(factory, {"test": out}, clock, Renderer())
    desk = Desk(factory, Renderer(), clock=clock)
    big = "ä" * 50_000
    await _say(desk, "line\n" + big + "\x00")
    await sender.drain()
    assert [m.kind for m in out.delivered] == ["ack", "card", "customer_message"]
    assert out.delivered[2].body == "line\n" + big + "\ufffd"
    async with SqlUnitOfWork(database) as uow:
        ticket = await uow.tickets.by_number(1)
        assert ticket is not None
        assert ticket.staff_thread == f"th{ticket.id}"
        assert await uow.outbox.pending_count() == 0
    async with database.begin() as conn:
        rows = await conn.execute(select(t.outbox.c.platform_message_id).order_by(t.outbox.c.id))
        stored = [row[0] for row in rows]
    assert sorted(stored) == ["pm1", "pm2", "pm3"]  # the platform's ids, kept for dedupe
