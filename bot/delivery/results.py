"""What an attempt's result means for the desk: sent, retried later, or failed for good.

Transient trouble (429, 5xx, timeouts, lost connections) is waited out, with the platform's
Retry-After or an exponential backoff, for as long as `patience` allows; only a permanent
answer, or patience run out, fails a message, and staff are told. Staff also hear once when
a customer's message has waited long."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta

from bot.clock import Clock
from bot.events import DeliveryFailed
from bot.kinds import MessageKind
from bot.metrics import COUNTS
from bot.model import SYSTEM, Audience, OutboundMessage, Ticket, TicketEvent
from bot.ports import DeliveryError, DeliveryReceipt, UnitOfWork
from bot.rendering import Renderer


def about(message: OutboundMessage) -> dict[str, object]:
    """For a log line about `message` (these are written in batches, for many messages)."""
    return {"ticket": message.ticket_number, "platform": message.platform}


log = logging.getLogger("bot.outbox")


@dataclass
class Patience:
    patience: timedelta = timedelta(days=1)
    warn_after: timedelta = timedelta(minutes=5)
    base_delay: timedelta = timedelta(seconds=1)
    max_delay: timedelta = timedelta(minutes=5)


class AttemptResults:
    def __init__(
        self, clock: Clock, renderer: Renderer, staff_locale: str, patience: Patience
    ) -> None:
        self.clock = clock
        self.renderer = renderer
        self.staff_locale = staff_locale
        self.patience = patience

    async def record(
        self,
        uow: UnitOfWork,
        message: OutboundMessage,
        ticket: Ticket | None,
        result: DeliveryReceipt | DeliveryError,
    ) -> None:
        """Write what an attempt came to, in `uow` (the caller commits: attempts that end
        together share one transaction)."""
        if isinstance(result, DeliveryError):
            await self._not_delivered(uow, message, ticket, result)
        else:
            await self._sent(uow, message, result)

    async def _sent(
        self, uow: UnitOfWork, message: OutboundMessage, receipt: DeliveryReceipt
    ) -> None:
        assert message.id is not None
        COUNTS.sent[message.platform] += 1
        now = self.clock.now()
        await uow.outbox.mark_sent(message.id, receipt.message_id, now)
        source = message.data.get("source_message_id")
        if message.kind == MessageKind.AGENT_REPLY and source and message.ticket_id is not None:
            # the agent's own message is marked as delivered, in the staff thread's turn and at
            # the platform's pace for reactions, never holding up the customer's conversation
            mark = OutboundMessage(
                platform=message.platform,
                audience=Audience.STAFF,
                kind=MessageKind.DELIVERED,
                body="",
                ticket_id=message.ticket_id,
                ticket_number=message.ticket_number,
                data={"source_message_id": source},
            )
            await uow.outbox.add(mark, now)
        if message.kind == MessageKind.CARD and message.ticket_id is not None:
            thread = receipt.thread or receipt.message_id
            await uow.tickets.set_staff_refs(
                message.ticket_id, receipt.channel, thread, receipt.message_id
            )
            # the staff thread's history starts at the card: an agent's first answer,
            # written while the bot was away, is read back from there
            await uow.cursors.advance(message.platform, thread, receipt.message_id, now)

    async def _not_delivered(
        self, uow: UnitOfWork, message: OutboundMessage, ticket: Ticket | None, error: DeliveryError
    ) -> None:
        assert message.id is not None
        now = self.clock.now()
        waited = now - (message.created_at or now)
        if error.retry_after is not None:
            COUNTS.retry_after[message.platform] += 1
        if error.permanent or waited >= self.patience.patience:
            reason = error.reason if error.permanent else self._gave_up(error, waited)
            await self._failed(uow, message, ticket, reason)
            return
        COUNTS.retry[message.platform] += 1
        delay = self._delay(message.attempts + 1, error)
        (log.info if error.retry_after is not None else log.warning)(
            "outbox message %s (%s) not delivered, retry in %ss: %s",
            message.id,
            message.kind,
            delay.total_seconds(),
            error.reason,
            extra=about(message),
        )
        await uow.outbox.mark_retry(message.id, now + delay, error.reason, in_doubt=error.in_doubt)
        if waited >= self.patience.warn_after and not message.warned:
            await self._warn(uow, message, ticket, error, waited)

    def _delay(self, attempts: int, error: DeliveryError) -> timedelta:
        if error.retry_after is not None:  # the platform said when
            return timedelta(seconds=max(error.retry_after, 0.0))
        backoff = self.patience.base_delay * (1 << min(attempts - 1, 20))
        return min(backoff, self.patience.max_delay)

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
            extra=about(message),
        )
        if ticket is None or message.audience is Audience.STAFF:
            return
        left = self.patience.patience - waited
        body = self.renderer.text(
            self.staff_locale,
            "notice_delivery_waiting",
            number=ticket.number,
            reason=error.reason,
            waited=self.renderer.duration(self.staff_locale, waited, business=False),
            left=self.renderer.duration(self.staff_locale, left, business=False),
        )
        await uow.outbox.add(
            self._staff_notice(ticket, MessageKind.DELIVERY_WAITING, body), self.clock.now()
        )

    async def _failed(
        self, uow: UnitOfWork, message: OutboundMessage, ticket: Ticket | None, reason: str
    ) -> None:
        assert message.id is not None
        COUNTS.failed[message.platform] += 1
        now = self.clock.now()
        log.error(
            "outbox message %s (%s to %s) failed for good after %d attempts: %s",
            message.id,
            message.kind,
            message.audience,
            message.attempts + 1,
            reason,
            extra=about(message),
        )
        await uow.outbox.mark_failed(message.id, reason, now)
        if ticket is None or ticket.id is None:
            return
        await uow.events.add(
            TicketEvent.of(
                ticket.id,
                DeliveryFailed(
                    message.id,
                    message.kind,
                    reason,
                    message.created_at.isoformat() if message.created_at else "",
                ),
                SYSTEM,
                now,
            )
        )
        if message.audience is Audience.CUSTOMER:
            body = self.renderer.text(
                self.staff_locale, "notice_delivery_failed", number=ticket.number, reason=reason
            )
            await uow.outbox.add(self._staff_notice(ticket, MessageKind.DELIVERY_FAILED, body), now)

    def _staff_notice(self, ticket: Ticket, kind: MessageKind, body: str) -> OutboundMessage:
        return OutboundMessage(
            platform=ticket.source.platform,
            audience=Audience.STAFF,
            kind=kind,
            body=body,
            ticket_id=ticket.id,
            ticket_number=ticket.number,
        )
