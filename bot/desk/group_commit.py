"""Group commit: commands that arrive together share one transaction.

A commit is the dearest step of a command. On SQLite it writes every page the transaction
touched to the WAL (a new ticket touches about 36: the ticket, its indexes, the event, the
message, the response-target reminders, the outbox rows), and on PostgreSQL it waits for a
WAL flush. When a burst arrives (a busy help channel, a platform replaying its backlog after
an outage) the commands queue up here and run one after another inside one transaction, so
their pages are written once.

Each command still sees the writes of those before it, exactly as if they had run one by
one. If any command in a group fails, is refused in a way that undoes its writes, or loses a
race, the whole group is rolled back and every command runs again on its own, in the same
order, through the usual path with its retries and its failure handling. So a group never
changes an outcome; it only saves commits. Nothing waits for company: a command that
arrives alone runs at once.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Awaitable, Callable, Sequence
from typing import Generic, TypeVar

Item = TypeVar("Item")
Result = TypeVar("Result")

GROUP_LIMIT = 64  # bounds how long one transaction holds the SQLite write lock


class GroupCommit(Generic[Item, Result]):
    def __init__(
        self,
        together: Callable[[Sequence[Item]], Awaitable[list[Result] | None]],
        alone: Callable[[Item], Awaitable[Result]],
        limit: int = GROUP_LIMIT,
    ) -> None:
        """`together` runs a group in one transaction and returns None to have each run
        `alone` instead; `alone` handles its own failures and does not raise."""
        self._together = together
        self._alone = alone
        self._limit = limit
        self._queue: deque[tuple[Item, asyncio.Future[Result]]] = deque()
        self._worker: asyncio.Task[None] | None = None
        self.groups = 0  # groups committed together (tests check that bursts really group)

    async def submit(self, item: Item) -> Result:
        future: asyncio.Future[Result] = asyncio.get_running_loop().create_future()
        self._queue.append((item, future))
        if self._worker is None:
            self._start()
        # a caller that stops waiting cancels only its wait: what arrived still runs
        return await future

    async def _drain(self) -> None:
        await asyncio.sleep(0)  # let what arrived in the same moment join the group
        while self._queue:
            group = [self._queue.popleft() for _ in range(min(self._limit, len(self._queue)))]
            await self._run(group)

    def _drained(self, worker: asyncio.Task[None]) -> None:
        if self._worker is not worker:
            return
        self._worker = None
        # stopped at shutdown (even before it started): nobody is left waiting forever
        error = asyncio.CancelledError() if worker.cancelled() else worker.exception()
        while error is not None and self._queue:
            _fail(self._queue.popleft()[1], error)
        if self._queue:  # arrived after the worker's last look at the queue
            self._start()

    def _start(self) -> None:
        self._worker = asyncio.create_task(self._drain())
        self._worker.add_done_callback(self._drained)

    async def _run(self, group: list[tuple[Item, asyncio.Future[Result]]]) -> None:
        try:
            results = await self._together([item for item, _ in group]) if len(group) > 1 else None
            if results is not None:
                self.groups += 1
                for (_, future), result in zip(group, results, strict=True):
                    _settle(future, result)
                return
            for item, future in group:
                _settle(future, await self._alone(item))
        except BaseException as error:
            for _, future in group:
                _fail(future, error)
            raise


def _settle(future: asyncio.Future[Result], result: Result) -> None:
    if not future.done():
        future.set_result(result)


def _fail(future: asyncio.Future[Result], error: BaseException) -> None:
    if future.done():
        return
    if isinstance(error, asyncio.CancelledError):
        future.cancel()
    else:
        future.set_exception(error)
