"""A ticket's transcript: the whole conversation in order, with authors, times in the desk's
time zone, attachments as links, internal notes and undelivered messages marked, and the
audit trail. Made at every close (stored, and posted as files in the staff thread) and on
demand. The customer's copy leaves out internal notes and the audit trail."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

from bot import commands as c
from bot.desk.context import CommandContext
from bot.desk.history import history
from bot.desk.intake import customers_ticket
from bot.events import DeliveryFailed
from bot.kinds import EventKind, MessageKind
from bot.model import (
    Direction,
    FileToSend,
    Refusal,
    Ticket,
    TicketEvent,
    TicketMessage,
    with_files,
)
from bot.ports import Outcome
from bot.rendering import Renderer, local_time

FORMAT = "supportbot-transcript/1"
_ROLES = {Direction.INBOUND: "customer", Direction.OUTBOUND: "agent", Direction.NOTE: "internal"}


@dataclass(frozen=True)
class Said:
    """One message of the conversation."""

    at: str  # ISO 8601, UTC
    author: str
    role: str  # customer | agent | internal
    text: str
    attachments: list[dict[str, str]] = field(default_factory=list)  # name, url
    delivered: bool = True  # False: it never reached the customer
    as_team: bool = False  # sent in the team's voice (the customer saw the team's name)


@dataclass(frozen=True)
class Transcript:
    """What a transcript holds, as stored (`document()`) and rendered as text and HTML."""

    number: int
    subject: str
    customer: str
    platform: str
    status: str
    priority: str
    assignee: str
    team: str
    opened_at: str
    closed_at: str
    resolution: str
    made_at: str
    locale: str
    timezone: str
    for_customer: bool
    conversation: list[Said]
    history: list[dict[str, str]]  # at, text: the audit trail as sentences

    def document(self) -> dict[str, Any]:
        return {"format": FORMAT, **asdict(self)}

    @classmethod
    def from_document(cls, document: dict[str, Any]) -> Transcript:
        fields = {k: v for k, v in document.items() if k != "format"}
        fields["conversation"] = [Said(**s) for s in fields["conversation"]]
        return cls(**fields)


def make(
    ctx: CommandContext,
    ticket: Ticket,
    messages: list[TicketMessage],
    events: list[TicketEvent],
    *,
    for_customer: bool = False,
) -> Transcript:
    undelivered = _undelivered(events)
    locale = ticket.locale if for_customer else ctx.staff_locale
    tz = ctx.settings.timezone
    conversation = [
        Said(
            m.at.isoformat(),
            # the customer's copy names the team where they saw the team's name
            ctx.team_name(locale) if m.anonymous and for_customer else m.author.name,
            _ROLES[m.direction],
            m.body,
            [{"name": a.name, "url": a.url} for a in m.attachments],
            not (m.direction is Direction.OUTBOUND and m.at.isoformat() in undelivered),
            m.anonymous,
        )
        for m in messages
        if not (for_customer and m.direction is Direction.NOTE)
    ]
    trail = [] if for_customer else history(ctx.renderer, locale, tz, events)
    return Transcript(
        number=ticket.number,
        subject=ticket.subject,
        customer=ticket.customer_name,
        platform=ticket.source.platform,
        status=ctx.renderer.text(locale, f"status_{ticket.status.value}"),
        priority=ctx.renderer.text(locale, f"priority_{ticket.priority.value}"),
        # the customer's copy names no agent (they may have spoken as the team) nor team
        assignee=ticket.assignee.name if ticket.assignee and not for_customer else "",
        team="" if for_customer else ticket.team,
        opened_at=ticket.created_at.isoformat(),
        closed_at=ticket.closed_at.isoformat() if ticket.closed_at else "",
        resolution=ticket.resolution,
        made_at=ctx.now.isoformat(),
        locale=locale,
        timezone=tz,
        for_customer=for_customer,
        conversation=conversation,
        history=[{"at": line.at.isoformat(), "text": line.text} for line in trail],
    )


def _undelivered(events: list[TicketEvent]) -> set[str]:
    """When the messages that failed for good were written: an agent's reply and its outbox
    row are written in one transaction, at one time."""
    return {
        e.payload.written_at
        for e in events
        if isinstance(e.payload, DeliveryFailed)
        and e.payload.message_kind == MessageKind.AGENT_REPLY  # not a card or notice of then
        and e.payload.written_at
    }


def files(renderer: Renderer, transcript: Transcript) -> list[FileToSend]:
    """The transcript as an HTML page readable offline, with the plain text beside it."""
    name = f"ticket-{transcript.number}"
    return [
        FileToSend(f"{name}.html", "text/html", as_html(renderer, transcript)),
        FileToSend(f"{name}.txt", "text/plain", as_text(renderer, transcript)),
    ]


def as_text(renderer: Renderer, transcript: Transcript) -> str:
    return _render(renderer, transcript, "transcript/transcript.txt.j2") + "\n"


def as_html(renderer: Renderer, transcript: Transcript) -> str:
    # the HTML template is autoescaped: a customer's <script> or <!channel> is only text
    return _render(renderer, transcript, "transcript/transcript.html.j2") + "\n"


def _render(renderer: Renderer, transcript: Transcript, name: str) -> str:
    return renderer.render(
        transcript.locale,
        name,
        tr=transcript,
        at=lambda iso: _local(iso, transcript.timezone),
    )


def _local(iso: str, tz: str) -> str:
    return local_time(datetime.fromisoformat(iso), tz) if iso else ""


async def _whole(ctx: CommandContext, ticket: Ticket, *, for_customer: bool = False) -> Transcript:
    assert ticket.id is not None
    messages = await ctx.uow.messages.for_ticket(ticket.id)
    events = await ctx.uow.events.for_ticket(ticket.id)
    return make(ctx, ticket, messages, events, for_customer=for_customer)


async def at_close(ctx: CommandContext, ticket: Ticket) -> None:
    """Every close: the transcript is kept, and posted as files in the staff thread."""
    assert ticket.id is not None
    transcript = await _whole(ctx, ticket)
    await ctx.uow.transcripts.add(ticket.id, ctx.now, transcript.document())
    await _post(ctx, ticket, transcript)


async def _post(ctx: CommandContext, ticket: Ticket, transcript: Transcript) -> None:
    await ctx.to_staff(
        ticket,
        MessageKind.TRANSCRIPT,
        ctx.staff_text("transcript_posted", number=ticket.number, n=len(transcript.conversation)),
        **with_files(files(ctx.renderer, transcript)),
    )


async def on_demand(ctx: CommandContext, ticket: Ticket, cmd: c.PostTranscript) -> Outcome:
    """`/ticket transcript`: the transcript as it stands now, posted in the ticket's thread."""
    transcript = await _whole(ctx, ticket)
    await _post(ctx, ticket, transcript)
    return Outcome(ctx.staff_text("reply_transcript", number=ticket.number))


async def show(ctx: CommandContext, ticket: Ticket, cmd: c.ShowTranscript) -> Outcome:
    """The transcript as it stands, in one format, for the terminal."""
    transcript = await _whole(ctx, ticket)
    if cmd.format == "json":
        text = json.dumps(transcript.document(), ensure_ascii=False, indent=2)
    elif cmd.format == "html":
        text = as_html(ctx.renderer, transcript)
    else:
        text = as_text(ctx.renderer, transcript)
    return Outcome(text)


async def send_to_customer(ctx: CommandContext, cmd: c.SendTranscript) -> Ticket:
    """The customer's own copy, in their language, where the desk allows it."""
    ticket = await customers_ticket(ctx, cmd.number)
    if not ctx.settings.customer_transcripts:  # a button from before the desk turned it off
        raise Refusal("transcripts_off", locale=ticket.locale, keep=True)
    transcript = await _whole(ctx, ticket, for_customer=True)
    await ctx.to_customer(
        ticket,
        MessageKind.TRANSCRIPT,
        ctx.renderer.text(ticket.locale, "transcript_for_customer", number=ticket.number),
        **with_files(files(ctx.renderer, transcript)),
    )
    await ctx.record(ticket, EventKind.TRANSCRIPT_SENT)
    return ticket
