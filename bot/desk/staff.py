"""The agents' side: claim, assign, escalate, close, reopen, notes, priority, tags and
follow-ups (replies to the customer are bot.desk.replies)."""

from __future__ import annotations

from bot import commands as c
from bot import events as ev
from bot.desk import routing, ticket_clocks, transcripts
from bot.desk.context import CommandContext
from bot.desk.intake import clean_text, csat_actions
from bot.kinds import EventKind, MessageKind
from bot.model import Action, Direction, Reminder, ReminderKind, Ticket, TicketMessage
from bot.ports import Outcome
from bot.tags import MAX_TAGS


async def ticket_for(ctx: CommandContext, number: int | None, usage: str) -> Ticket:
    number = number if number is not None else ctx.caller.in_ticket
    if number is None:
        raise ctx.refuse("no_ticket_number", usage=usage)
    ticket = await ctx.uow.tickets.by_number(number)
    if ticket is None:
        raise ctx.refuse("unknown_ticket", number=number)
    return ticket


async def save(ctx: CommandContext, ticket: Ticket) -> None:
    ticket.updated_at = ctx.now
    await ctx.uow.tickets.save(ticket)
    await ctx.card(ticket)


async def claim(ctx: CommandContext, ticket: Ticket, cmd: c.ClaimTicket) -> Outcome:
    ticket.claim(ctx.caller.actor)
    await save(ctx, ticket)
    await ctx.record(ticket, EventKind.CLAIMED)
    await ctx.notice(ticket, "notice_claimed", agent=ctx.caller.actor.name)
    return Outcome(ctx.staff_text("reply_claimed", number=ticket.number))


async def assign(ctx: CommandContext, ticket: Ticket, cmd: c.AssignTicket) -> Outcome:
    agent = ctx.caller.mentions.get(cmd.agent)
    if agent is None:
        raise ctx.refuse("unknown_agent", agent=cmd.agent)
    if agent.ref not in ctx.caller.mentioned_staff:
        raise ctx.refuse("not_an_agent", agent=agent.name, number=ticket.number)
    ticket.assign(agent)
    await save(ctx, ticket)
    await ctx.record(ticket, ev.Assigned(agent.name, agent.ref))
    await ctx.notice(
        ticket,
        "notice_assigned",
        agent=agent.name,
        by=ctx.caller.actor.name,
        mentions=[agent.user_id],
    )
    return Outcome(ctx.staff_text("reply_assigned", number=ticket.number, agent=agent.name))


async def escalate(ctx: CommandContext, ticket: Ticket, cmd: c.EscalateTicket) -> Outcome:
    if cmd.team not in ctx.settings.teams:
        raise ctx.refuse("unknown_team", team=cmd.team, teams=", ".join(ctx.settings.teams))
    previous = ticket.assignee.name if ticket.assignee else ""
    ticket.escalate(cmd.team)
    turn = await routing.next_in_turn(ctx, cmd.team)
    if turn:
        ticket.assign(turn[0])
    await save(ctx, ticket)
    await ctx.record(ticket, ev.Escalated(cmd.team, cmd.reason, ticket.escalation_level, previous))
    await ctx.notice(
        ticket,
        "notice_escalated",
        team=cmd.team,
        reason=cmd.reason,
        agent=ctx.caller.actor.name,
        level=ticket.escalation_level,
    )
    if turn:
        await routing.announce(ctx, ticket, *turn)
    else:
        await routing.nobody_for(ctx, ticket, cmd.team)
    return Outcome(ctx.staff_text("reply_escalated", number=ticket.number, team=cmd.team))


async def close(ctx: CommandContext, ticket: Ticket, cmd: c.CloseTicket) -> Outcome:
    ticket.close(cmd.resolution, ctx.now)
    await save(ctx, ticket)
    seconds = int((ctx.now - ticket.created_at).total_seconds())
    await ctx.record(ticket, ev.Closed(cmd.resolution, seconds))
    follow_up = await ticket_clocks.after_close(ctx, ticket, cmd.follow_up)
    when = ctx.renderer.span(ctx.staff_locale, follow_up) if follow_up else ""
    await ctx.notice(
        ticket,
        "notice_closed",
        agent=ctx.caller.actor.name,
        resolution=cmd.resolution,
        followup=when,
    )
    await transcripts.at_close(ctx, ticket)
    offer = ctx.settings.customer_transcripts
    await ctx.to_customer(
        ticket,
        MessageKind.FAREWELL,
        ctx.customer_text(ticket, "customer/farewell.md.j2", resolution=cmd.resolution),
        actions=[
            Action(
                f"transcript:send:{ticket.number}",
                ctx.renderer.text(ticket.locale, "button_transcript"),
            )
        ]
        if offer
        else None,
    )
    # a rating of support nobody gave would measure nothing
    rating = ticket.first_response_at is not None
    if rating:
        still_need_help = ctx.renderer.text(ticket.locale, "button_still_need_help")
        await ctx.to_customer(
            ticket,
            MessageKind.CSAT,
            ctx.customer_text(ticket, "customer/csat.md.j2"),
            actions=csat_actions(ticket.number, still_need_help),
        )
    return Outcome(
        ctx.staff_text("reply_closed", number=ticket.number, followup=when, rating=rating)
    )


async def reopen(ctx: CommandContext, ticket: Ticket, cmd: c.ReopenTicket) -> Outcome:
    ticket.reopen()
    await save(ctx, ticket)
    await ctx.record(ticket, ev.Reopened(cmd.reason))
    cancelled = await ticket_clocks.after_reopen(ctx, ticket)
    await ctx.notice(
        ticket,
        "notice_reopened",
        agent=ctx.caller.actor.name,
        reason=cmd.reason,
        cancelled=cancelled,
        mentions=[ticket.assignee.user_id] if ticket.assignee else [],
    )
    await ctx.to_customer(
        ticket,
        MessageKind.REOPENED,
        ctx.customer_text(ticket, "customer/reopened.md.j2", reason=cmd.reason),
    )
    return Outcome(ctx.staff_text("reply_reopened", number=ticket.number, cancelled=cancelled))


async def tag(ctx: CommandContext, ticket: Ticket, cmd: c.TagTicket) -> Outcome:
    added = tuple(t for t in cmd.tags if t not in ticket.tags)
    if not added:
        raise ctx.refuse("already_tagged", number=ticket.number, tags=_listed(cmd.tags))
    if len(ticket.tags) + len(added) > MAX_TAGS:
        raise ctx.refuse("too_many_tags", number=ticket.number, limit=MAX_TAGS)
    ticket.tags += added
    await save(ctx, ticket)
    await ctx.record(ticket, ev.Tagged(" ".join(added)))
    return Outcome(ctx.staff_text("reply_tagged", number=ticket.number, tags=_listed(ticket.tags)))


async def untag(ctx: CommandContext, ticket: Ticket, cmd: c.UntagTicket) -> Outcome:
    removed = tuple(t for t in cmd.tags if t in ticket.tags)
    if not removed:
        raise ctx.refuse("not_tagged", number=ticket.number, tags=_listed(cmd.tags))
    ticket.tags = tuple(t for t in ticket.tags if t not in removed)
    await save(ctx, ticket)
    await ctx.record(ticket, ev.Untagged(" ".join(removed)))
    return Outcome(
        ctx.staff_text("reply_untagged", number=ticket.number, tags=_listed(ticket.tags))
    )


def _listed(tags: tuple[str, ...]) -> str:
    return " ".join(f"#{t}" for t in tags)


async def set_priority(ctx: CommandContext, ticket: Ticket, cmd: c.SetPriority) -> Outcome:
    before = ticket.priority
    ticket.set_priority(cmd.priority)
    await save(ctx, ticket)
    await ctx.record(ticket, ev.PriorityChanged(before.value, cmd.priority.value))
    await ticket_clocks.watch_first_response(ctx, ticket)  # the target follows the priority
    label = ctx.staff_text(f"priority_{cmd.priority.value}")
    await ctx.notice(ticket, "notice_priority", agent=ctx.caller.actor.name, priority=label)
    return Outcome(ctx.staff_text("reply_priority", number=ticket.number, priority=label))


async def add_note(
    ctx: CommandContext, ticket: Ticket, cmd: c.AddNote, source_message_id: str = ""
) -> Outcome:
    assert ticket.id is not None
    text = clean_text(cmd.text)
    if not text:
        raise ctx.refuse("empty_message")
    await ctx.uow.messages.add(
        TicketMessage(ticket.id, Direction.NOTE, ctx.caller.actor, text, ctx.now)
    )
    await ctx.record(ticket, EventKind.NOTE)
    await ctx.to_staff(
        ticket,
        MessageKind.NOTE,
        text,
        author=ctx.caller.actor.name,
        source_message_id=source_message_id,
    )
    return Outcome(ctx.staff_text("reply_note", number=ticket.number))


async def schedule_follow_up(
    ctx: CommandContext, ticket: Ticket, cmd: c.ScheduleFollowUp
) -> Outcome:
    assert ticket.id is not None
    due = ctx.now + cmd.delay
    await ctx.uow.reminders.add(
        Reminder(ticket.id, ReminderKind.FOLLOW_UP, due, ctx.caller.actor, ctx.now, note=cmd.note)
    )
    await ctx.record(ticket, ev.FollowUpScheduled(due.isoformat(), cmd.note))
    when = ctx.renderer.span(ctx.staff_locale, cmd.delay)
    await ctx.notice(
        ticket, "notice_followup", agent=ctx.caller.actor.name, when=when, note=cmd.note
    )
    return Outcome(ctx.staff_text("reply_followup", number=ticket.number, when=when))
