"""The tick: fire every reminder that fell due, each exactly once.

Each reminder is claimed, handled and saved in one transaction; the claim locks its row
(FOR UPDATE SKIP LOCKED on PostgreSQL), so workers sharing a database never fire the same
reminder twice, and a crash before the commit leaves it pending for the next tick."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from bot.care import digest, followups, idle, sla
from bot.commands import Invocation
from bot.desk import Desk
from bot.desk.context import Ctx
from bot.model import SYSTEM, Reminder, ReminderKind, ReminderStatus, Ticket
from bot.ports import ConcurrencyConflict

log = logging.getLogger(__name__)

SYSTEM_INVOCATION = Invocation(SYSTEM, is_staff=True)
_CONFLICT_RETRIES = 5

TicketHandler = Callable[[Ctx, Reminder, Ticket], Awaitable[None]]
HANDLERS: dict[ReminderKind, TicketHandler] = {
    ReminderKind.FOLLOW_UP: followups.fire,
    ReminderKind.SLA_NUDGE: sla.nudge,
    ReminderKind.SLA_BREACH: sla.breach,
    ReminderKind.IDLE_NUDGE: idle.nudge,
    ReminderKind.IDLE_CLOSE: idle.close,
}


class Ticker:
    def __init__(self, desk: Desk, *, max_per_tick: int = 500) -> None:
        self.desk = desk
        self.max_per_tick = max_per_tick  # the rest waits for the next tick

    async def start(self) -> None:
        """Schedule the digest (once per desk); overdue work fires on the first tick."""
        async with self.desk.uow_factory() as uow:
            await digest.schedule(uow, self.desk.settings, self.desk.clock.now())
            await uow.commit()

    async def tick(self) -> int:
        """Fire what is due now; returns how many reminders were handled."""
        handled = 0
        while handled < self.max_per_tick and await self._fire_next():
            handled += 1
        if handled:
            self.desk.wake_outbox()
        return handled

    async def _fire_next(self) -> bool:
        for _ in range(_CONFLICT_RETRIES):
            now = self.desk.clock.now()
            async with self.desk.uow_factory() as uow:
                due = await uow.reminders.claim_due(now, 1)
                if not due:
                    return False
                reminder = due[0]
                ctx = self.desk.context(uow, SYSTEM_INVOCATION, now)
                try:
                    await self._fire(ctx, reminder)
                    await ctx.flush_card()
                    await uow.reminders.save(reminder)
                    await uow.commit()
                    return True
                except ConcurrencyConflict:  # an agent changed the ticket meanwhile
                    await uow.rollback()
                    continue
                except Exception as error:
                    await uow.rollback()
                    log.exception("reminder %s (%s) failed", reminder.id, reminder.kind.value)
                    await self._keep_failed(reminder, error)
                    return True
        return False  # the ticket is busy; the reminder stays pending for the next tick

    async def _fire(self, ctx: Ctx, reminder: Reminder) -> None:
        if reminder.kind is ReminderKind.DIGEST:
            await digest.fire(ctx, reminder)
            return
        ticket = None
        if reminder.ticket_id is not None:
            ticket = await ctx.uow.tickets.by_id(reminder.ticket_id)
        if ticket is None:
            reminder.status = ReminderStatus.CANCELLED
            return
        reminder.status = ReminderStatus.DONE  # unless the handler says otherwise
        await HANDLERS[reminder.kind](ctx, reminder, ticket)

    async def _keep_failed(self, reminder: Reminder, error: Exception) -> None:
        """Out of the queue, with its error, so it cannot fail every tick; nothing is lost."""
        reminder.status = ReminderStatus.FAILED
        reminder.last_error = f"{type(error).__name__}: {error}"
        async with self.desk.uow_factory() as uow:
            await uow.reminders.save(reminder)
            await uow.commit()
