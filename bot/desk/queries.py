"""Read-only commands: list, show (the audit trail), help."""

from __future__ import annotations

from bot import commands as c
from bot.desk.context import CommandContext
from bot.desk.history import history
from bot.model import Status, Ticket
from bot.parser import USAGE
from bot.ports import Outcome

_NOT_CLOSED = [s.value for s in Status if s is not Status.CLOSED]


async def list_tickets(ctx: CommandContext, cmd: c.ListTickets) -> Outcome:
    tickets = ctx.uow.tickets
    if cmd.filter == "mine":
        found = await tickets.list(_NOT_CLOSED, assignee_ref=ctx.caller.actor.ref)
    elif cmd.filter == "unclaimed":
        found = await tickets.list(_NOT_CLOSED, unassigned=True)
    elif cmd.filter == "escalated":
        found = await tickets.list([Status.ESCALATED.value])
    else:
        found = await tickets.list(_NOT_CLOSED)
    text = ctx.renderer.render(
        ctx.staff_locale,
        "staff/list.md.j2",
        tickets=found,
        filter=cmd.filter,
        now=ctx.now,
        labels=_labels(ctx, found),
    )
    return Outcome(text, listed=[t.number for t in found])


async def show_ticket(ctx: CommandContext, ticket: Ticket) -> Outcome:
    assert ticket.id is not None
    assert ticket.customer_id is not None
    ticket.earlier_tickets = await ctx.uow.tickets.count_for_customer(ticket.customer_id, ticket.id)
    events = await ctx.uow.events.for_ticket(ticket.id)
    messages = await ctx.uow.messages.for_ticket(ticket.id)
    tz = ctx.settings.timezone
    text = ctx.renderer.render(
        ctx.staff_locale,
        "staff/show.md.j2",
        card=ctx.card_body(ticket),
        history=history(ctx.renderer, ctx.staff_locale, tz, events),
        messages=messages,
        tz=tz,
    )
    return Outcome(text, ticket_number=ticket.number)


def help_text(ctx: CommandContext) -> Outcome:
    return Outcome(
        ctx.renderer.render(
            ctx.staff_locale,
            "staff/help.md.j2",
            usage=USAGE,
            prefixes=ctx.settings.note_prefixes,
            teams=ctx.settings.teams,
        )
    )


def _labels(ctx: CommandContext, tickets: list[Ticket]) -> dict[str, str]:
    keys = {f"status_{t.status.value}" for t in tickets} | {
        f"priority_{t.priority.value}" for t in tickets
    }
    return {k: ctx.staff_text(k) for k in keys}
