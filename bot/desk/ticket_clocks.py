"""The clocks a ticket carries, kept as reminder rows and reset as the ticket moves:
the first-response target, the idle clock while we wait on the customer, and after-care."""

from __future__ import annotations

from datetime import datetime, timedelta

from bot.desk.context import CommandContext
from bot.model import Priority, Reminder, ReminderKind, Ticket
from bot.settings import DeskSettings

NUDGE_SHARE = 0.75  # the nudge comes when this share of the target has passed
SLA_KINDS = (ReminderKind.SLA_NUDGE, ReminderKind.SLA_BREACH)
IDLE_KINDS = (ReminderKind.IDLE_NUDGE, ReminderKind.IDLE_CLOSE)


def target_for(settings: DeskSettings, ticket: Ticket) -> timedelta:
    """The ticket's first-response target: its category's own, unless the ticket was made
    more urgent than the category is; else its priority's."""
    category = settings.categories.get(ticket.category)
    if (
        category is not None
        and category.first_response is not None
        and ticket.priority.rank >= (category.priority or Priority.NORMAL).rank
    ):
        return category.first_response
    return settings.first_response_targets[ticket.priority]


def response_due(settings: DeskSettings, ticket: Ticket, share: float = 1.0) -> datetime:
    """When the first response is due (or `share` of the way there): business hours if set."""
    start, target = ticket.created_at, target_for(settings, ticket)
    if settings.business_hours is not None:
        return settings.business_hours.due(start, target, share)
    return start + target * share


def _reminder(
    ctx: CommandContext, ticket: Ticket, kind: ReminderKind, due: datetime, note: str = ""
) -> Reminder:
    return Reminder(ticket.id, kind, due, ctx.caller.actor, ctx.now, note=note)


async def watch_first_response(ctx: CommandContext, ticket: Ticket, *, fresh: bool = False) -> None:
    """Set the nudge and the breach for a ticket still waiting for its first answer."""
    assert ticket.id is not None
    if not fresh:  # a new ticket has nothing to clear
        await ctx.uow.reminders.cancel(ticket.id, SLA_KINDS)
    if ticket.first_response_at or ticket.sla_breached_at or ticket.is_closed:
        return
    settings = ctx.settings
    await ctx.uow.reminders.add_many(
        [
            _reminder(
                ctx,
                ticket,
                ReminderKind.SLA_NUDGE,
                response_due(settings, ticket, NUDGE_SHARE),
            ),
            _reminder(ctx, ticket, ReminderKind.SLA_BREACH, response_due(settings, ticket)),
        ]
    )


async def first_response_given(ctx: CommandContext, ticket: Ticket) -> None:
    assert ticket.id is not None
    await ctx.uow.reminders.cancel(ticket.id, SLA_KINDS)


async def start_idle_clock(ctx: CommandContext, ticket: Ticket) -> None:
    """We answered and now wait on the customer: nudge them later, close after longer."""
    assert ticket.id is not None
    await ctx.uow.reminders.cancel(ticket.id, IDLE_KINDS)
    idle = ctx.settings.idle
    if not idle.enabled:
        return
    await ctx.uow.reminders.add_many(
        [
            _reminder(ctx, ticket, ReminderKind.IDLE_NUDGE, ctx.now + idle.nudge_after),
            _reminder(ctx, ticket, ReminderKind.IDLE_CLOSE, ctx.now + idle.close_after),
        ]
    )


async def stop_idle_clock(ctx: CommandContext, ticket: Ticket) -> None:
    assert ticket.id is not None
    await ctx.uow.reminders.cancel(ticket.id, IDLE_KINDS)


async def after_close(
    ctx: CommandContext, ticket: Ticket, chosen: timedelta | None
) -> timedelta | None:
    """Clear the ticket's clocks and schedule after-care: the agent's choice, else the policy."""
    assert ticket.id is not None
    await ctx.uow.reminders.cancel(ticket.id, SLA_KINDS + IDLE_KINDS)
    delay = chosen if chosen is not None else ctx.settings.follow_ups.delay_for(ticket.priority)
    if delay is not None:
        await ctx.uow.reminders.add(_reminder(ctx, ticket, ReminderKind.FOLLOW_UP, ctx.now + delay))
    return delay


async def after_reopen(ctx: CommandContext, ticket: Ticket) -> int:
    """A reopened ticket needs work, not after-care: its follow-ups are cancelled."""
    assert ticket.id is not None
    return await ctx.uow.reminders.cancel(ticket.id, (ReminderKind.FOLLOW_UP,), fired_too=True)
