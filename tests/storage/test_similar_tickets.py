"""Similar tickets read from the database: closed tickets' subject and first message, in the
order they closed, on SQLite and PostgreSQL, through the real desk."""

from __future__ import annotations

from datetime import timedelta

from bot import commands as c
from bot.clock import FrozenClock
from bot.desk import Desk
from bot.model import Person, Source
from storage.engine import Database
from storage.similar import SqlClosedTickets
from storage.uow import SqlUnitOfWorkFactory

BOB = c.Caller(Person("shell", "bob", "bob"), is_staff=True)


async def _says(desk: Desk, name: str, text: str) -> None:
    person = Person("shell", name, name)
    await desk.handle(
        c.RelayCustomerMessage(person, Source("shell", "", f"dm-{name}"), text), c.Caller(person)
    )


async def test_closed_tickets_like_this_one_with_their_resolution(database: Database) -> None:
    clock = FrozenClock()
    source = SqlClosedTickets(database)
    desk = Desk(SqlUnitOfWorkFactory(database), clock=clock, closed_tickets=source)
    await _says(desk, "ann", "The export to PDF fails with an error")
    await _says(desk, "ben", "How do I change my email address?")
    await _says(desk, "cat", "My invoice shows the wrong VAT number")
    await desk.handle_text("/ticket close #1 fixed in version 2.3", BOB)
    clock.advance(timedelta(minutes=1))
    await desk.handle_text("/ticket close #2 answered", BOB)
    await _says(desk, "dan", "Exporting a notebook to PDF gives an error")  # #4, open

    shown = await desk.handle_text("/ticket similar #4", BOB)
    assert shown.ok, shown.text
    lines = shown.text.splitlines()
    assert lines[0] == "Closed tickets like #4:"
    assert lines[1].startswith("• #1 ")
    assert lines[1].endswith(" The export to PDF fails with an error: fixed in version 2.3")
    assert "#3" not in shown.text  # still open
    assert shown.listed[0] == 1

    # closed since the last search: read before the next one, and only those
    await desk.handle_text("/ticket close #3 VAT corrected", BOB)
    await _says(desk, "eve", "The VAT number on my invoice is wrong")  # #5
    again = await desk.handle_text("/ticket similar #5", BOB)
    assert again.listed[0] == 3
    assert desk.similar is not None
    assert len(desk.similar.index) == 3
    closed = await source.closed_after(None, 10)
    assert [(t.id, t.text) for t in closed] == [
        (1, "The export to PDF fails with an error"),
        (2, "How do I change my email address?"),
        (3, "My invoice shows the wrong VAT number"),
    ]
    assert await source.closed_after((closed[1].closed_at, closed[1].id), 10) == closed[2:]
