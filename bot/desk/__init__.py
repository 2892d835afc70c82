"""The desk: every use case of supportbot, behind one `handle(command, caller)`."""

from __future__ import annotations

import dataclasses
import logging
import uuid
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime, timedelta
from enum import Enum
from typing import Any

from bot import commands as c
from bot.clock import Clock, SystemClock
from bot.desk import (
    blocks,
    digest,
    followups,
    intake,
    knowledge,
    queries,
    replies,
    routing,
    similar,
    snippets,
    staff,
    transcripts,
)
from bot.desk.context import CommandContext
from bot.desk.in_order import InOrder, conversation_of
from bot.desk.similar import SimilarTickets
from bot.desk.suggestions import Shelf
from bot.knowledge_ports import ClosedTickets, Knowledge
from bot.logcontext import ABOUT, LogSubject
from bot.model import OutboundMessage, Refusal, Ticket
from bot.parser import USAGE, parse
from bot.ports import (
    CategoryChoice,
    ConcurrencyConflict,
    Outcome,
    StorageOutage,
    UnitOfWork,
    UnitOfWorkFactory,
)
from bot.rendering import Renderer
from bot.settings import DeskSettings
from bot.storable import storable
from bot.triage import Triage

log = logging.getLogger(__name__)

__all__ = ["Desk", "Outcome"]

_ATTEMPTS = 5  # optimistic-lock retries before we give up on a hot ticket
# more commands under way at once than this is a rush: a new ticket's card skips what can
# wait (similar tickets), and the customers' acknowledgements get the CPU
RUSH = 8

# every command's handler has one shape: the open transaction's context and the command
Handler = Callable[[CommandContext, Any], Awaitable[Outcome]]


def _on_ticket(verb: str, action: Callable[..., Awaitable[Outcome]]) -> Handler:
    """A staff action on the ticket the command names (or the thread it was given in)."""

    async def handler(ctx: CommandContext, command: Any) -> Outcome:
        ticket = await staff.ticket_for(ctx, command.number, USAGE[verb])
        outcome = await action(ctx, ticket, command)
        outcome.ticket_number = ticket.number
        return outcome

    return handler


def _on_customers_ticket(
    work: Callable[[CommandContext, Any], Awaitable[Ticket | None]],
) -> Handler:
    """A customer's message or answer: nothing to say back beyond the ticket's number."""

    async def handler(ctx: CommandContext, command: Any) -> Outcome:
        ticket = await work(ctx, command)
        return Outcome("", ticket_number=ticket.number if ticket else None)

    return handler


async def _open_ticket(ctx: CommandContext, command: c.OpenTicket) -> Outcome:
    ticket = await intake.open_explicit(ctx, command)
    return Outcome(
        ctx.staff_text("reply_opened", number=ticket.number), ticket_number=ticket.number
    )


async def _show_ticket(ctx: CommandContext, command: c.ShowTicket) -> Outcome:
    ticket = await staff.ticket_for(ctx, command.number, USAGE["show"])
    return await queries.show_ticket(ctx, ticket, whole=command.whole)


async def _help(ctx: CommandContext, command: c.Help) -> Outcome:
    return queries.help_text(ctx)


HANDLERS: dict[type[c.Command], Handler] = {
    # customers' own
    c.RelayCustomerMessage: _on_customers_ticket(intake.relay_customer_message),
    c.RateTicket: _on_customers_ticket(intake.rate),
    c.AnswerCheckIn: _on_customers_ticket(followups.answer),
    c.SendTranscript: _on_customers_ticket(transcripts.send_to_customer),
    c.SolvedBySuggestion: _on_customers_ticket(knowledge.solved),
    c.StillNeedHelp: _on_customers_ticket(intake.still_need_help),
    c.OpenTicket: _open_ticket,  # a shortcut opens a ticket for a customer's message
    # staff only, from here on
    c.RelayAgentMessage: _on_ticket("note", replies.agent_message),
    c.SendSnippet: _on_ticket("send", replies.send_snippet),
    c.ReplyAsTeam: _on_ticket("areply", replies.reply_as_team),
    c.SetDuty: routing.set_duty,
    c.ShowDuty: routing.show_duty,
    c.AddSnippet: snippets.add,
    c.RemoveSnippet: snippets.remove,
    c.ListSnippets: snippets.listed,
    c.ClaimTicket: _on_ticket("claim", staff.claim),
    c.AssignTicket: _on_ticket("assign", staff.assign),
    c.EscalateTicket: _on_ticket("escalate", staff.escalate),
    c.CloseTicket: _on_ticket("close", staff.close),
    c.ReopenTicket: _on_ticket("reopen", staff.reopen),
    c.AddNote: _on_ticket("note", staff.add_note),
    c.SetPriority: _on_ticket("priority", staff.set_priority),
    c.ScheduleFollowUp: _on_ticket("followup", staff.schedule_follow_up),
    c.ShowTicket: _show_ticket,
    c.ListTickets: queries.list_tickets,
    c.Help: _help,
    c.BlockCustomer: blocks.block,
    c.UnblockCustomer: blocks.unblock,
    c.ListBlocked: blocks.list_blocked,
    c.PostTranscript: _on_ticket("transcript", transcripts.on_demand),
    c.ShowTranscript: _on_ticket("transcript", transcripts.show),
    c.TagTicket: _on_ticket("tag", staff.tag),
    c.UntagTicket: _on_ticket("untag", staff.untag),
    c.SendCheckIn: followups.check_in,
    c.SnoozeFollowUp: followups.snooze,
    c.CompleteFollowUp: followups.complete,
    c.ListFollowUps: lambda ctx, command: followups.list_follow_ups(ctx),
    c.ShowDigest: lambda ctx, command: digest.show(ctx),
    c.SearchArticles: knowledge.search,
    c.SendArticle: _on_ticket("kb", knowledge.send),
    c.ShowSimilar: _on_ticket("similar", similar.show),
}


FOR_ANYONE = (
    c.RelayCustomerMessage,
    c.RateTicket,
    c.AnswerCheckIn,
    c.OpenTicket,
    c.SendTranscript,
    c.SolvedBySuggestion,
    c.StillNeedHelp,
)


class Desk:
    def __init__(
        self,
        uow_factory: UnitOfWorkFactory,
        renderer: Renderer | None = None,
        settings: DeskSettings | None = None,
        clock: Clock | None = None,
        on_outbox: Callable[[Sequence[tuple[OutboundMessage, Ticket]], bool], None] | None = None,
        knowledge: Knowledge | None = None,
        closed_tickets: ClosedTickets | None = None,
    ) -> None:
        self.uow_factory = uow_factory
        self.settings = settings or DeskSettings()
        self.renderer = renderer or Renderer(default_locale=self.settings.locale)
        self.clock = clock or SystemClock()
        self._on_outbox = on_outbox  # wakes the outbox sender after a commit
        self.triage = Triage(self.settings.keywords)
        self._in_order = InOrder()
        self.knowledge = Shelf(knowledge) if knowledge is not None else None
        self.similar = SimilarTickets(closed_tickets) if closed_tickets is not None else None
        self._under_way = 0  # commands being handled now (a rush when past RUSH)

    async def handle(self, command: c.Command, caller: c.Caller) -> Outcome:
        """Run one command in its own transaction, retried when a ticket changed under it;
        refusals come back as an Outcome with ok=False.

        Raises StorageOutage when the database cannot take the command: nothing of it was
        kept, so the adapter must not acknowledge it as handled (Slack redelivers what is not
        acknowledged; Discord's events go to the spool)."""
        # a lone surrogate or NUL, which platforms deliver, would fail every write below
        command, caller = storable(command), storable(caller)
        if isinstance(command, c.ShowSimilar) and self.similar is not None:
            await self.similar.before_search()  # before the transaction: it may read much
        # the lines logged meanwhile name the ticket (where the command names one) and platform
        number = getattr(command, "number", None) or caller.in_ticket
        said = ABOUT.set(LogSubject(number, caller.actor.platform))
        self._under_way += 1
        try:
            async with self._in_order.turn(conversation_of(command)):
                return await self._handle(command, caller)
        finally:
            self._under_way -= 1
            ABOUT.reset(said)

    async def _handle(self, command: c.Command, caller: c.Caller) -> Outcome:
        for attempt in range(_ATTEMPTS):
            try:
                outcome, handed, claim = await self._run_once(command, caller)
            except ConcurrencyConflict:
                log.info("ticket changed under %s, retrying (%d)", type(command).__name__, attempt)
                continue
            except StorageOutage:
                raise
            except Exception as error:  # a bug: keep what arrived, for an operator to replay
                log.exception(
                    "handling %s from %s failed", type(command).__name__, caller.actor.ref
                )
                return await self._kept_after_failure(command, caller, error)
            if not outcome.already_handled:
                self.wake_outbox(handed, claim=claim)
            return outcome
        return Outcome(self.text("busy"), ok=False)

    def wake_outbox(
        self, handed: Sequence[tuple[OutboundMessage, Ticket]] = (), *, claim: bool = True
    ) -> None:
        """After a commit: `handed` are the sender's already; `claim`: others may be due."""
        if self._on_outbox:
            self._on_outbox(handed, claim)

    def context(self, uow: UnitOfWork, caller: c.Caller, now: datetime) -> CommandContext:
        return CommandContext(
            uow,
            self.clock,
            self.renderer,
            self.settings,
            caller,
            now,
            self.triage,
            knowledge=self.knowledge,
            similar=self.similar,
            in_a_rush=lambda: self._under_way > RUSH,
        )

    async def _kept_after_failure(
        self, command: c.Command, caller: c.Caller, error: Exception
    ) -> Outcome:
        """Store the event with its error (for an operator to replay) and say so; when even
        that cannot be stored, raise StorageOutage so that the event is not acknowledged."""
        ref = caller.event_id or uuid.uuid4().hex[:12]
        try:
            async with self.uow_factory() as uow:
                await uow.inbound.record_failure(
                    caller.actor.platform,
                    ref,
                    _payload(command, caller),
                    f"{type(error).__name__}: {error}",
                    self.clock.now(),
                )
                await uow.commit()
        except Exception as second:
            raise StorageOutage(f"could not keep failed event {ref}: {second}") from error
        return Outcome(self.text("internal_error", ref=ref), ok=False)

    def text(self, key: str, locale: str = "", **params: Any) -> str:
        return self.renderer.text(locale or self.settings.locale, key, **params)

    @property
    def teams(self) -> tuple[str, ...]:
        return self.settings.teams

    async def channels_heard_since(self, platform: str, days: int) -> dict[str, str]:
        since = self.clock.now() - timedelta(days=days)
        async with self.uow_factory() as uow:
            return await uow.cursors.channels(platform, since)

    def categories(self, locale: str = "") -> list[CategoryChoice]:
        locale = self.renderer.pick_locale(locale or self.settings.locale)
        return [
            CategoryChoice(
                category.name, category.label(locale), category.emoji, category.asked(locale)
            )
            for category in self.settings.categories.values()
        ]

    async def snippet_names(self) -> list[str]:
        async with self.uow_factory() as uow:
            chat = {s.name for s in await uow.snippets.all()}
        return sorted(chat | set(self.settings.snippets))

    async def ticket_in_thread(self, platform: str, thread: str) -> int | None:
        """The number of the ticket whose staff thread this is, for adapters."""
        async with self.uow_factory() as uow:
            ticket = await uow.tickets.by_staff_thread(platform, thread)
        return ticket.number if ticket else None

    async def handle_text(self, text: str, caller: c.Caller) -> Outcome:
        """Parse `/ticket ...` text and run it; usage errors come back as an Outcome."""
        if not caller.is_staff:
            return Outcome(self.text("not_staff"), ok=False)
        try:
            command = parse(text)
        except Refusal as refusal:
            return Outcome(self.text(refusal.key, refusal.locale or "", **refusal.params), ok=False)
        return await self.handle(command, caller)

    async def _run_once(
        self, command: c.Command, caller: c.Caller
    ) -> tuple[Outcome, Sequence[tuple[OutboundMessage, Ticket]], bool]:
        async with self.uow_factory() as uow:
            outcome, keep = await self._apply(uow, command, caller)
            if keep:
                await uow.commit()
                return outcome, uow.handed_off, uow.claim_due
            await uow.rollback()
            return outcome, (), False

    async def _apply(
        self, uow: UnitOfWork, command: c.Command, caller: c.Caller
    ) -> tuple[Outcome, bool]:
        """One command's work in the open transaction, and whether its writes are kept."""
        if (conversation := conversation_of(command)) is not None:
            await uow.hold_conversation(conversation)  # across processes, as InOrder within
        ctx = self.context(uow, caller, self.clock.now())
        if caller.event_id and not await uow.inbound.record(
            caller.actor.platform, caller.event_id, _payload(command, caller), ctx.now
        ):
            return Outcome("", already_handled=True), True
        if caller.seen is not None:
            await uow.cursors.advance(caller.actor.platform, *caller.seen, ctx.now)
        try:
            if not ctx.caller.is_staff and not isinstance(command, FOR_ANYONE):
                raise ctx.refuse("not_staff")
            outcome = await HANDLERS[type(command)](ctx, command)
        except Refusal as refusal:
            if refusal.keep:  # what was said (and the event id) stays, with the card's news
                await ctx.flush_card()
            return Outcome(ctx.refusal_text(refusal), ok=False), refusal.keep
        await ctx.flush_card()
        return outcome, True


def _payload(command: c.Command, caller: c.Caller) -> dict[str, Any]:
    """The inbound event as stored: enough to see and replay what arrived."""
    return {
        "command": type(command).__name__,
        "fields": _jsonable(command),
        "actor": _jsonable(caller.actor),
        "in_ticket": caller.in_ticket,
    }


def _jsonable(value: Any) -> Any:
    # shallower than dataclasses.asdict, which deep-copies every value first; this runs for
    # every inbound event, so plain values are tested first and field names are cached
    if value is None or isinstance(value, str | int | float):
        return value
    kind = type(value)
    names = _FIELD_NAMES.get(kind)
    if names is None and dataclasses.is_dataclass(value) and not isinstance(value, type):
        names = _FIELD_NAMES[kind] = tuple(f.name for f in dataclasses.fields(value))
    if names is not None:
        return {name: _jsonable(getattr(value, name)) for name in names}
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, timedelta):
        return value.total_seconds()
    return value


_FIELD_NAMES: dict[type, tuple[str, ...]] = {}
