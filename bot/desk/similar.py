"""Similar tickets for agents: `/ticket similar [#N]` lists earlier closed tickets most like
this one, with their resolution.

An index in memory over each closed ticket's subject and first customer message, built on
the first search and brought up to date before each later one from the tickets closed since
(bot.ports.ClosedTickets). It scores as the knowledge base does (BM25 over the same English
and Japanese terms, bot.knowledge), and keeps its postings in flat arrays: a hundred thousand
tickets take tens of megabytes, not hundreds."""

from __future__ import annotations

import asyncio
import heapq
import threading
from array import array
from collections import Counter
from datetime import datetime, timedelta

from bot import commands as c
from bot.desk.context import CommandContext
from bot.knowledge.index import K1, B, idf, squash
from bot.knowledge.text import Analyser
from bot.knowledge_ports import ClosedTicket, ClosedTickets
from bot.model import Direction, Ticket
from bot.ports import Outcome
from bot.reports import DEFLECTED

SLICE = 2000  # closed tickets read at a time
CATCH_UP_MARGIN = timedelta(minutes=10)
SHOWN = 5
# a term in more of the tickets than this share tells little apart, and its postings would
# cost a search most of its time
COMMON = 0.05


class TicketIndex:
    """Closed tickets by their words; a ticket closed again replaces its earlier entry."""

    def __init__(self, analyser: Analyser | None = None) -> None:
        self.analyser = analyser or Analyser()
        self._docs: dict[str, array[int]] = {}  # term -> documents, in the order added
        self._counts: dict[str, array[int]] = {}  # term -> its count in each of them
        self._ticket = array("q")  # document -> ticket id (0: replaced since)
        self._length = array("l")
        self._doc_of: dict[int, int] = {}
        self._total = 0

    def __len__(self) -> int:
        return len(self._doc_of)

    def add(self, ticket: ClosedTicket) -> None:
        if (earlier := self._doc_of.get(ticket.id)) is not None:
            self._ticket[earlier] = 0
        terms = Counter(self.analyser.terms(f"{ticket.subject}\n{ticket.text}"))
        doc = len(self._ticket)
        self._doc_of[ticket.id] = doc
        self._ticket.append(ticket.id)
        self._length.append(sum(terms.values()))
        self._total += sum(terms.values())
        for term, count in terms.items():
            self._docs.setdefault(term, array("l")).append(doc)
            self._counts.setdefault(term, array("l")).append(count)

    def search(self, text: str, limit: int, exclude: int = 0) -> list[tuple[int, float]]:
        """(ticket id, confidence 0..1 as bot.knowledge.index's), best first."""
        size = len(self._ticket)
        if not size:
            return []
        average = self._total / size or 1.0
        common = max(50, COMMON * size)
        scores: dict[int, float] = {}
        for term in set(self.analyser.terms(text)):
            docs = self._docs.get(term)
            if docs is None or len(docs) > common:
                continue
            weight = idf(size, len(docs))
            for doc, count in zip(docs, self._counts[term], strict=True):
                norm = K1 * (1 - B + B * self._length[doc] / average)
                scores[doc] = scores.get(doc, 0.0) + weight * count * (K1 + 1) / (count + norm)
        live = [d for d in scores if self._ticket[d] not in (0, exclude)]
        best = heapq.nsmallest(limit, live, key=lambda d: (-scores[d], d))
        rarest = idf(size, 0)
        return [(self._ticket[d], squash(scores[d] / rarest)) for d in best]


class SimilarTickets:
    """The index and where its tickets come from; one catch-up at a time."""

    def __init__(self, source: ClosedTickets) -> None:
        self.source = source
        self.index = TicketIndex()
        self._mark: tuple[datetime, int] | None = None
        self._lock = asyncio.Lock()
        # the index is changed by a catch-up and read by searches, each on a worker thread
        self._index_lock = threading.Lock()

    async def catch_up(self) -> None:
        """Index the tickets closed since the last catch-up (every one, the first time).
        Outside any transaction: the first time reads the whole history."""
        async with self._lock:
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

    def _search(self, text: str, limit: int, exclude: int) -> list[tuple[int, float]]:
        with self._index_lock:
            return self.index.search(text, limit, exclude)

    async def search(self, text: str, limit: int, exclude: int) -> list[tuple[int, float]]:
        return await asyncio.to_thread(self._search, text, limit, exclude)


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
    )
    return Outcome(text, listed=[t.number for t, _ in rows])
