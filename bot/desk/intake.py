"""The customer's side: messages open or continue tickets; ratings come back after the close."""

from __future__ import annotations

from bot import commands as c
from bot import events as ev
from bot.categories import GENERAL
from bot.desk import routing, similar, suggestions, ticket_clocks
from bot.desk.after_close import LOW_RATING, answer_since, heard_after_close
from bot.desk.context import CommandContext
from bot.desk.customers import customer_for, refused_for_block, turned_away, zone_of
from bot.kinds import EventKind, MessageKind
from bot.model import (
    Action,
    Attachment,
    Customer,
    Direction,
    Person,
    Refusal,
    Source,
    Status,
    Ticket,
    TicketMessage,
)

_REPLACEMENT = "\ufffd"


def clean_text(text: str) -> str:
    """NUL cannot be stored by PostgreSQL; show it as U+FFFD instead of dropping the message."""
    return text.replace("\x00", _REPLACEMENT).strip()


def subject_of(text: str, attachments: tuple[Attachment, ...], limit: int) -> str:
    first_line = next((line.strip() for line in text.splitlines() if line.strip()), "")
    if not first_line and attachments:
        first_line = attachments[0].name
    if len(first_line) > limit:
        first_line = first_line[: limit - 1].rstrip() + "…"
    return first_line or "(no subject)"


async def relay_customer_message(ctx: CommandContext, cmd: c.RelayCustomerMessage) -> Ticket | None:
    """The ticket the message went to; None when it went nowhere (a blocked customer)."""
    text = _require_content(ctx, cmd.text, cmd.attachments, cmd.locale)
    customer, new = await customer_for(ctx, cmd.customer, cmd.locale, cmd.timezone)
    assert customer.id is not None
    if not new and await turned_away(ctx, customer, cmd.source):
        return None
    ticket = None
    if cmd.source.thread:
        ticket = await ctx.uow.tickets.by_source_thread(cmd.source)
    elif not new:  # a first-time customer has no open ticket to continue
        tickets = ctx.uow.tickets
        ticket = await tickets.open_for_customer(customer.id, cmd.source)
        last = None if ticket else await tickets.latest_for_customer(customer.id, cmd.source)
        if last and await heard_after_close(ctx, last, cmd.customer, text, cmd.attachments):
            return last
    if ticket is None:
        return await open_ticket(
            ctx, customer, cmd.customer, cmd.source, text, cmd.attachments, new_customer=new
        )
    if ticket.is_closed and await heard_after_close(
        ctx, ticket, cmd.customer, text, cmd.attachments
    ):
        return ticket
    await _continue(ctx, ticket, cmd.customer, text, cmd.attachments)
    return ticket


async def open_explicit(ctx: CommandContext, cmd: c.OpenTicket) -> Ticket:
    text = _require_content(ctx, cmd.text, cmd.attachments, cmd.locale)
    customer, new = await customer_for(ctx, cmd.customer, cmd.locale, cmd.timezone)
    # a blocked customer's own form opens nothing; staff may still open one for them
    if not new and not ctx.caller.is_staff and (refusal := await refused_for_block(ctx, customer)):
        raise refusal
    return await open_ticket(
        ctx,
        customer,
        cmd.customer,
        cmd.source,
        text,
        cmd.attachments,
        subject=cmd.subject,
        new_customer=new,
        category=cmd.category,
        answers=cmd.answers,
    )


def _require_content(
    ctx: CommandContext, text: str, attachments: tuple[Attachment, ...], locale: str
) -> str:
    cleaned = clean_text(text)
    if not cleaned and not attachments:
        raise Refusal("empty_message", locale=locale or None, keep=True)
    return cleaned


async def open_ticket(
    ctx: CommandContext,
    customer: Customer,
    person: Person,
    source: Source,
    text: str,
    attachments: tuple[Attachment, ...],
    subject: str = "",
    new_customer: bool = False,
    category: str = "",
    answers: tuple[tuple[str, str], ...] = (),
) -> Ticket:
    assert customer.id is not None
    picked = ctx.settings.categories.get(category)
    priority, keyword = ctx.triage.priority_for(f"{subject}\n{text}")
    if picked and picked.priority and (not keyword or picked.priority.rank < priority.rank):
        priority, keyword = picked.priority, ""  # the category's, unless a keyword says more
    team = picked.team if picked else ""
    turn = await routing.next_in_turn(ctx, team)
    # known when it opens and kept with it, so that every later card says them too
    earlier = 0 if new_customer else await ctx.uow.tickets.count_for_customer(customer.id)
    ticket = Ticket(
        id=None,
        number=0,  # the next, given as it is stored
        subject=subject_of(subject or text, attachments, ctx.settings.subject_length),
        customer_id=customer.id,
        customer_name=customer.display_name,
        locale=customer.locale,
        source=source,
        created_at=ctx.now,
        updated_at=ctx.now,
        priority=priority,
        assignee=turn[0] if turn else None,
        status=Status.CLAIMED if turn else Status.OPEN,
        team=team,
        category=picked.name if picked else GENERAL,
        answers=answers,
        earlier_tickets=earlier,
        similar=await similar.for_card(ctx, f"{subject}\n{text}"),
    )
    await ctx.uow.tickets.add(ticket)
    assert ticket.id is not None
    await ctx.record(ticket, ev.Opened(priority.value, keyword), person)
    await ctx.uow.messages.add(
        TicketMessage(ticket.id, Direction.INBOUND, person, text, ctx.now, list(attachments))
    )
    await ctx.card(ticket, first=True)
    await _relay_to_staff(ctx, ticket, person, text, attachments)
    if turn:
        await routing.announce(ctx, ticket, *turn)
    elif team:
        await routing.nobody_for(ctx, ticket, team)
    await ticket_clocks.watch_first_response(ctx, ticket, fresh=True)
    target = ticket_clocks.target_for(ctx.settings, ticket)
    hours = ctx.settings.business_hours
    # outside business hours the customer is told when the team is back (the target's
    # clock starts then, too)
    back = (
        ""
        if hours is None or hours.is_open(ctx.now)
        else ctx.renderer.moment(ticket.locale, hours.opens_next(ctx.now), zone_of(ctx, customer))
    )
    offered = await suggestions.offer(ctx, ticket, f"{subject}\n{text}")
    await ctx.to_customer(
        ticket,
        MessageKind.ACK,
        ctx.customer_text(
            ticket,
            "customer/ack.md.j2",
            expected=ctx.renderer.duration(ticket.locale, target),
            back=back,
            offered=offered,
        ),
        actions=suggestions.offer_actions(ctx, ticket, offered),
    )
    return ticket


async def _continue(
    ctx: CommandContext,
    ticket: Ticket,
    person: Person,
    text: str,
    attachments: tuple[Attachment, ...],
) -> None:
    assert ticket.id is not None
    before = ticket.status
    if ticket.is_closed:  # the customer wrote again in the closed ticket's own thread
        ticket.reopen()
        await ctx.record(ticket, ev.Reopened(""), person)  # the customer wrote again
        cancelled = await ticket_clocks.after_reopen(ctx, ticket)
        await ctx.notice(
            ticket,
            "notice_reopened_by_customer",
            cancelled=cancelled,
            mentions=[ticket.assignee.user_id] if ticket.assignee else [],
        )
    if before is Status.WAITING:  # the customer answered: the idle clock stops
        await ticket_clocks.stop_idle_clock(ctx, ticket)
    ticket.record_customer_message()
    ticket.updated_at = ctx.now
    await ctx.uow.tickets.save(ticket)
    await ctx.uow.messages.add(
        TicketMessage(ticket.id, Direction.INBOUND, person, text, ctx.now, list(attachments))
    )
    await _relay_to_staff(ctx, ticket, person, text, attachments)
    if ticket.status is not before:
        await ctx.record(ticket, ev.StatusChanged(before.value, ticket.status.value), person)
        await ctx.card(ticket)


async def _relay_to_staff(
    ctx: CommandContext,
    ticket: Ticket,
    person: Person,
    text: str,
    attachments: tuple[Attachment, ...],
) -> None:
    body = ctx.renderer.render(ctx.staff_locale, "relay.md.j2", text=text, attachments=attachments)
    await ctx.to_staff(ticket, MessageKind.CUSTOMER_MESSAGE, body, author=person.name)


async def customers_ticket(ctx: CommandContext, number: int) -> Ticket:
    """The ticket behind a customer's button. A button of someone else's ticket (forwarded,
    or pressed in a shared channel) changes nothing and is explained in the presser's
    language, without a staff command to try."""
    ticket = await ctx.uow.tickets.by_number(number)
    customer = await ctx.uow.customers.find(ctx.caller.actor.platform, ctx.caller.actor.user_id)
    if ticket is None or customer is None or customer.id != ticket.customer_id:
        locale = customer.locale if customer else ctx.caller.locale
        raise Refusal("not_your_ticket", locale=locale, keep=True)
    if refusal := await refused_for_block(ctx, customer):
        raise refusal
    return ticket


async def reopen_for_customer(ctx: CommandContext, ticket: Ticket) -> int:
    """The customer says it is not solved: the closed ticket reopens and they are told.
    Returns how many after-care follow-ups this cancelled, for the staff's notice."""
    ticket.reopen()
    ticket.updated_at = ctx.now
    await ctx.uow.tickets.save(ticket)
    await ctx.record(ticket, ev.Reopened(""))  # the customer's own press: the actor says it
    cancelled = await ticket_clocks.after_reopen(ctx, ticket)
    await ctx.card(ticket)
    await ctx.to_customer(
        ticket,
        MessageKind.REOPENED,
        ctx.customer_text(ticket, "customer/reopened.md.j2", reason=""),
    )
    return cancelled


async def still_need_help(ctx: CommandContext, cmd: c.StillNeedHelp) -> Ticket:
    """ "I still need help" under the articles offered with a new ticket."""
    ticket = await customers_ticket(ctx, cmd.number)
    await needs_help(ctx, ticket)
    return ticket


async def needs_help(ctx: CommandContext, ticket: Ticket) -> None:
    """The customer says it is not solved (under an offered article, or in the survey): a
    closed ticket reopens, an open one goes on; the team and the customer hear it once.
    Pressed again since (or after the ticket reopened), it says nothing new."""
    if ticket.status is Status.CLOSED:
        cancelled = await reopen_for_customer(ctx, ticket)  # tells the customer itself
    elif await answer_since(ctx, ticket, EventKind.CLOSED, _HEARD_NEEDS_HELP):
        return
    else:
        cancelled = 0
        await ctx.record(ticket, EventKind.KB_NEED_HELP)
        await ctx.to_customer(
            ticket, MessageKind.THANKS, ctx.renderer.text(ticket.locale, "thanks_kb_need_help")
        )
    await ctx.notice(
        ticket,
        "notice_still_needs_help",
        cancelled=cancelled,
        mentions=[ticket.assignee.user_id] if ticket.assignee else [],
    )


# since the last close, the customer has been heard saying it is not solved
_HEARD_NEEDS_HELP = (EventKind.KB_NEED_HELP, EventKind.REOPENED)


async def rate(ctx: CommandContext, cmd: c.RateTicket) -> Ticket:
    ticket = await customers_ticket(ctx, cmd.number)
    if cmd.score is None:  # "I still need help" (and the first article offers' button)
        await needs_help(ctx, ticket)
        return ticket
    if not 1 <= cmd.score <= 5:
        raise Refusal("bad_rating", locale=ticket.locale, keep=True)
    if not ticket.is_closed:  # an old rating button of a ticket that is open again
        return ticket
    # one rating per close: a second press changes it, the same press again changes nothing
    earlier = await answer_since(ctx, ticket, EventKind.CLOSED, (EventKind.RATED,))
    before = earlier.payload.score if earlier and isinstance(earlier.payload, ev.Rated) else None
    if before == cmd.score:
        return ticket
    await ctx.record(ticket, ev.Rated(cmd.score))
    if before is None:
        await ctx.notice(ticket, "notice_rated", score=cmd.score)
    else:
        await ctx.notice(ticket, "notice_rating_changed", before=before, score=cmd.score)
    low = cmd.score <= LOW_RATING and (before is None or before > LOW_RATING)
    thanks = "thanks_rating_low" if low else "thanks_rating"
    await ctx.to_customer(ticket, MessageKind.THANKS, ctx.renderer.text(ticket.locale, thanks))
    return ticket


def csat_actions(number: int, still_need_help: str) -> list[Action]:
    return [Action(f"csat:{score}:{number}", str(score)) for score in range(1, 6)] + [
        Action(f"csat:help:{number}", still_need_help)
    ]
