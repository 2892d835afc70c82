"""Similar tickets: the index over closed tickets, and `/ticket similar` at the desk."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bot.desk.similar import SimilarTickets, TicketIndex
from bot.knowledge_ports import ClosedTicket
from bot.model import Direction, Status
from tests.unit.conftest import World, make_world
from tests.unit.fakes import Store

AT = datetime(2026, 5, 1, tzinfo=UTC)


def _closed(ticket_id: int, subject: str, text: str = "") -> ClosedTicket:
    return ClosedTicket(ticket_id, AT + timedelta(minutes=ticket_id), subject, text)


def test_the_index_finds_tickets_by_their_words_in_both_languages() -> None:
    index = TicketIndex()
    index.add(_closed(1, "Export to PDF fails", "The PDF export shows an error"))
    index.add(_closed(2, "Change my email", "How do I change the email address?"))
    index.add(_closed(3, "ログインできません", "パスワードを入れてもログインできない"))
    assert [t for t, _ in index.search("exporting to pdf gives an error", 5)] == [1]
    assert [t for t, _ in index.search("ログインできない", 5)] == [3]
    assert index.search("export pdf", 5, exclude=1) == []
    [(_, confidence)] = index.search("pdf export error", 5)
    assert 0 < confidence < 1


def test_a_ticket_closed_again_replaces_its_entry() -> None:
    index = TicketIndex()
    index.add(_closed(1, "Export to PDF fails"))
    index.add(_closed(1, "Sync stopped on my phone"))
    assert len(index) == 1
    assert index.search("pdf", 5) == []
    assert [t for t, _ in index.search("sync phone", 5)] == [1]


class StoreClosedTickets:
    """bot.ports.ClosedTickets over the fake store, as storage.similar reads a database."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.reads = 0

    async def closed_after(
        self, after: tuple[datetime, int] | None, limit: int
    ) -> list[ClosedTicket]:
        self.reads += 1
        found = []
        for ticket in self.store.tickets.values():
            if ticket.status is not Status.CLOSED or ticket.closed_at is None:
                continue
            assert ticket.id is not None
            if after is None or (ticket.closed_at, ticket.id) > after:
                first = next(
                    m.body
                    for m in self.store.messages
                    if m.ticket_id == ticket.id and m.direction is Direction.INBOUND
                )
                found.append(ClosedTicket(ticket.id, ticket.closed_at, ticket.subject, first))
        return sorted(found, key=lambda t: (t.closed_at, t.id))[:limit]


def _world() -> tuple[World, StoreClosedTickets]:
    world = make_world()
    source = StoreClosedTickets(world.store)
    world.desk.similar = SimilarTickets(source)
    return world, source


async def test_agents_see_closed_tickets_like_theirs_and_never_a_reopened_one() -> None:
    world, source = _world()
    await world.customer_says("The export to PDF fails with an error", name="ann")
    await world.customer_says("Exporting to PDF shows an error", name="ben")
    await world.staff_says("/ticket close #1 fixed in 2.3")
    await world.staff_says("/ticket close #2 same as #1")
    await world.customer_says("PDF export error again", name="cat")  # #3
    shown = await world.staff_says("/ticket similar", in_ticket=3)
    assert shown.text.startswith("Closed tickets like #3:\n• #")
    assert sorted(shown.listed) == [1, 2]
    assert ": fixed in 2.3" in shown.text
    await world.staff_says("/ticket reopen #2")
    again = await world.staff_says("/ticket similar #3")
    assert again.listed == [1]
    reads = source.reads
    await world.staff_says("/ticket similar #3")
    assert source.reads == reads + 1  # only what closed since: one short read


async def test_nothing_alike_says_so_in_the_staffs_language() -> None:
    world, _ = _world()
    await world.customer_says("My parcel is late", name="ann")
    shown = await world.staff_says("/ticket similar #1")
    assert shown.text == "No closed ticket is like #1 yet."
    japanese = make_world(locale="ja")
    japanese.desk.similar = SimilarTickets(StoreClosedTickets(japanese.store))
    await japanese.customer_says("荷物が届きません", name="ann")
    shown = await japanese.staff_says("/ticket similar #1")
    assert shown.text == "#1 に似たクローズ済みのチケットはまだありません。"
    bare = make_world()
    await bare.customer_says("Hello")
    refused = await bare.staff_says("/ticket similar #1")
    assert refused.text == "Similar-ticket search is not set up on this desk."
