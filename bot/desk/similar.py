"""Similar tickets for agents: a new ticket's card names up to three earlier closed tickets
most like it, and `/ticket similar [#N]` lists more, with their resolution.

An index in memory over each closed ticket's subject and first customer message, built in
the background when the bot starts, and brought up to date from the tickets closed since
(bot.ports.ClosedTickets) before each `/ticket similar` and, every so often, in the
background. It scores as the knowledge base does (BM25 over the same English
and Japanese terms, bot.knowledge), and keeps its postings in flat arrays: a hundred thousand
tickets take tens of megabytes, not hundreds."""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import logging
import math
import threading
import time
from array import array
from collections import Counter, defaultdict
from datetime import datetime, timedelta

from bot import commands as c
from bot.desk.context import CommandContext
from bot.knowledge.index import K1, B, idf, squash
from bot.knowledge.text import Analyser
from bot.knowledge_ports import ClosedTicket, ClosedTickets
from bot.model import Direction, SimilarTicket, Ticket
from bot.ports import Outcome, StorageOutage
from bot.reports import DEFLECTED

log = logging.getLogger(__name__)
SLICE = 2000  # closed tickets read at a time
CATCH_UP_MARGIN = timedelta(minutes=10)
REFRESH = 60.0  # seconds between background catch-ups, as new tickets open
SHOWN = 5
ON_CARD = 3
# a card names a ticket only this like the new one: a weak match is noise on every card
CARD_CONFIDENCE = 0.5
# a term in more of the tickets than this share tells little apart, and its postings would
# cost a search most of its time
COMMON = 0.05
NORM_DRIFT = 0.02  # the share the average length may move before the length factors follow


class TicketIndex:
    """Closed tickets by their words; a ticket closed again replaces its earlier entry.

    Postings are flat arrays (4-byte documents, 2-byte counts), and each document's BM25
    length factor is worked out when it is added (again when the average length has moved
    by more than NORM_DRIFT), not at every search: a search's time is its postings' loop."""

    def __init__(self, analyser: Analyser | None = None) -> None:
        self.analyser = analyser or Analyser()
        self._docs: dict[str, array[int]] = {}  # term -> documents, in the order added
        self._counts: dict[str, array[int]] = {}  # term -> its count in each of them
        self._ticket = array("q")  # document -> ticket id (0: replaced since)
        self._closed = array("d")  # document -> when its ticket closed (POSIX seconds)
        self._length = array("I")
        self._norm = array("d")  # document -> K1 * (1 - B + B * length / average)
        self._normed_average = 0.0  # the average length the factors were worked out with
        self._doc_of: dict[int, int] = {}
        self._total = 0  # the live documents' lengths

    def __len__(self) -> int:
        return len(self._doc_of)

    @property
    def entries(self) -> int:
        """Documents held, replaced ones too: what the index's memory grows with."""
        return len(self._ticket)

    def add(self, ticket: ClosedTicket) -> None:
        closed = ticket.closed_at.timestamp()
        if (earlier := self._doc_of.get(ticket.id)) is not None:
            if self._closed[earlier] == closed:
                return  # read again (a catch-up's margin): the same close, indexed already
            self._ticket[earlier] = 0
            self._total -= self._length[earlier]
        terms = Counter(self.analyser.terms(_words(ticket)))
        length = sum(terms.values())
        doc = len(self._ticket)
        self._doc_of[ticket.id] = doc
        self._ticket.append(ticket.id)
        self._closed.append(closed)
        self._length.append(length)
        self._total += length
        self._norm.append(self._norm_of(length, self._normed_average or self._average()))
        for term, count in terms.items():
            self._docs.setdefault(term, array("i")).append(doc)
            self._counts.setdefault(term, array("H")).append(min(count, 0xFFFF))

    def settle(self) -> None:
        """After a batch of additions: the length factors follow the average length."""
        average = self._average()
        if abs(average - self._normed_average) > NORM_DRIFT * average:
            self._normed_average = average
            self._norm = array("d", (self._norm_of(n, average) for n in self._length))

    def search(self, text: str, limit: int, exclude: int = 0) -> list[tuple[int, float]]:
        """(ticket id, confidence 0..1 as bot.knowledge.index's), best first."""
        size = len(self._doc_of)
        if not size:
            return []
        common = max(50, COMMON * size)
        found = [
            (term, docs)
            for term in set(self.analyser.terms(text))
            if (docs := self._docs.get(term))
        ]
        kept = [(term, docs) for term, docs in found if len(docs) <= common]
        if found and not kept:
            # every word of it is common ("update my email address" on a desk of email
            # questions): the rarest two still tell the tickets apart
            kept = sorted(found, key=lambda pair: len(pair[1]))[:2]
        scores: defaultdict[int, float] = defaultdict(float)
        norm = self._norm
        for term, docs in kept:
            weight = idf(size, len(docs)) * (K1 + 1)
            for doc, count in zip(docs, self._counts[term], strict=True):
                scores[doc] += weight * count / (count + norm[doc])
        live = [d for d in scores if self._ticket[d] not in (0, exclude)]
        best = heapq.nsmallest(limit, live, key=lambda d: (-scores[d], d))
        rarest = idf(size, 0)
        return [(self._ticket[d], squash(scores[d] / rarest)) for d in best]

    def _average(self) -> float:
        return self._total / len(self._doc_of) if self._doc_of else 1.0

    @staticmethod
    def _norm_of(length: int, average: float) -> float:
        return K1 * (1 - B + B * length / (average or 1.0))


def _words(ticket: ClosedTicket) -> str:
    """Subject and first message; a subject that is the message's own first line once."""
    subject = ticket.subject.removesuffix("…")
    return (
        ticket.text
        if subject and ticket.text.startswith(subject)
        else f"{ticket.subject}\n{ticket.text}"
    )


class SimilarTickets:
    """The index and where its tickets come from; one catch-up at a time."""

    def __init__(self, source: ClosedTickets) -> None:
        self.source = source
        self.index = TicketIndex()
        self._mark: tuple[datetime, int] | None = None
        self._lock = asyncio.Lock()
        # the index is changed by a catch-up and read by searches, each on a worker thread
        self._index_lock = threading.Lock()
        self._built = False  # every ticket closed before the first catch-up is in
        self._started_at = -math.inf  # monotonic seconds of the last catch-up's start
        self._background: asyncio.Task[None] | None = None

    @property
    def ready(self) -> bool:
        return self._built

    def start(self) -> None:
        """Build (or bring up to date) the index in the background: no search waits for
        the whole history to be read."""
        if self._background is None or self._background.done():
            self._background = asyncio.create_task(self._catch_up_quietly())

    def refresh_soon(self) -> None:
        """A built index catches up in the background, at most every REFRESH seconds."""
        if self._built and time.monotonic() - self._started_at > REFRESH:
            self.start()

    async def stop(self) -> None:
        if self._background is not None and not self._background.done():
            self._background.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._background
        self._background = None

    async def before_search(self) -> None:
        """Before `/ticket similar`: caught up, unless the first build is under way (the
        search then covers what it has read so far, and says so)."""
        if self._built or not self._lock.locked():
            await self.catch_up()

    async def _catch_up_quietly(self) -> None:
        try:
            await self.catch_up()
        except StorageOutage as outage:  # the next catch-up tries again
            log.warning("similar tickets: index not brought up to date: %s", outage)
        except Exception:  # a search index must never take the desk down
            log.exception("similar tickets: index not brought up to date")

    async def catch_up(self) -> None:
        """Index the tickets closed since the last catch-up (every one, the first time).
        Outside any transaction: the first time reads the whole history."""
        async with self._lock:
            self._started_at = time.monotonic()
            await self._catch_up()
            self._built = True

    async def _catch_up(self) -> None:
        # from a little before the last mark: a close stamped earlier may commit later
        # (another process, or a transaction that waited for its turn); the index
        # replaces a ticket it holds already
        after = None if self._mark is None else (self._mark[0] - CATCH_UP_MARGIN, 0)
        while found := await self.source.closed_after(after, SLICE):
            await asyncio.to_thread(self._add_all, found)
            after = self._mark = (found[-1].closed_at, found[-1].id)
            if len(found) < SLICE:
                return

    def _add_all(self, tickets: list[ClosedTicket]) -> None:
        with self._index_lock:
            for ticket in tickets:
                self.index.add(ticket)
            self.index.settle()

    def _search(self, text: str, limit: int, exclude: int) -> list[tuple[int, float]]:
        with self._index_lock:
            return self.index.search(text, limit, exclude)

    async def search(self, text: str, limit: int, exclude: int) -> list[tuple[int, float]]:
        return await asyncio.to_thread(self._search, text, limit, exclude)

    async def search_now(self, text: str, limit: int) -> list[tuple[int, float]]:
        """For a new ticket's card, in its transaction: nothing rather than a wait, while
        the index is still being built or a catch-up is changing it."""
        if not self._built or not len(self.index):  # nothing to search: no thread's hop
            return []

        def unless_busy() -> list[tuple[int, float]]:
            if not self._index_lock.acquire(blocking=False):
                return []
            try:
                return self.index.search(text, limit, 0)
            finally:
                self._index_lock.release()

        return await asyncio.to_thread(unless_busy)


async def for_card(ctx: CommandContext, text: str) -> tuple[SimilarTicket, ...]:
    """Up to ON_CARD closed tickets much like a new ticket's `text`, for its card. None while
    the desk is in a rush (many commands at once): the search costs CPU that the customers'
    acknowledgements need more, and `/ticket similar` still lists them."""
    similar = ctx.similar
    if similar is None or ctx.in_a_rush():
        return ()
    similar.refresh_soon()
    found = [
        (ticket_id, confidence)
        for ticket_id, confidence in await similar.search_now(text, ON_CARD * 2)
        if confidence >= CARD_CONFIDENCE
    ]
    if not found:
        return ()
    tickets = await ctx.uow.tickets.by_ids([ticket_id for ticket_id, _ in found])
    closed = [tickets[i] for i, _ in found if i in tickets and tickets[i].is_closed]
    return tuple(
        SimilarTicket(t.number, t.subject, t.resolution, t.staff_channel, t.staff_thread)
        for t in closed[:ON_CARD]
    )


async def show(ctx: CommandContext, ticket: Ticket, cmd: c.ShowSimilar) -> Outcome:
    """Closed tickets like this one; only those still closed (one reopened since is work
    under way, not an answer)."""
    if ctx.similar is None:
        raise ctx.refuse("similar_unavailable")
    assert ticket.id is not None
    said = await ctx.uow.messages.for_ticket(ticket.id)
    first = next((m.body for m in said if m.direction is Direction.INBOUND), "")
    found = await ctx.similar.search(f"{ticket.subject}\n{first}", SHOWN * 2, ticket.id)
    tickets = await ctx.uow.tickets.by_ids([ticket_id for ticket_id, _ in found])
    rows = [
        (tickets[ticket_id], confidence)
        for ticket_id, confidence in found
        if ticket_id in tickets and tickets[ticket_id].is_closed
    ][:SHOWN]
    text = ctx.renderer.render(
        ctx.staff_locale,
        "staff/similar.md.j2",
        number=ticket.number,
        rows=rows,
        deflected=DEFLECTED,
        reading=not ctx.similar.ready,
    )
    return Outcome(text, listed=[t.number for t, _ in rows])
