"""What a due reminder does: the follow-up, the response-target nudge and breach, the idle
nudge and close, and the leads' digest. bot.scheduling's runner claims each one, calls
`fire` in the claim's transaction, and commits."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime

from bot.desk import digest, followups, idle, response_targets
from bot.desk.context import CommandContext
from bot.model import Reminder, ReminderKind, ReminderStatus, Ticket
from bot.ports import UnitOfWork
from bot.settings import DeskSettings

OnTicket = Callable[[CommandContext, Reminder, Ticket], Awaitable[None]]
ON_TICKET: dict[ReminderKind, OnTicket] = {
    ReminderKind.FOLLOW_UP: followups.fire,
    ReminderKind.SLA_NUDGE: response_targets.nudge,
    ReminderKind.SLA_BREACH: response_targets.breach,
    ReminderKind.IDLE_NUDGE: idle.nudge,
    ReminderKind.IDLE_CLOSE: idle.close,
}


async def schedule_digest(uow: UnitOfWork, settings: DeskSettings, now: datetime) -> None:
    """At start: the desk's one digest reminder exists and follows DIGEST_TIME."""
    await digest.schedule(uow, settings, now)


async def fire(ctx: CommandContext, reminder: Reminder) -> None:
    """Do what the reminder is for and set its next status (done, fired, cancelled, or
    pending again for the digest's next day)."""
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
    await ON_TICKET[reminder.kind](ctx, reminder, ticket)
