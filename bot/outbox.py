"""The outbox sender: delivers what the desk wrote, in order per conversation, at least once.

Transient failures are retried with exponential backoff (or after the platform's
retry-after); permanent failures are marked and reported in the ticket's staff thread.
No transaction is held open while a platform is being called.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from datetime import timedelta

from bot.clock import Clock
from bot.model import SYSTEM, Audience, OutboundMessage, Ticket, TicketEvent
from bot.ports import Deliverer, DeliveryError, DeliveryReceipt, UnitOfWorkFactory
from bot.rendering import Renderer

log = logging.getLogger(__name__)


class OutboxSender:
    def __init__(
        self,
        uow_factory: UnitOfWorkFactory,
        deliverers: Mapping[str, Deliverer],
        clock: Clock,
        renderer: Renderer,
        staff_locale: str = "en",
        *,
        batch: int = 100,
        max_attempts: int = 8,
        base_delay: timedelta = timedelta(seconds=1),
        max_delay: timedelta = timedelta(minutes=5),
    ) -> None:
        self.uow_factory = uow_factory
        self.deliverers = dict(deliverers)
        self.clock = clock
        self.renderer = renderer
        self.staff_locale = staff_locale
        self.batch = batch
        self.max_attempts = max_attempts
        self.base_delay = base_delay
        self.max_delay = max_delay
        self.wake = asyncio.Event()
        self._lock = asyncio.Lock()  # one pass at a time, or a message could go out twice

    def notify(self) -> None:
        """Called after a commit that wrote outbox rows."""
        self.wake.set()

    async def drain(self) -> int:
        """Deliver until nothing is due now; returns how many messages were attempted."""
        total = 0
        async with self._lock:
            while True:
                attempted = await self._deliver_due()
                total += attempted
                if attempted == 0:
                    return total

    async def _deliver_due(self) -> int:
        """One pass: at most the oldest due message of each conversation."""
        async with self.uow_factory() as uow:
            due = await uow.outbox.due(self.clock.now(), self.batch)
        for message in due:
            await self._deliver_one(message)
        return len(due)

    async def run(self, stop: asyncio.Event, poll_seconds: float = 1.0) -> None:
        """Deliver whenever woken, and at least every `poll_seconds` for retries."""
        while not stop.is_set():
            try:
                await self.drain()
            except Exception:
                log.exception("outbox pass failed; will try again")
            self.wake.clear()
            waiters = {asyncio.ensure_future(self.wake.wait()), asyncio.ensure_future(stop.wait())}
            _, pending = await asyncio.wait(
                waiters, timeout=poll_seconds, return_when=asyncio.FIRST_COMPLETED
            )
            for task in pending:
                task.cancel()

    async def _deliver_one(self, message: OutboundMessage) -> None:
        assert message.id is not None
        ticket = None
        if message.ticket_id is not None:
            async with self.uow_factory() as uow:
                ticket = await uow.tickets.by_id(message.ticket_id)
        deliverer = self.deliverers.get(message.platform)
        try:
            if deliverer is None:
                raise DeliveryError(f"no {message.platform} adapter is running")
            receipt = await deliverer.deliver(message, ticket)
        except DeliveryError as error:
            await self._failed(message, ticket, error)
            return
        except Exception as error:  # an adapter bug: keep the message, retry, show the trace
            log.exception(
                "adapter %s raised while delivering outbox message %s", message.platform, message.id
            )
            await self._failed(message, ticket, DeliveryError(type(error).__name__))
            return
        await self._sent(message, receipt)

    async def _sent(self, message: OutboundMessage, receipt: DeliveryReceipt) -> None:
        assert message.id is not None
        async with self.uow_factory() as uow:
            await uow.outbox.mark_sent(message.id, receipt.message_id, self.clock.now())
            if message.kind == "card" and message.ticket_id is not None:
                await uow.tickets.set_staff_refs(
                    message.ticket_id,
                    receipt.channel,
                    receipt.thread or receipt.message_id,
                    receipt.message_id,
                )
            await uow.commit()

    async def _failed(
        self, message: OutboundMessage, ticket: Ticket | None, error: DeliveryError
    ) -> None:
        assert message.id is not None
        now = self.clock.now()
        attempts = message.attempts + 1
        async with self.uow_factory() as uow:
            if not error.permanent and attempts < self.max_attempts:
                delay = (
                    timedelta(seconds=error.retry_after)
                    if error.retry_after is not None
                    else min(self.base_delay * 2 ** (attempts - 1), self.max_delay)
                )
                log.warning(
                    "outbox message %s (%s) not delivered, retry %d in %ss: %s",
                    message.id,
                    message.kind,
                    attempts,
                    delay.total_seconds(),
                    error.reason,
                )
                await uow.outbox.mark_retry(message.id, now + delay, error.reason)
                await uow.commit()
                return
            log.error(
                "outbox message %s (%s to %s) failed for good after %d attempts: %s",
                message.id,
                message.kind,
                message.audience,
                attempts,
                error.reason,
            )
            await uow.outbox.mark_failed(message.id, error.reason, now)
            if ticket is not None and ticket.id is not None:
                await uow.events.add(
                    TicketEvent(
                        ticket.id,
                        "delivery_failed",
                        SYSTEM,
                        now,
                        {"outbox_id": message.id, "kind": message.kind, "reason": error.reason},
                    )
                )
                if message.audience is Audience.CUSTOMER:
                    await uow.outbox.add(self._failure_notice(ticket, error), now)
            await uow.commit()

    def _failure_notice(self, ticket: Ticket, error: DeliveryError) -> OutboundMessage:
        body = self.renderer.text(
            self.staff_locale, "notice_delivery_failed", number=ticket.number, reason=error.reason
        )
        return OutboundMessage(
            platform=ticket.source.platform,
            audience=Audience.STAFF,
            kind="delivery_failed",
            body=body,
            ticket_id=ticket.id,
            ticket_number=ticket.number,
        )
