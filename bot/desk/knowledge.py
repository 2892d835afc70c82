"""The knowledge base at the desk: `/ticket kb` for agents (search, send an article to a
customer in their language), and the customer's "This solved it" under an article their
new ticket was offered (bot.desk.suggestions), which closes the ticket as self-served."""

from __future__ import annotations

from bot import commands as c
from bot.desk import replies, staff, transcripts
from bot.desk.context import CommandContext
from bot.desk.intake import customers_ticket
from bot.desk.suggestions import Shelf
from bot.desk.ticket_clocks import IDLE_KINDS, SLA_KINDS
from bot.events import Closed
from bot.kinds import EventKind, MessageKind
from bot.knowledge import Article
from bot.model import Ticket
from bot.parser import USAGE
from bot.ports import Outcome
from bot.reports import DEFLECTED

AGENT_RESULTS = 5  # an agent reads more than the customer is offered, and picks


def _shelf(ctx: CommandContext) -> Shelf:
    if ctx.knowledge is None:
        raise ctx.refuse("kb_missing")
    return ctx.knowledge


def language(ctx: CommandContext, locale: str) -> str:
    """ "Japanese" for ja, in the staff's language; the code for one the catalog lacks."""
    try:
        return ctx.staff_text(f"language_{locale}")
    except KeyError:
        return locale


async def search(ctx: CommandContext, cmd: c.SearchArticles) -> Outcome:
    """In a ticket (its thread, or #N) the articles its customer could be sent, in their
    language; elsewhere the staff's."""
    shelf = _shelf(ctx)
    number = cmd.number if cmd.number is not None else ctx.caller.in_ticket
    ticket = await staff.ticket_for(ctx, number, USAGE["kb"]) if number is not None else None
    locale = ticket.locale if ticket else ctx.staff_locale
    hits = await shelf.search(cmd.query, locale, AGENT_RESULTS)
    text = ctx.renderer.render(
        ctx.staff_locale,
        "staff/kb.md.j2",
        query=cmd.query,
        hits=hits,
        threshold=shelf.threshold,
        language=language(ctx, locale),
        number=ticket.number if ticket else None,
        written=locale in shelf.locales,
    )
    return Outcome(text, ticket_number=ticket.number if ticket else None)


async def send(ctx: CommandContext, ticket: Ticket, cmd: c.SendArticle) -> Outcome:
    """The article in the customer's language, as a reply; never another language's."""
    versions = await _shelf(ctx).versions(cmd.article)
    article = versions.get(ticket.locale)
    if article is None:
        if not versions:
            raise ctx.refuse("kb_unknown_article", article=cmd.article)
        raise ctx.refuse(
            "kb_not_translated",
            article=cmd.article,
            number=ticket.number,
            language=language(ctx, ticket.locale),
            written=ctx.staff_text("list_separator").join(
                language(ctx, locale) for locale in sorted(versions)
            ),
        )
    return await replies.reply(
        ctx, ticket, article_text(ctx, article), (), "", shown=False, article=article.id
    )


def article_text(ctx: CommandContext, article: Article) -> str:
    """Its title and link; the article itself where it has no page to link to."""
    return ctx.renderer.render(article.locale, "customer/article.md.j2", article=article)


async def solved(ctx: CommandContext, cmd: c.SolvedBySuggestion) -> Ticket:
    """ "This solved it": before any agent answered, the ticket closes as self-served (no
    rating question, no follow-up) and counts as deflected. Once an agent has answered, the
    agent is told and closes as usual (their answer may be what solved it, and the close is
    theirs to word): nothing closes and nothing counts as deflected. Either happens once per
    ticket; pressed again, after an agent's close, or after the ticket reopened, the press
    changes nothing and nobody is told twice."""
    ticket = await customers_ticket(ctx, cmd.number)
    if ticket.is_closed or await _said_solved(ctx, ticket):
        return ticket
    if ticket.first_response_at is not None:
        await ctx.record(ticket, EventKind.KB_SOLVED)
        holder = [ticket.assignee.user_id] if ticket.assignee else []
        await ctx.notice(ticket, "notice_kb_solved_answered", mentions=holder)
        await ctx.to_customer(
            ticket, MessageKind.THANKS, ctx.renderer.text(ticket.locale, "thanks_kb_solved")
        )
        return ticket
    assert ticket.id is not None
    ticket.close(DEFLECTED, ctx.now)
    await staff.save(ctx, ticket)
    seconds = int((ctx.now - ticket.created_at).total_seconds())
    await ctx.record(ticket, Closed(DEFLECTED, seconds, self_served=True))
    await ctx.uow.reminders.cancel(ticket.id, SLA_KINDS + IDLE_KINDS)
    await ctx.notice(ticket, "notice_kb_deflected")
    await transcripts.at_close(ctx, ticket)
    await ctx.to_customer(
        ticket, MessageKind.THANKS, ctx.renderer.text(ticket.locale, "thanks_kb_solved")
    )
    return ticket


async def _said_solved(ctx: CommandContext, ticket: Ticket) -> bool:
    """The customer has pressed "This solved it" on this ticket before (it closed as
    self-served, or its agent was told)."""
    assert ticket.id is not None
    return any(
        event.kind is EventKind.KB_SOLVED
        or (isinstance(event.payload, Closed) and event.payload.self_served)
        for event in await ctx.uow.events.for_ticket(ticket.id)
    )
