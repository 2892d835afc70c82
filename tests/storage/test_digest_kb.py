"""What the digest reads for the knowledge base, on SQLite and PostgreSQL: the subjects of
the day's new tickets (its topics) and the questions no article answered, in the order the
desk met them."""

from __future__ import annotations

from datetime import timedelta

from bot.kinds import EventKind
from bot.model import Person, Source, Ticket, TicketEvent
from bot.reports import digest_figures
from storage.engine import Database
from storage.uow import SqlUnitOfWork
from tests.storage.test_digest import NOW, SINCE, _store

ALICE = Person("slack", "U1", "Alice")


def _ticket(number: int, subject: str, hours_ago: float) -> Ticket:
    return Ticket(
        id=number,
        number=number,
        subject=subject,
        customer_id=1,
        customer_name="Alice",
        locale="en",
        source=Source("slack", "W", f"D{number}"),
        created_at=NOW - timedelta(hours=hours_ago),
    )


async def test_the_days_subjects_and_unanswered_questions(database: Database) -> None:
    tickets = [
        _ticket(1, "Refund for my order", 30),  # yesterday's: neither topic nor gap today
        _ticket(2, "I want a refund", 5),
        _ticket(3, "Where is my parcel?", 3),
        _ticket(4, "Refunds take too long", 2),
        _ticket(5, "Parcel never arrived", 1),
    ]
    missed = [
        TicketEvent.of(number, EventKind.KB_MISSED, ALICE, ticket.created_at)
        for number, ticket in ((1, tickets[0]), (5, tickets[4]), (3, tickets[2]))
    ]
    await _store(database, (tickets, missed, []))
    async with SqlUnitOfWork(database) as uow:
        view = await uow.reports.digest_view(SINCE, NOW, NOW + timedelta(hours=15))
    assert sorted(view.new_subjects) == sorted(t.subject for t in tickets[1:])
    assert view.unanswered == [(3, "Where is my parcel?"), (5, "Parcel never arrived")]
    found = digest_figures(view)
    assert found.topics == [("parcel", 2), ("refund", 2)]
    assert found.unanswered == view.unanswered
