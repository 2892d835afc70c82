"""Writes asked for in the same turn of the event loop share one transaction.

A burst ends many sends at once; a transaction (and, on SQLite, a commit to disk) for each
would keep the database busy with bookkeeping while customers wait to be taken in."""

from __future__ import annotations

import asyncio
import contextvars
from collections.abc import Awaitable, Callable
from typing import Generic, TypeVar

Item = TypeVar("Item")


class Batched(Generic[Item]):
    def __init__(self, write: Callable[[list[Item]], Awaitable[None]]) -> None:
        self._write = write
        self._waiting: list[tuple[Item, asyncio.Future[None]]] = []
        self._writer: asyncio.Task[None] | None = None

    async def __call__(self, item: Item) -> None:
        """Returns once `item` is written with whatever joined it; raises what the write
        raised."""
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiting.append((item, done))
        if self._writer is None:
            # a context of its own: it writes for every message that joins, so the log lines
            # it writes are about none of them in particular (see bot.logcontext)
            self._writer = asyncio.create_task(self._write_all(), context=contextvars.Context())
        await done

    async def _write_all(self) -> None:
        try:
            await asyncio.sleep(0)  # let what is asked for in this same turn join
            while self._waiting:
                batch, self._waiting = self._waiting, []
                try:
                    await self._write([item for item, _ in batch])
                except Exception as error:
                    for _, done in batch:
                        if not done.done():
                            done.set_exception(error)
                    continue
                for _, done in batch:
                    if not done.done():
                        done.set_result(None)
        finally:
            self._writer = None
