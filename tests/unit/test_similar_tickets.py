"""Similar tickets: the index over closed tickets, and `/ticket similar` at the desk."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from bot.desk import RUSH
from bot.desk.similar import SimilarTickets, TicketIndex
from bot.kinds import MessageKind
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
    index.add(ClosedTicket(1, AT + timedelta(days=1), "Sync stopped on my phone", ""))
    assert len(index) == 1
    assert index.search("pdf", 5) == []
    assert [t for t, _ in index.search("sync phone", 5)] == [1]


def test_the_same_close_read_again_adds_nothing() -> None:
    # every catch-up reads the minutes before its mark again: the index must not grow
    index = TicketIndex()
    for _ in range(3):
        index.add(_closed(1, "Export to PDF fails"))
        index.add(_closed(2, "Sync stopped on my phone"))
    assert (len(index), index.entries) == (2, 2)


def test_a_question_of_only_common_words_still_finds_its_tickets() -> None:
    index = TicketIndex()
    for n in range(1, 81):  # a desk of email questions: every word of them is common
        index.add(_closed(n, "Update my email address", f"please change it, order {n}"))
    for n in range(81, 201):
        index.add(_closed(n, f"Printer jam number {n}"))
    found = index.search("update my email address", 5)
    assert len(found) == 5
    assert all(ticket_id <= 80 for ticket_id, _ in found)


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


OTHERS = [
    "How do I change my email address?",
    "My invoice shows the wrong VAT number",
    "The app crashes when I open the settings",
    "I was charged twice this month",
]


async def _closed_world() -> tuple[World, StoreClosedTickets]:
    """Six closed tickets, two of them about PDF exports (#1, #2), and the index built."""
    world, source = _world()
    await world.customer_says("The export to PDF fails with an error", name="ann")
    await world.customer_says("Exporting to PDF shows an error", name="ben")
    for i, text in enumerate(OTHERS):
        await world.customer_says(text, name=f"other{i}")
    await world.staff_says("/ticket close #1 fixed in 2.3")
    await world.staff_says("/ticket close #2 answered")
    for number in range(3, 3 + len(OTHERS)):
        await world.staff_says(f"/ticket close #{number} done")
    assert world.desk.similar is not None
    await world.desk.similar.catch_up()
    await world.delivered()
    return world, source


def _cards(world: World, number: int) -> list[str]:
    return [
        m.body
        for m in world.out.delivered
        if m.ticket_number == number and m.kind in (MessageKind.CARD, MessageKind.CARD_UPDATE)
    ]


async def test_a_new_tickets_card_names_closed_tickets_like_it_and_keeps_them() -> None:
    world, _ = await _closed_world()
    await world.customer_says("PDF export error again", name="ann")  # #7, ann's second
    await world.delivered()
    [card] = _cards(world, 7)
    assert "Customer: Ann (1 earlier ticket)" in card
    similar = card[card.index("Closed tickets like this one:") :].splitlines()
    assert sorted(similar[1:]) == [
        "• [#1](ticket:1) The export to PDF fails with an error: fixed in 2.3",
        "• [#2](ticket:2) Exporting to PDF shows an error: answered",
    ]
    # a later update of the card is rendered from the stored ticket: it says them still
    await world.staff_says("/ticket claim #7")
    await world.delivered()
    [_, updated] = _cards(world, 7)
    assert "(1 earlier ticket)" in updated
    assert all(line in updated for line in similar)
    # the card carries where their threads are, for the platforms' links
    [posted] = [m for m in world.out.delivered if m.ticket_number == 7 and m.kind == "card"]
    assert set(posted.data["links"]) == {"1", "2"}


async def test_nothing_much_alike_puts_nothing_on_the_card() -> None:
    world, _ = await _closed_world()
    await world.customer_says("My parcel is late", name="cat")
    await world.delivered()
    [card] = _cards(world, 7)
    assert "Closed tickets like" not in card


async def test_in_a_rush_the_cards_wait_for_nothing_and_name_none() -> None:
    world, _ = await _closed_world()
    # one transaction holds the desk while a rush of customers writes
    async with world.factory() as holding:
        await holding.tickets.next_number()
        rush = [
            asyncio.create_task(world.customer_says("PDF export error", name=f"c{i}"))
            for i in range(RUSH + 2)
        ]
        for _ in range(5):
            await asyncio.sleep(0)  # each is under way, waiting for its turn
        await holding.rollback()
    await asyncio.gather(*rush)
    await world.delivered()
    first = min(t.number for t in world.store.tickets.values() if t.number > 6)
    assert "Closed tickets like" not in _cards(world, first)[0]
    # the rush over, a new ticket's card names them again
    await world.customer_says("PDF export error", name="late")
    await world.delivered()
    latest = max(t.number for t in world.store.tickets.values())
    assert "Closed tickets like this one:" in _cards(world, latest)[0]


class SlowClosedTickets(StoreClosedTickets):
    """Its first read waits until the test lets it go: the first build still under way."""

    def __init__(self, store: Store) -> None:
        super().__init__(store)
        self.go = asyncio.Event()

    async def closed_after(
        self, after: tuple[datetime, int] | None, limit: int
    ) -> list[ClosedTicket]:
        await self.go.wait()
        return await super().closed_after(after, limit)


async def test_while_the_first_build_reads_history_similar_answers_at_once_and_says_so() -> None:
    world = make_world()
    source = SlowClosedTickets(world.store)
    similar = world.desk.similar = SimilarTickets(source)
    await world.customer_says("The export to PDF fails with an error", name="ann")
    await world.staff_says("/ticket close #1 fixed in 2.3")
    await world.customer_says("PDF export error again", name="ben")  # #2
    similar.start()
    await asyncio.sleep(0)
    shown = await world.staff_says("/ticket similar #2")
    assert shown.text.splitlines() == [
        "No closed ticket is like #2 yet.",
        "Still reading earlier closed tickets: in a minute, more may match.",
    ]
    source.go.set()
    await similar.catch_up()  # after the build, which holds the index until it is done
    assert similar.ready
    shown = await world.staff_says("/ticket similar #2")
    assert shown.listed == [1]
    assert "Still reading" not in shown.text
    await similar.stop()
