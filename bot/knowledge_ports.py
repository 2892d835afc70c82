"""The desk's ports to what it knows besides its tickets: help articles and the closed
tickets that similar-ticket search reads (beside bot.ports, which holds the rest)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from bot.knowledge import Article, Hit


class Knowledge(Protocol):
    """Help articles (bot.knowledge.KnowledgeBase). Each call may re-read the articles'
    folder: the desk calls them in a worker thread, one at a time."""

    threshold: float  # the confidence an article needs to be offered unasked

    def locales(self) -> list[str]: ...
    def articles(self, locale: str | None = None) -> list[Article]: ...
    def search(self, text: str, locale: str, limit: int = 3) -> list[Hit]: ...
    def confident(self, hits: Sequence[Hit]) -> list[Hit]: ...


@dataclass(frozen=True)
class ClosedTicket:
    """What similar-ticket search reads of a closed ticket."""

    id: int
    closed_at: datetime
    subject: str
    text: str  # the customer's first message


class ClosedTickets(Protocol):
    async def closed_after(
        self, after: tuple[datetime, int] | None, limit: int
    ) -> list[ClosedTicket]:
        """Closed tickets in (closed_at, id) order, after `after` (all when None)."""
        ...
