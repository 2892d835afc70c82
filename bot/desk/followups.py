"""After-care: a due follow-up asks an agent to check back; the check-in asks the customer."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from bot import commands as c
from bot import events as ev
from bot.desk.after_close import answer_since
from bot.desk.context import CommandContext
from bot.desk.intake import customers_ticket, reopen_for_customer
from bot.kinds import EventKind, MessageKind
from bot.model import Action, Reminder, ReminderStatus, Status, Ticket
from bot.ports import LEADS_GROUP, Outcome


async def fire(ctx: CommandContext, reminder: Reminder, ticket: Ticket) -> None:
    """Due: post the reminder with its buttons, or send the check-in straight away."""
    if ctx.settings.follow_ups.auto_checkin:
        await send_checkin(ctx, ticket)
        await ctx.record(ticket, ev.CheckInSent(automatic=True))
        await ctx.notice(ticket, "notice_checkin_auto", note=reminder.note)
        reminder.status = ReminderStatus.DONE
        return
    rid = reminder.id
    await ctx.to_staff(
        ticket,
        MessageKind.FOLLOWUP_DUE,
        ctx.staff_text(
            "followup_due",
            number=ticket.number,
            note=reminder.note,
            by=reminder.created_by.name,
        ),
        mentions=ctx.who_to_ping(ticket, LEADS_GROUP),
        actions=[
            Action(f"followup:checkin:{rid}", ctx.staff_text("button_send_checkin"), "primary"),
            Action(f"followup:snooze:{rid}", ctx.staff_text("button_snooze")),
            Action(f"followup:done:{rid}", ctx.staff_text("button_followup_done")),
        ],
    )
    await ctx.record(ticket, ev.FollowUpDue(reminder.note))
    reminder.status = ReminderStatus.FIRED


async def send_checkin(ctx: CommandContext, ticket: Ticket) -> None:
    """The customer's check-in in their language, with "All good" and "Still having trouble"."""
    n = ticket.number
    await ctx.to_customer(
        ticket,
        MessageKind.CHECKIN,
        ctx.customer_text(ticket, "customer/checkin.md.j2"),
        actions=[
            Action(f"checkin:good:{n}", ctx.renderer.text(ticket.locale, "button_all_good")),
            Action(f"checkin:trouble:{n}", ctx.renderer.text(ticket.locale, "button_trouble")),
        ],
    )


async def _open_follow_up(ctx: CommandContext, reminder_id: int) -> tuple[Reminder, Ticket]:
    reminder = await ctx.uow.reminders.by_id(reminder_id)
    ticket = None
    if reminder is not None and reminder.ticket_id is not None:
        ticket = await ctx.uow.tickets.by_id(reminder.ticket_id)
    if reminder is None or ticket is None:
        raise ctx.refuse("unknown_followup")
    if not reminder.is_open:
        raise ctx.refuse(f"followup_{reminder.status.value}", number=ticket.number)
    return reminder, ticket


async def _finish(
    ctx: CommandContext, reminder: Reminder, ticket: Ticket, what: ev.Payload | ev.BareKind
) -> Outcome:
    """The follow-up is dealt with: recorded, told in the thread and to the agent."""
    reminder.status = ReminderStatus.DONE
    await ctx.uow.reminders.save(reminder)
    await ctx.record(ticket, what)
    kind = what.kind if isinstance(what, ev.Payload) else what
    await ctx.notice(ticket, f"notice_{kind}", agent=ctx.caller.actor.name)
    text = ctx.staff_text(f"reply_{kind}", number=ticket.number)
    return Outcome(text, ticket_number=ticket.number)


async def check_in(ctx: CommandContext, cmd: c.SendCheckIn) -> Outcome:
    reminder, ticket = await _open_follow_up(ctx, cmd.reminder_id)
    await send_checkin(ctx, ticket)
    return await _finish(ctx, reminder, ticket, ev.CheckInSent(automatic=False))


async def snooze(ctx: CommandContext, cmd: c.SnoozeFollowUp) -> Outcome:
    reminder, ticket = await _open_follow_up(ctx, cmd.reminder_id)
    reminder.status = ReminderStatus.PENDING
    reminder.due_at = ctx.now + cmd.delay
    await ctx.uow.reminders.save(reminder)
    when = ctx.renderer.span(ctx.staff_locale, cmd.delay)
    await ctx.record(ticket, ev.FollowUpSnoozed(reminder.due_at.isoformat()))
    await ctx.notice(ticket, "notice_followup_snoozed", agent=ctx.caller.actor.name, when=when)
    return Outcome(
        ctx.staff_text("reply_followup", number=ticket.number, when=when),
        ticket_number=ticket.number,
    )


async def complete(ctx: CommandContext, cmd: c.CompleteFollowUp) -> Outcome:
    reminder, ticket = await _open_follow_up(ctx, cmd.reminder_id)
    return await _finish(ctx, reminder, ticket, EventKind.FOLLOWUP_DONE)


async def answer(ctx: CommandContext, cmd: c.AnswerCheckIn) -> Ticket:
    """The customer pressed "All good" or "Still having trouble" under a check-in."""
    ticket = await customers_ticket(ctx, cmd.number)
    given = EventKind.CHECKIN_ALL_GOOD if cmd.all_good else EventKind.CHECKIN_TROUBLE
    answers = (EventKind.CHECKIN_ALL_GOOD, EventKind.CHECKIN_TROUBLE)
    earlier = await answer_since(ctx, ticket, EventKind.CHECKIN_SENT, answers)
    if earlier is not None and earlier.kind is given:
        return ticket  # the same answer again: heard once already
    if cmd.all_good:
        await ctx.record(ticket, EventKind.CHECKIN_ALL_GOOD)
        await ctx.notice(ticket, "notice_checkin_all_good")
        await ctx.to_customer(
            ticket, MessageKind.THANKS, ctx.renderer.text(ticket.locale, "thanks_checkin")
        )
        return ticket
    await ctx.record(ticket, EventKind.CHECKIN_TROUBLE)
    cancelled = 0
    if ticket.status is Status.CLOSED:
        cancelled = await reopen_for_customer(ctx, ticket)
    else:  # still being worked on: the team was told, nothing to reopen
        await ctx.to_customer(
            ticket, MessageKind.THANKS, ctx.renderer.text(ticket.locale, "checkin_heard")
        )
    await ctx.notice(
        ticket,
        "notice_checkin_trouble",
        cancelled=cancelled,
        mentions=ctx.who_to_ping(ticket, LEADS_GROUP),
    )
    return ticket


def end_of_today(now: datetime, timezone: str) -> datetime:
    local = now.astimezone(ZoneInfo(timezone))
    midnight = local.replace(hour=0, minute=0, second=0, microsecond=0) + timedelta(days=1)
    return midnight.astimezone(now.tzinfo)


async def list_follow_ups(ctx: CommandContext) -> Outcome:
    """The caller's open follow-ups, and everyone's that are due by the end of today."""
    until = end_of_today(ctx.now, ctx.settings.timezone)
    found = await ctx.uow.reminders.follow_ups(ctx.caller.actor.ref, until, limit=50)
    rows: list[dict[str, Any]] = []
    for reminder in found:
        assert reminder.ticket_id is not None
        ticket = await ctx.uow.tickets.by_id(reminder.ticket_id)
        if ticket is not None:
            rows.append({"reminder": reminder, "ticket": ticket, "today": reminder.due_at < until})
    text = ctx.renderer.render(
        ctx.staff_locale, "staff/followups.md.j2", rows=rows, now=ctx.now, tz=ctx.settings.timezone
    )
    return Outcome(text, listed=[r["ticket"].number for r in rows])
