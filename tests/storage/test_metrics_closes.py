"""The closes metric as a running total: each scrape counts only the Closed events after
those it has settled, yet says what counting every close would say, on SQLite and
PostgreSQL, also for a close whose transaction committed after a later one (PostgreSQL hands
out ids in one order and commits in another)."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta

from sqlalchemy import func, insert, select

from bot import commands as c
from bot.clock import FrozenClock
from bot.desk import Desk
from bot.kinds import EventKind
from bot.model import Person, Source
from storage import tables as t
from storage.engine import Database
from storage.metrics import SETTLE, Closes, desk_figures
from storage.uow import SqlUnitOfWorkFactory

AGENT = c.Caller(Person("chat", "bob", "bob"), is_staff=True)


async def open_and_close(desk: Desk, name: str) -> int:
    person = Person("chat", name, name)
    command = c.RelayCustomerMessage(person, Source("chat", "W", f"D-{name}"), "I need help")
    number = (await desk.handle(command, c.Caller(person, event_id=f"E-{name}"))).ticket_number
    assert number is not None
    assert (await desk.handle(c.CloseTicket("done", number), AGENT)).ok
    return number


async def every_close(database: Database) -> Counter[str]:
    return (await desk_figures(database)).closed  # no running total: counted from the start


async def test_the_running_total_says_what_counting_every_close_says(database: Database) -> None:
    clock = FrozenClock()
    desk = Desk(SqlUnitOfWorkFactory(database), clock=clock)
    closes = Closes(clock.now)
    for name in ("ann", "ben", "cat"):
        await open_and_close(desk, name)
    assert (await desk_figures(database, closes)).closed == Counter(chat=3)
    assert closes.upto == 0  # nothing settled yet: the first scrapes count every close

    clock.advance(SETTLE)
    assert (await desk_figures(database, closes)).closed == Counter(chat=3)
    async with database.begin() as conn:
        last = (await conn.execute(select(func.max(t.ticket_events.c.id)))).scalar_one()
    assert closes.upto == last  # settled: from now on only newer events are read

    number = await open_and_close(desk, "dan")
    assert (await desk.handle(c.ReopenTicket(number=number), AGENT)).ok
    assert (await desk.handle(c.CloseTicket("done again", number), AGENT)).ok
    assert (
        (await desk_figures(database, closes)).closed
        == Counter(chat=5)
        == (await every_close(database))
    )
    clock.advance(SETTLE)
    assert (await desk_figures(database, closes)).closed == Counter(chat=5)
    assert (await desk_figures(database, closes)).closed == Counter(chat=5)


async def test_a_close_committed_late_under_an_older_id_is_counted(database: Database) -> None:
    clock = FrozenClock()
    desk = Desk(SqlUnitOfWorkFactory(database), clock=clock)
    await open_and_close(desk, "ann")
    closes = Closes(clock.now)
    async with database.begin() as conn:
        ticket = (await conn.execute(select(t.tickets.c.id))).scalar_one()
        last = (await conn.execute(select(func.max(t.ticket_events.c.id)))).scalar_one()
        # a later transaction committed first, under a higher id
        await conn.execute(insert(t.ticket_events), [closed(ticket, last + 10)])
    assert (await desk_figures(database, closes)).closed == Counter(chat=2)  # marks last + 10
    clock.advance(SETTLE / 2)
    assert (await desk_figures(database, closes)).closed == Counter(chat=2)
    assert closes.upto == 0  # last + 10 is not settled yet: a lower id may still commit
    async with database.begin() as conn:  # the earlier one commits now, under a lower id
        await conn.execute(insert(t.ticket_events), [closed(ticket, last + 5)])
    assert (await desk_figures(database, closes)).closed == Counter(chat=3)
    clock.advance(SETTLE / 2)
    assert (await desk_figures(database, closes)).closed == Counter(chat=3)  # folds last + 10
    assert closes.upto == last + 10
    assert (await desk_figures(database, closes)).closed == Counter(chat=3)
    assert await every_close(database) == Counter(chat=3)


def closed(ticket: int, event_id: int) -> dict[str, object]:
    return {
        "id": event_id,
        "ticket_id": ticket,
        "kind": EventKind.CLOSED.value,
        "actor_ref": "chat:bob",
        "actor_name": "bob",
        "at": FrozenClock().now() + timedelta(minutes=1),
        "data": {},
    }
