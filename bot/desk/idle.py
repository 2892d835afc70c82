"""Tickets waiting on the customer: a gentle nudge, later a close through the normal flow."""

from __future__ import annotations

from bot import commands as c
from bot.desk import staff
from bot.desk.context import CommandContext
from bot.kinds import EventKind, MessageKind
from bot.model import Reminder, ReminderStatus, Status, Ticket


async def nudge(ctx: CommandContext, reminder: Reminder, ticket: Ticket) -> None:
    if ticket.status is not Status.WAITING:  # the customer answered, or we moved on
        reminder.status = ReminderStatus.CANCELLED
        return
    idle = ctx.settings.idle
    await ctx.to_customer(
        ticket,
        MessageKind.IDLE_NUDGE,
        ctx.customer_text(
            ticket,
            "customer/idle_nudge.md.j2",
            closes_in=ctx.renderer.duration(
                ticket.locale, idle.close_after - idle.nudge_after, business=False
            ),
        ),
    )
    await ctx.record(ticket, EventKind.IDLE_NUDGE)
    await ctx.notice(
        ticket, "notice_idle_nudge", waited=ctx.renderer.span(ctx.staff_locale, idle.nudge_after)
    )
    reminder.status = ReminderStatus.DONE


async def close(ctx: CommandContext, reminder: Reminder, ticket: Ticket) -> None:
    if ticket.status is not Status.WAITING:
        reminder.status = ReminderStatus.CANCELLED
        return
    waited = ctx.renderer.duration(ticket.locale, ctx.settings.idle.close_after, business=False)
    resolution = ctx.renderer.text(ticket.locale, "idle_resolution", waited=waited)
    # the normal close: farewell, satisfaction question, after-care policy
    await staff.close(ctx, ticket, c.CloseTicket(resolution, ticket.number))
    reminder.status = ReminderStatus.DONE
