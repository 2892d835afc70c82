"""Rolling the schema back to the revision an older version knows, and forward again, on
SQLite and PostgreSQL: with tickets in the database (a SQLite table rebuilt on the way down
is dropped while rows still refer to it), without losing what the older schema holds."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import func, select

from bot import commands as c
from bot.clock import FrozenClock
from bot.desk import Desk
from bot.model import Person, Source
from storage import tables as t
from storage.engine import Database
from storage.migrate import (
    UnknownRevision,
    current_revision,
    downgrade,
    head_revision,
    revisions,
    steps,
    upgrade,
)
from storage.uow import SqlUnitOfWorkFactory
from tests.storage.conftest import fresh_database

# the oldest revision whose rollback rebuilds the tickets table on SQLite (see 0006)
BEFORE_REBUILD = "0005"


async def open_tickets(database: Database, count: int) -> None:
    desk = Desk(SqlUnitOfWorkFactory(database), clock=FrozenClock())
    for n in range(count):
        person = Person("chat", f"c{n}", f"customer {n}")
        command = c.RelayCustomerMessage(person, Source("chat", "W", f"D{n}"), "I need help")
        outcome = await desk.handle(command, c.Caller(person, event_id=f"E{n}"))
        assert outcome.ticket_number == n + 1


async def ticket_count(database: Database) -> int:
    async with database.begin() as conn:
        return int((await conn.execute(select(func.count()).select_from(t.tickets))).scalar_one())


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
async def test_back_past_a_rebuilt_table_with_tickets_and_up_again(
    backend: str, tmp_path: Path
) -> None:
    database = await fresh_database(backend, tmp_path)
    try:
        await open_tickets(database, 3)
        known = revisions()
        newer = known[known.index(BEFORE_REBUILD) + 1 :]
        rolled = await downgrade(database, BEFORE_REBUILD)
        assert rolled == list(reversed(newer))  # newest first, as `migrate --to` prints them
        assert await current_revision(database) == BEFORE_REBUILD
        assert await ticket_count(database) == 3  # the tickets stay, less the newer columns
        assert await upgrade(database) == newer
        assert await current_revision(database) == head_revision()
        assert await ticket_count(database) == 3
        await open_tickets_after(database)
    finally:
        await database.dispose()


async def open_tickets_after(database: Database) -> None:
    """The desk goes on numbering after the round trip."""
    desk = Desk(SqlUnitOfWorkFactory(database), clock=FrozenClock())
    person = Person("chat", "late", "late")
    command = c.RelayCustomerMessage(person, Source("chat", "W", "D-late"), "Still there?")
    outcome = await desk.handle(command, c.Caller(person, event_id="E-late"))
    assert outcome.ticket_number == 4


def test_steps_name_what_a_target_takes() -> None:
    known = revisions()
    head = known[-1]
    assert steps(head, known[-3]) == ([], [head, known[-2]])
    assert steps(known[-3], "head") == ([known[-2], head], [])
    assert steps(None, known[1]) == (known[:2], [])
    assert steps(head, head) == ([], [])
    with pytest.raises(UnknownRevision, match=r"^'0042' is not a migration this version knows"):
        steps(head, "0042")
    with pytest.raises(UnknownRevision, match="the database is at 9999, which this version"):
        steps("9999", known[0])
