"""The outbox sender: delivers what the desk wrote, in order per conversation, exactly once.

Before a send starts, the message is marked as under way, in the same transaction that
found it due. If the process dies or the connection drops before the platform's answer is
recorded, the message is *in doubt*: the adapter looks for it on the platform (Slack: the
outbox id in the message's metadata; Discord: the nonce, which Discord enforces) before it
sends again. Transient trouble (429, 5xx, timeouts, lost connections, a database outage) is
waited out, with the platform's Retry-After or an exponential backoff, for as long as
`patience` allows; only a permanent answer, or patience run out, fails a message, and staff
are told. No transaction is held open while a platform is being called.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from datetime import timedelta

from bot.clock import Clock
from bot.model import SYSTEM, Audience, OutboundMessage, Ticket, TicketEvent
from bot.ports import (
    Deliverer,
    DeliveryError,
    DeliveryReceipt,
    StorageOutage,
    UnitOfWork,
    UnitOfWorkFactory,
)
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
        patience: timedelta = timedelta(days=1),
        warn_after: timedelta = timedelta(minutes=5),
        base_delay: timedelta = timedelta(seconds=1),
        max_delay: timedelta = timedelta(minutes=5),
    ) -> None:
        self.uow_factory = uow_factory
        self.deliverers = dict(deliverers)
        self.clock = clock
        self.renderer = renderer
        self.staff_locale = staff_locale
        self.batch = batch
        self.patience = patience
        self.warn_after = warn_after
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
        now = self.clock.now()
        async with self.uow_factory() as uow:
            due = await uow.outbox.due(now, self.batch)
            for message in due:
                assert message.id is not None
                await uow.outbox.start_attempt(message.id, now)
            await uow.commit()
        for message in due:
            await self._deliver_one(message)
        return len(due)

    async def run(self, stop: asyncio.Event, poll_seconds: float = 1.0) -> None:
        """Deliver whenever woken, and at least every `poll_seconds` for retries."""
        while not stop.is_set():
            try:
                await self.drain()
            except StorageOutage as outage:  # waits with everything else; no traceback
                log.warning("outbox: the database is unavailable (%s); will try again", outage)
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
            if deliverer is None:  # cured by starting the adapter again
                raise DeliveryError(f"no {message.platform} adapter is running")
            receipt = await deliverer.deliver(message, ticket)
        except DeliveryError as error:
            await self._not_delivered(message, ticket, error)
            return
        except Exception as error:  # an adapter bug: keep the message, retry, show the trace
            log.exception(
                "adapter %s raised while delivering outbox message %s", message.platform, message.id
            )
            reason = type(error).__name__
            await self._not_delivered(message, ticket, DeliveryError(reason, in_doubt=True))
            return
        await self._sent(message, receipt)

    async def _sent(self, message: OutboundMessage, receipt: DeliveryReceipt) -> None:
        assert message.id is not None
        now = self.clock.now()
        async with self.uow_factory() as uow:
            await uow.outbox.mark_sent(message.id, receipt.message_id, now)
            if message.kind == "card" and message.ticket_id is not None:
                thread = receipt.thread or receipt.message_id
                await uow.tickets.set_staff_refs(
                    message.ticket_id, receipt.channel, thread, receipt.message_id
                )
                # the staff thread's history starts at the card: an agent's first answer,
                # written while the bot was away, is read back from there
                await uow.cursors.advance(message.platform, thread, receipt.message_id, now)
            await uow.commit()

    async def _not_delivered(
        self, message: OutboundMessage, ticket: Ticket | None, error: DeliveryError
    ) -> None:
        assert message.id is not None
        now = self.clock.now()
        waited = now - (message.created_at or now)
        async with self.uow_factory() as uow:
            if error.permanent or waited >= self.patience:
                reason = error.reason if error.permanent else self._gave_up(error, waited)
                await self._failed(uow, message, ticket, reason)
            else:
                delay = self._delay(message.attempts + 1, error)
                (log.info if error.retry_after is not None else log.warning)(
                    "outbox message %s (%s) not delivered, retry in %ss: %s",
                    message.id,
                    message.kind,
                    delay.total_seconds(),
                    error.reason,
                )
                await uow.outbox.mark_retry(
                    message.id, now + delay, error.reason, in_doubt=error.in_doubt
                )
                if waited >= self.warn_after and not message.warned:
                    await self._warn(uow, message, ticket, error, waited)
            await uow.commit()

    def _delay(self, attempts: int, error: DeliveryError) -> timedelta:
        if error.retry_after is not None:  # the platform said when
            return timedelta(seconds=max(error.retry_after, 0.0))
        return min(self.base_delay * (1 << min(attempts - 1, 20)), self.max_delay)

    def _gave_up(self, error: DeliveryError, waited: timedelta) -> str:
        waited_text = self.renderer.duration(self.staff_locale, waited, business=False)
        return self.renderer.text(
            self.staff_locale, "delivery_gave_up", reason=error.reason, waited=waited_text
        )

    async def _warn(
        self,
        uow: UnitOfWork,
        message: OutboundMessage,
        ticket: Ticket | None,
        error: DeliveryError,
        waited: timedelta,
    ) -> None:
        """Staff hear once that a message is still waiting (a stuck staff thread cannot tell
        them so itself: the operator's log does)."""
        assert message.id is not None
        await uow.outbox.mark_warned(message.id, self.clock.now())
        log.warning(
            "outbox message %s (%s to %s) has waited %s: %s",
            message.id,
            message.kind,
            message.audience,
            waited,
            error.reason,
        )
        if ticket is None or message.audience is Audience.STAFF:
            return
        body = self.renderer.text(
            self.staff_locale,
            "notice_delivery_waiting",
            number=ticket.number,
            reason=error.reason,
            waited=self.renderer.duration(self.staff_locale, waited, business=False),
            left=self.renderer.duration(self.staff_locale, self.patience - waited, business=False),
        )
        await uow.outbox.add(self._staff_notice(ticket, "delivery_waiting", body), self.clock.now())

    async def _failed(
        self, uow: UnitOfWork, message: OutboundMessage, ticket: Ticket | None, reason: str
    ) -> None:
        assert message.id is not None
        now = self.clock.now()
        log.error(
            "outbox message %s (%s to %s) failed for good after %d attempts: %s",
            message.id,
            message.kind,
            message.audience,
            message.attempts + 1,
            reason,
        )
        await uow.outbox.mark_failed(message.id, reason, now)
        if ticket is None or ticket.id is None:
            return
        await uow.events.add(
            TicketEvent(
                ticket.id,
                "delivery_failed",
                SYSTEM,
                now,
                {"outbox_id": message.id, "kind": message.kind, "reason": reason},
            )
        )
        if message.audience is Audience.CUSTOMER:
            body = self.renderer.text(
                self.staff_locale, "notice_delivery_failed", number=ticket.number, reason=reason
            )
            await uow.outbox.add(self._staff_notice(ticket, "delivery_failed", body), now)

    def _staff_notice(self, ticket: Ticket, kind: str, body: str) -> OutboundMessage:
        return OutboundMessage(
            platform=ticket.source.platform,
            audience=Audience.STAFF,
            kind=kind,
            body=body,
            ticket_id=ticket.id,
            ticket_number=ticket.number,
        )
