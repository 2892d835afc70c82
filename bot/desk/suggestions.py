"""Articles offered to a customer when their ticket opens, and the desk's handle on the
knowledge base (bot.ports.Knowledge).

Searching may re-read the articles' folder, so it runs in a worker thread, never on the
event loop; a new ticket's acknowledgement waits for it only when the customer's language
had articles a moment ago."""

from __future__ import annotations

import asyncio
import logging
import math
import threading
import time
from collections.abc import Callable
from typing import TypeVar

from bot.desk.context import CommandContext
from bot.kinds import EventKind
from bot.knowledge import Article, Hit
from bot.knowledge_ports import Knowledge
from bot.model import Action, Ticket

T = TypeVar("T")
log = logging.getLogger(__name__)

# how long the knowledge base's languages, as last read, are trusted: a language gains
# articles while the desk runs without a hop to a worker thread for every new ticket
LOCALES_FRESH = 60.0
# the offer's own buttons, apart from the satisfaction survey's (`csat:`), so a press never
# means both; bot.buttons still reads the first offers' `csat:0:N` as "This solved it"
SOLVED = "kb:solved:{number}"
STILL_NEED_HELP = "kb:help:{number}"


class Shelf:
    """The knowledge base as the desk uses it: one search at a time (an index is rebuilt in
    place when a file changes), from a worker thread."""

    def __init__(self, knowledge: Knowledge) -> None:
        self.knowledge = knowledge
        self._lock = threading.Lock()
        self._locales: frozenset[str] = frozenset()
        self._read_at = -math.inf

    @property
    def threshold(self) -> float:
        return self.knowledge.threshold

    @property
    def locales(self) -> frozenset[str]:
        """The languages with articles, as last read."""
        return self._locales

    def may_have(self, locale: str) -> bool:
        """On the event loop, no I/O: False only when `locale` had no article lately."""
        return locale in self._locales or time.monotonic() - self._read_at > LOCALES_FRESH

    async def _run(self, work: Callable[[], T]) -> T:
        def locked() -> T:
            with self._lock:
                self._locales = frozenset(self.knowledge.locales())
                self._read_at = time.monotonic()
                return work()

        return await asyncio.to_thread(locked)

    async def load(self) -> list[str]:
        """Read and index the articles now (at start-up); their languages."""
        return await self._run(lambda: sorted(self._locales))

    async def search(self, text: str, locale: str, limit: int) -> list[Hit]:
        return await self._run(lambda: self.knowledge.search(text, locale, limit))

    async def suggest(self, text: str, locale: str) -> list[Hit] | None:
        """What to offer a customer unasked: [] unless an article surely answers `text`;
        None when no search was made (no article in `locale`, or none could be read).
        It runs while the new ticket's transaction holds the database, so it never waits:
        while the articles are being re-read (another search holds them), or when reading
        them fails, this ticket is offered nothing rather than kept waiting."""
        if not self.may_have(locale):
            return None

        def best() -> list[Hit] | None:
            if not self._lock.acquire(blocking=False):
                return None
            try:
                self._locales = frozenset(self.knowledge.locales())
                self._read_at = time.monotonic()
                if locale not in self._locales:
                    return None
                return self.knowledge.confident(self.knowledge.search(text, locale))
            finally:
                self._lock.release()

        try:
            return await asyncio.to_thread(best)
        except Exception:  # a bad article folder must not cost a customer their ticket
            log.exception("knowledge base: no article offered")
            return None

    async def versions(self, article_id: str) -> dict[str, Article]:
        """The article `article_id` in each language it is written in."""
        return await self._run(
            lambda: {a.locale: a for a in self.knowledge.articles() if a.id == article_id}
        )


async def offer(ctx: CommandContext, ticket: Ticket, text: str) -> list[Article]:
    """The articles a new ticket's acknowledgement offers (none when nothing surely fits);
    the staff thread is told which, so nobody answers what the article already says. A
    question the articles were searched for in vain is marked for the leads' digest, a gap
    to write; one in a language without articles is not (there was nothing to search)."""
    if ctx.knowledge is None:
        return []
    hits = await ctx.knowledge.suggest(text, ticket.locale)
    if hits is None:
        return []
    if not hits:
        await ctx.record(ticket, EventKind.KB_MISSED)
    for hit in hits:
        await ctx.notice(
            ticket,
            "notice_kb_offered",
            title=hit.article.title,
            article=hit.article.id,
            confidence=f"{hit.confidence:.2f}",
        )
    return [hit.article for hit in hits]


def offer_actions(ctx: CommandContext, ticket: Ticket, offered: list[Article]) -> list[Action]:
    if not offered:
        return []
    label = ctx.renderer.text
    return [
        Action(SOLVED.format(number=ticket.number), label(ticket.locale, "button_kb_solved")),
        Action(
            STILL_NEED_HELP.format(number=ticket.number),
            label(ticket.locale, "button_still_need_help"),
        ),
    ]
