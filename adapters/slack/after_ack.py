"""Work that starts once Slack has its acknowledgement.

Commands and button presses are acknowledged first and worked right after (Slack's advice,
and its 3-second limit). The transport collects the work while Bolt dispatches, sends the
acknowledgement, and only then starts it: started any earlier, work that runs on the event
loop (SQLite does) would hold the acknowledgement back."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

log = logging.getLogger(__name__)
Work = Coroutine[Any, Any, None]
_collecting: ContextVar[list[Work] | None] = ContextVar("slack_after_ack", default=None)


class AfterAck:
    def __init__(self) -> None:
        self._running: set[asyncio.Task[None]] = set()

    def defer(self, work: Work) -> None:
        queue = _collecting.get()
        if queue is None:  # no transport is holding the acknowledgement: start now
            self.start([work])
        else:
            queue.append(work)

    @contextmanager
    def collecting(self) -> Iterator[list[Work]]:
        queue: list[Work] = []
        token = _collecting.set(queue)
        try:
            yield queue
        finally:
            _collecting.reset(token)

    def start(self, works: list[Work]) -> None:
        for work in works:
            task = asyncio.get_running_loop().create_task(work)
            self._running.add(task)
            task.add_done_callback(self._finished)

    def _finished(self, task: asyncio.Task[None]) -> None:
        self._running.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("slack: work after an acknowledgement failed", exc_info=task.exception())

    async def settled(self) -> None:
        """Until all started work is done (shutdown, tests, benchmarks)."""
        while self._running:
            await asyncio.gather(*self._running, return_exceptions=True)
