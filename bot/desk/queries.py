"""Read-only commands: list, show (the audit trail), help."""

from __future__ import annotations

from bot import commands as c
from bot.desk.context import CommandContext
from bot.desk.history import history
from bot.model import Status, Ticket
from bot.parser import USAGE
from bot.ports import Outcome

_NOT_CLOSED = [s.value for s in Status if s is not Status.CLOSED]
CHAT_MESSAGES = 10  # the conversation's latest messages that /ticket show prints in chat


_STATUSES = {
    "escalated": [Status.ESCALATED.value],
    "closed": [Status.CLOSED.value],
    "all": [s.value for s in Status],
}


async def list_tickets(ctx: CommandContext, cmd: c.ListTickets) -> Outcome:
    customer_id = None
    if cmd.customer:
        platform, _, user_id = cmd.customer.partition(":")
        customer = await ctx.uow.customers.find(platform, user_id)
        if customer is None:
            raise ctx.refuse("unknown_customer", customer=cmd.customer)
        customer_id = customer.id
    found = await ctx.uow.tickets.list(
        _STATUSES.get(cmd.filter, _NOT_CLOSED),
        assignee_ref=ctx.caller.actor.ref if cmd.filter == "mine" else cmd.assignee or None,
        unassigned=cmd.filter == "unclaimed",
        customer_id=customer_id,
        created_since=cmd.since,
        limit=cmd.limit,
        newest_first=cmd.filter in ("closed", "all"),  # the history: the latest matter most
        tag=cmd.tag or None,
    )
    text = ctx.renderer.render(
        ctx.staff_locale,
        "staff/list.md.j2",
        tickets=found,
        filter=cmd.filter,
        now=ctx.now,
        labels=_labels(ctx, found),
        cut=cmd.limit if len(found) >= cmd.limit else 0,
    )
    return Outcome(text, listed=[t.number for t in found])


async def show_ticket(ctx: CommandContext, ticket: Ticket, *, whole: bool = False) -> Outcome:
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
        conversation=messages if whole else messages[-CHAT_MESSAGES:],
        earlier=0 if whole else max(len(messages) - CHAT_MESSAGES, 0),
        number=ticket.number,
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
