"""Messages of one conversation are handled one at a time, in the order they arrived.

With the database off the event loop, two messages a customer sends in quick succession are
handled concurrently, and the second could be stored (and relayed to staff) before the first.
Each conversation therefore has a lock; asyncio's locks are fair, so messages are handled in
the order their handling began, which is the order the platform delivered them in."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from bot import commands as c


def conversation_of(command: c.Command) -> str | None:
    """The conversation whose order this command must keep, if any."""
    if isinstance(command, c.RelayCustomerMessage | c.OpenTicket):
        source = command.source
        return f"customer:{source.platform}:{source.channel}:{source.thread}"
    if isinstance(command, c.RelayAgentMessage):
        return f"ticket:{command.number}"
    return None


class InOrder:
    def __init__(self) -> None:
        self._locks: dict[str, asyncio.Lock] = {}
        self._waiting: dict[str, int] = {}

    @asynccontextmanager
    async def turn(self, key: str | None) -> AsyncIterator[None]:
        if key is None:
            yield
            return
        lock = self._locks.setdefault(key, asyncio.Lock())
        self._waiting[key] = self._waiting.get(key, 0) + 1
        try:
            async with lock:
                yield
        finally:
            self._waiting[key] -= 1
            if not self._waiting[key]:  # nobody else in line: forget the conversation
                del self._waiting[key], self._locks[key]
