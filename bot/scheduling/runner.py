"""Fire every reminder that fell due, each exactly once.

Each reminder is claimed, handled and saved in one transaction; the claim locks its row
(FOR UPDATE SKIP LOCKED on PostgreSQL), so workers sharing a database never fire the same
reminder twice, and a crash before the commit leaves it pending for the next round."""

from __future__ import annotations

import logging

from bot.commands import Caller
from bot.desk import Desk, reminders
from bot.model import SYSTEM, Reminder, ReminderStatus
from bot.ports import ConcurrencyConflict

log = logging.getLogger(__name__)

SYSTEM_CALLER = Caller(SYSTEM, is_staff=True)
_CONFLICT_RETRIES = 5


class ReminderRunner:
    def __init__(self, desk: Desk, *, max_per_round: int = 500) -> None:
        self.desk = desk
        self.max_per_round = max_per_round  # the rest waits for the next round

    async def start(self) -> None:
        """Schedule the digest (once per desk); overdue work fires in the first round."""
        async with self.desk.uow_factory() as uow:
            await reminders.schedule_digest(uow, self.desk.settings, self.desk.clock.now())
            await uow.commit()

    async def fire_due(self) -> int:
        """Fire what is due now; returns how many reminders were handled."""
        handled = 0
        while handled < self.max_per_round and await self._fire_next():
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
                ctx = self.desk.context(uow, SYSTEM_CALLER, now)
                try:
                    await reminders.fire(ctx, reminder)
                    await ctx.flush_card()
                    await uow.reminders.save(reminder)
                    await uow.commit()
                except ConcurrencyConflict:  # an agent changed the ticket meanwhile
                    await uow.rollback()
                    continue
                except Exception as error:
                    await uow.rollback()
                    log.exception("reminder %s (%s) failed", reminder.id, reminder.kind.value)
                    await self._keep_failed(reminder, error)
                return True
        return False  # the ticket is busy; the reminder stays pending for the next round

    async def _keep_failed(self, reminder: Reminder, error: Exception) -> None:
        """Out of the queue, with its error, so it cannot fail every round; nothing is lost."""
        reminder.status = ReminderStatus.FAILED
        reminder.last_error = f"{type(error).__name__}: {error}"
        async with self.desk.uow_factory() as uow:
            await uow.reminders.save(reminder)
            await uow.commit()
