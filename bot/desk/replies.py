"""Replies to the customer from the ticket's staff thread: what an agent writes, a saved
reply, and replies in the team's voice (the customer sees the desk's name, the thread and
the record keep the agent's)."""

from __future__ import annotations

from bot import commands as c
from bot import events as ev
from bot.desk import snippets, ticket_clocks
from bot.desk.context import CommandContext
from bot.desk.intake import clean_text
from bot.desk.staff import add_note, save
from bot.kinds import EventKind, MessageKind
from bot.model import Attachment, Direction, Ticket, TicketMessage
from bot.parser import guess, looks_like_command
from bot.ports import Outcome
from bot.saved_replies import NAME, fill

TEAM_VOICE = "!anon"  # a thread message that starts so goes out in the team's voice


async def agent_message(ctx: CommandContext, ticket: Ticket, cmd: c.RelayAgentMessage) -> Outcome:
    """An agent wrote in the thread: an internal note by prefix, a saved reply (`!name`),
    the team's voice (`!anon ...`), else a reply to the customer."""
    assert ticket.id is not None
    text = clean_text(cmd.text)
    for prefix in ctx.settings.note_prefixes:
        if text.lower().startswith(prefix.lower()):
            return await add_note(
                ctx, ticket, c.AddNote(text[len(prefix) :]), cmd.source_message_id
            )
    if not text and not cmd.attachments:
        raise ctx.refuse("empty_message")
    if looks_like_command(cmd.text):  # a mistyped command must not reach the customer
        raise ctx.refuse("not_sent_command", text=text.split("\n", 1)[0], guess=guess(text))
    head, rest = [*text.split(maxsplit=1), "", ""][:2]  # `!anon` may end its own line
    if head.lower() == TEAM_VOICE:
        return await reply(
            ctx, ticket, rest.strip(), cmd.attachments, cmd.source_message_id, as_team=True
        )
    name = head[1:].lower()
    if head.startswith("!") and not rest and NAME.match(name):
        return await send_snippet(ctx, ticket, c.SendSnippet(name), cmd.source_message_id)
    return await reply(ctx, ticket, text, cmd.attachments, cmd.source_message_id)


async def reply_as_team(ctx: CommandContext, ticket: Ticket, cmd: c.ReplyAsTeam) -> Outcome:
    """`/ticket areply`: its text is in no thread yet, so the thread is shown what was sent."""
    return await reply(ctx, ticket, clean_text(cmd.text), (), "", as_team=True, shown=False)


async def send_snippet(
    ctx: CommandContext, ticket: Ticket, cmd: c.SendSnippet, source_message_id: str = ""
) -> Outcome:
    text = fill(
        await snippets.text_for(ctx, cmd.name, ticket),
        customer=ticket.customer_name,
        agent=ctx.team_name(ticket.locale)
        if ctx.settings.anonymous_replies
        else ctx.caller.actor.name,
        number=str(ticket.number),
    )
    # the thread holds `!name` or a command, not the text: it is shown what was sent
    return await reply(ctx, ticket, text, (), source_message_id, shown=False, snippet=cmd.name)


async def reply(
    ctx: CommandContext,
    ticket: Ticket,
    text: str,
    attachments: tuple[Attachment, ...],
    source_message_id: str,
    *,
    as_team: bool = False,
    shown: bool = True,  # the agent's own message in the thread already shows the text
    snippet: str = "",
    article: str = "",
) -> Outcome:
    assert ticket.id is not None
    if not text and not attachments:
        raise ctx.refuse("empty_message")
    agent = ctx.caller.actor
    as_team = as_team or ctx.settings.anonymous_replies
    if ticket.is_closed:
        # keep the words, but do not send them to a customer who was told we are done
        await ctx.uow.messages.add(
            TicketMessage(ticket.id, Direction.NOTE, agent, text, ctx.now, list(attachments))
        )
        await ctx.record(ticket, EventKind.REPLY_NOT_SENT)
        raise ctx.refuse("reply_to_closed", number=ticket.number)
    before, first = ticket.status, ticket.first_response_at is None
    claimed = ticket.record_agent_reply(agent, ctx.now)
    await save(ctx, ticket)
    await ctx.uow.messages.add(
        TicketMessage(
            ticket.id, Direction.OUTBOUND, agent, text, ctx.now, list(attachments), None, as_team
        )
    )
    if claimed:
        await ctx.record(ticket, EventKind.CLAIMED)
    if first:
        seconds = int((ctx.now - ticket.created_at).total_seconds())
        await ctx.record(ticket, ev.FirstResponse(seconds))
        await ticket_clocks.first_response_given(ctx, ticket)
    await ticket_clocks.start_idle_clock(ctx, ticket)
    if ticket.status is not before:
        await ctx.record(ticket, ev.StatusChanged(before.value, ticket.status.value))
    if not shown:
        await ctx.notice(
            ticket,
            "notice_sent_for_agent",
            agent=agent.name,
            snippet=snippet,
            article=article,
            as_team=as_team,
            text=text,
        )
    body = ctx.renderer.render(ticket.locale, "relay.md.j2", text=text, attachments=attachments)
    await ctx.to_customer(
        ticket,
        MessageKind.AGENT_REPLY,
        body,
        author=ctx.team_name(ticket.locale) if as_team else agent.name,
        source_message_id=source_message_id,
    )
    key = "reply_sent_as_team" if as_team else "reply_sent"
    return Outcome(ctx.staff_text(key, number=ticket.number))
