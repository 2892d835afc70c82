"""The outbox sender: delivers what the desk wrote, each conversation in order, exactly once,
many conversations at a time, on one process or several sharing a database.

The sender claims the oldest pending message of each conversation with a lease (see
storage/outbox.py); a conversation's next message becomes claimable once the one before it
is settled, so each conversation keeps its order whichever worker sends it. Claimed messages
wait for their route's turn (see pacing.py) without holding a sending slot; just before a
send starts, the message is marked as under way. If the process dies or the connection
drops before the platform's answer is recorded, the message is *in doubt*: whoever sends it
next first looks for it on the platform (Slack: the outbox id in the message's metadata;
Discord: the nonce). A worker that cannot renew its leases stops sending what it can no
longer be sure is its own; after the lease runs out, another worker takes it over.
"""

from __future__ import annotations

import asyncio
import logging
import os
import secrets
import socket
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.clock import Clock
from bot.delivery.batched import Batched
from bot.delivery.pacing import Pacer
from bot.delivery.results import AttemptResults, Patience
from bot.logcontext import about
from bot.model import Audience, OutboundMessage, Ticket
from bot.ports import Deliverer, DeliveryError, DeliveryReceipt, StorageOutage, UnitOfWorkFactory
from bot.rendering import Renderer

log = logging.getLogger("bot.outbox")
AttemptResult = DeliveryReceipt | DeliveryError


@dataclass(frozen=True)
class Capacity:
    # sends under way at once, across conversations: each is a round trip (100 ms and more to
    # Slack), so 64 at once would answer a burst of 300 customers at most 640 a second, the
    # last of them half a second late; a busy channel's queue takes no slot
    concurrency: int = 256
    hold: int = 1000  # claimed messages (most waiting for a busy route); customers' are extra
    batch: int = 100  # claimed per database round trip
    lease: timedelta = timedelta(seconds=30)  # a dead worker's messages wait this long at most


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(2)}"


class OutboxSender:
    def __init__(
        self,
        uow_factory: UnitOfWorkFactory,
        deliverers: Mapping[str, Deliverer],
        clock: Clock,
        renderer: Renderer,
        staff_locale: str = "en",
        *,
        capacity: Capacity | None = None,
        patience: Patience | None = None,
        pacer: Pacer | None = None,
        worker: str | None = None,
    ) -> None:
        self.uow_factory = uow_factory
        self.deliverers = dict(deliverers)
        self.clock = clock
        self.capacity = capacity or Capacity()
        self.pacer = pacer or Pacer()
        self.worker = worker or worker_name()
        self.results = AttemptResults(clock, renderer, staff_locale, patience or Patience())
        self.wake = asyncio.Event()
        self._settled = asyncio.Event()  # a delivery ended
        self._leases: dict[int, datetime] = {}  # claimed and not yet settled -> lease end
        self._tasks: set[asyncio.Task[None]] = set()
        self._sending = asyncio.Semaphore(self.capacity.concurrency)
        self._claiming = asyncio.Lock()
        self._orphans: set[int] = set()  # leased but dropped (database trouble): give back
        # marks of sends under way, and what the sends came to, each written in batches
        self._start = Batched[int](self._write_starts)
        self._settle = Batched[tuple[OutboundMessage, Ticket | None, AttemptResult]](
            self._write_results
        )
        self._renewed_at: datetime | None = None

    def notify(
        self, handed: Sequence[tuple[OutboundMessage, Ticket | None]] = (), claim: bool = True
    ) -> None:
        """Called after a commit that wrote outbox rows; `handed` were written leased to
        this sender and marked as under way (a new ticket's first messages): they go at
        once, without a claim. `claim`: others may be due now. Without them the sender is
        not woken: in a burst each claim would find nothing, and on PostgreSQL it reads
        every pending message's conversation (the staff channel's backlog grows)."""
        until = self.clock.now() + self.capacity.lease
        # customers first, as claims go: an acknowledgement never waits for a card
        for message, ticket in sorted(handed, key=lambda h: h[0].audience is not Audience.CUSTOMER):
            assert message.id is not None
            self._take(message, ticket, until, started=True)
        if claim:
            self.wake.set()

    def _take(
        self, message: OutboundMessage, ticket: Ticket | None, until: datetime, *, started: bool
    ) -> None:
        assert message.id is not None
        self._leases[message.id] = until
        task = asyncio.create_task(self._deliver(message, ticket, started=started))
        self._tasks.add(task)
        task.add_done_callback(self._finished)

    async def drain(self) -> int:
        """Deliver until nothing is due now, waiting for busy routes' turns (unless time
        stands still until a test moves it). Returns how many messages were claimed."""
        attempted = 0
        while True:
            self.pacer.catch_up()
            await self._renew_if_due()
            claimed, full = await self._claim()
            attempted += claimed
            if full:
                continue
            await asyncio.sleep(0)  # what was just claimed reaches its route's queue
            waiting_only = len(self._tasks) <= self.pacer.parked and not self.pacer.time.passes
            if not self._tasks or waiting_only:
                return attempted
            self._settled.clear()
            await self._settled.wait()

    async def run(self, stop: asyncio.Event, poll_seconds: float = 1.0) -> None:
        """Deliver whenever woken, and at least every `poll_seconds` for retries."""
        try:
            while not stop.is_set():
                self.wake.clear()
                try:
                    await self._renew_if_due()
                    _, full = await self._claim()
                    if full:
                        continue
                except StorageOutage as outage:  # waits with everything else; no traceback
                    log.warning("outbox: the database is unavailable (%s); will try again", outage)
                except Exception:
                    log.exception("outbox pass failed; will try again")
                await self._idle(stop, poll_seconds)
        finally:
            await self._stop()

    async def _idle(self, stop: asyncio.Event, seconds: float) -> None:
        waiters = {asyncio.ensure_future(self.wake.wait()), asyncio.ensure_future(stop.wait())}
        _, pending = await asyncio.wait(
            waiters, timeout=seconds, return_when=asyncio.FIRST_COMPLETED
        )
        for task in pending:
            task.cancel()

    async def _stop(self) -> None:
        """Messages not yet under way go back at once, for another worker to take."""
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self._give_back()

    async def _claim(self) -> tuple[int, bool]:
        """Claim what fits and start delivering it; returns (claimed, more may be due)."""
        async with self._claiming:
            now = self.clock.now()
            room = self.capacity.hold - len(self._leases)
            limit = self.capacity.batch if room <= 0 else min(self.capacity.batch, room)
            until = now + self.capacity.lease
            orphans = sorted(self._orphans)
            async with self.uow_factory() as uow:
                await uow.outbox.release(orphans, self.worker)
                claimed = await uow.outbox.claim(
                    now, limit, self.worker, until, customers_only=room <= 0
                )
                tickets = await uow.tickets.by_ids(
                    m.ticket_id for m in claimed if m.ticket_id is not None
                )
                await uow.commit()
            self._orphans.difference_update(orphans)
            for message in claimed:
                ticket = tickets.get(message.ticket_id) if message.ticket_id is not None else None
                self._take(message, ticket, until, started=message.in_doubt)
            return len(claimed), len(claimed) == limit

    def _finished(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        self._settled.set()

    async def _deliver(
        self, message: OutboundMessage, ticket: Ticket | None, *, started: bool
    ) -> None:
        """`started`: the row is marked as under way already (a hand-off, or in doubt)."""
        assert message.id is not None
        about(message)  # this task's log lines name its ticket and platform
        deliverer = self.deliverers.get(message.platform)
        settled = False
        try:
            route = deliverer.route(message, ticket) if deliverer is not None else None
            async with self.pacer.turn(route, message.id):
                async with self._sending:
                    if not self._holds(message.id):
                        return  # the lease ran out unrenewed: another worker may have it
                    if not started:
                        await self._start(message.id)
                    result = await self._attempt(deliverer, message, ticket)
                if isinstance(result, DeliveryError) and result.retry_after is not None:
                    self.pacer.hold(route, result.retry_after)
            await self._settle((message, ticket, result))
            settled = True
        except StorageOutage as outage:
            log.warning(
                "outbox message %s waits: the database is unavailable (%s)", message.id, outage
            )
        except Exception:
            log.exception("outbox message %s: delivery stopped; it will be tried again", message.id)
        finally:
            self._leases.pop(message.id, None)
            if not settled:
                self._orphans.add(message.id)
            self.wake.set()  # its conversation's next message may be due now

    async def _attempt(
        self, deliverer: Deliverer | None, message: OutboundMessage, ticket: Ticket | None
    ) -> AttemptResult:
        if deliverer is None:  # cured by starting the adapter again
            return DeliveryError(f"no {message.platform} adapter is running")
        try:
            return await deliverer.deliver(message, ticket)
        except DeliveryError as error:
            return error
        except Exception as error:  # an adapter bug: keep the message, retry, show the trace
            log.exception(
                "adapter %s raised while delivering outbox message %s", message.platform, message.id
            )
            return DeliveryError(type(error).__name__, in_doubt=True)

    def _holds(self, message_id: int) -> bool:
        """Is the lease sure to outlast a send? A send that may outlive it could meet the
        worker that took the message over."""
        until = self._leases.get(message_id)
        return until is not None and until - self.clock.now() > self.capacity.lease / 2

    async def _write_starts(self, message_ids: list[int]) -> None:
        """Mark sends as under way before they start (then a crash leaves them in doubt)."""
        async with self.uow_factory() as uow:
            await uow.outbox.start_attempts(message_ids, self.clock.now())
            await uow.commit()

    async def _write_results(
        self, settled: list[tuple[OutboundMessage, Ticket | None, AttemptResult]]
    ) -> None:
        async with self.uow_factory() as uow:
            # in the order of their ids, as a lease renewal locks its rows: two transactions
            # locking the same rows in two orders would each wait for the other (PostgreSQL)
            for message, ticket, result in sorted(settled, key=lambda s: s[0].id or 0):
                await self.results.record(uow, message, ticket, result)
            await uow.commit()

    async def _renew_if_due(self) -> None:
        now = self.clock.now()
        if not self._leases:
            self._renewed_at = now
            return
        if self._renewed_at is not None and now - self._renewed_at < self.capacity.lease / 3:
            return
        until = now + self.capacity.lease
        async with self.uow_factory() as uow:
            held = await uow.outbox.renew(sorted(self._leases), self.worker, until)
            await uow.commit()
        self._renewed_at = now
        for message_id in list(self._leases):
            if message_id in held:
                self._leases[message_id] = until
            else:  # taken over while we could not renew: not ours to send any more
                log.warning("outbox message %s is no longer leased to this worker", message_id)
                del self._leases[message_id]

    async def _give_back(self) -> None:
        self._orphans.update(self._leases)
        if not self._orphans:
            return
        try:
            async with self.uow_factory() as uow:
                await uow.outbox.release(sorted(self._orphans), self.worker)
                await uow.commit()
            self._orphans.clear()
        except StorageOutage:  # their leases run out instead
            pass
