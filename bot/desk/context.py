"""What a handler works with: the unit of work, the clock, templates, and helpers that
write the audit trail and the outbox in the same transaction as the change."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from bot.clock import Clock
from bot.commands import Caller
from bot.events import BareKind, Payload
from bot.kinds import MessageKind
from bot.model import (
    Action,
    Audience,
    OutboundMessage,
    Person,
    Refusal,
    Status,
    Ticket,
    TicketEvent,
)
from bot.ports import UnitOfWork
from bot.rendering import Renderer
from bot.reports import DEFLECTED
from bot.settings import DeskSettings
from bot.triage import Triage

if TYPE_CHECKING:  # their modules build on this one
    from bot.desk.similar import SimilarTickets
    from bot.desk.suggestions import Shelf


@dataclass
class CommandContext:
    uow: UnitOfWork
    clock: Clock
    renderer: Renderer
    settings: DeskSettings
    caller: Caller
    now: datetime
    triage: Triage
    card_changed: Ticket | None = None
    knowledge: Shelf | None = None  # help articles, where the desk has a knowledge base
    similar: SimilarTickets | None = None  # closed tickets by their words
    # many commands under way at once (asked when it matters): what can wait, waits
    in_a_rush: Callable[[], bool] = lambda: False

    @property
    def staff_locale(self) -> str:
        return self.settings.locale

    def staff_text(self, key: str, **params: Any) -> str:
        return self.renderer.text(self.staff_locale, key, **params)

    def team_name(self, locale: str) -> str:
        """Who a reply in the team's voice is from, as the customer sees it."""
        return self.settings.team_name or self.renderer.text(locale, "team_voice")

    def refuse(self, key: str, **params: Any) -> Refusal:
        """Refused in the staff's language, keeping what was written (the event id)."""
        return Refusal(key, keep=True, **params)

    def refusal_text(self, refusal: Refusal) -> str:
        return self.renderer.text(
            refusal.locale or self.staff_locale, refusal.key, **refusal.params
        )

    async def record(
        self, ticket: Ticket, what: Payload | BareKind, actor: Person | None = None
    ) -> None:
        """A line of the ticket's audit trail, by the caller unless `actor` says otherwise."""
        assert ticket.id is not None
        await self.uow.events.add(
            TicketEvent.of(ticket.id, what, actor or self.caller.actor, self.now)
        )

    async def send(self, message: OutboundMessage) -> None:
        await self.uow.outbox.add(message, self.now)

    async def to_staff(
        self,
        ticket: Ticket,
        kind: MessageKind,
        body: str,
        *,
        author: str = "",
        mentions: list[str] | None = None,
        actions: list[Action] | None = None,
        **data: Any,
    ) -> None:
        # where the staff thread is becomes known only when the card is delivered
        await self.send(
            _about(
                ticket,
                Audience.STAFF,
                kind,
                body,
                author=author,
                mentions=mentions or [],
                actions=actions or [],
                data=data,
            )
        )

    async def notice(
        self, ticket: Ticket, key: str, *, mentions: list[str] | None = None, **params: Any
    ) -> None:
        """A line in the ticket's staff thread about what just happened."""
        await self.to_staff(
            ticket,
            MessageKind.NOTICE,
            self.staff_text(key, number=ticket.number, **params),
            mentions=mentions,
        )

    async def to_customer(
        self,
        ticket: Ticket,
        kind: MessageKind,
        body: str,
        *,
        author: str = "",
        actions: list[Action] | None = None,
        **data: Any,
    ) -> None:
        await self.send(
            _about(
                ticket,
                Audience.CUSTOMER,
                kind,
                body,
                author=author,
                channel=ticket.source.channel,
                thread=ticket.source.thread,
                actions=actions or [],
                data=data,
            )
        )

    async def to_leads(self, platform: str, kind: MessageKind, body: str, **data: Any) -> None:
        """The leads channel of one platform (digests, breach alerts)."""
        await self.send(OutboundMessage(platform, Audience.LEADS, kind, body, data=data))

    def who_to_ping(self, ticket: Ticket, fallback: str) -> list[str]:
        """The assignee, else a group (STAFF_GROUP or LEADS_GROUP) the adapter resolves."""
        return [ticket.assignee.user_id] if ticket.assignee else [fallback]

    def customer_text(self, ticket: Ticket, template: str, **params: Any) -> str:
        return self.renderer.render(
            ticket.locale,
            template,
            customer_name=ticket.customer_name,
            number=ticket.number,
            subject=ticket.subject,
            **params,
        )

    async def card(self, ticket: Ticket, *, first: bool = False) -> None:
        """Post the ticket card (first time) or update it in place (every change after).

        Updates go out after the command's notices, as the last word of the command, so a
        platform can archive a closed ticket's thread without a notice reopening it."""
        if not first:
            self.card_changed = ticket
            return
        await self._card(ticket, MessageKind.CARD)

    async def flush_card(self) -> None:
        if self.card_changed is not None:
            await self._card(self.card_changed, MessageKind.CARD_UPDATE)
            self.card_changed = None

    async def _card(self, ticket: Ticket, kind: MessageKind) -> None:
        await self.to_staff(
            ticket,
            kind,
            self.card_body(ticket),
            actions=card_actions(ticket, self.staff_text),
            # the label of a button only some platforms add (Slack's saved-reply picker)
            saved_reply_label=self.staff_text("button_saved_reply"),
            **card_fields(ticket),
        )

    def card_body(self, ticket: Ticket) -> str:
        return self.renderer.render(
            self.staff_locale,
            "staff/card.md.j2",
            ticket=ticket,
            status=self.staff_text(f"status_{ticket.status.value}"),
            priority=self.staff_text(f"priority_{ticket.priority.value}"),
            category=self.category_label(ticket.category),
            deflected=DEFLECTED,
        )

    def category_label(self, name: str) -> str:
        """ "💳 Billing" for a configured category; "" for general (or one since removed)."""
        category = self.settings.categories.get(name)
        if category is None:
            return ""
        return f"{category.emoji} {category.label(self.staff_locale)}".strip()


def _about(
    ticket: Ticket, audience: Audience, kind: MessageKind, body: str, *, author: str, **fields: Any
) -> OutboundMessage:
    return OutboundMessage(
        platform=ticket.source.platform,
        audience=audience,
        kind=kind,
        body=body,
        ticket_id=ticket.id,
        ticket_number=ticket.number,
        author_name=author,
        **fields,
    )


def card_actions(ticket: Ticket, label: Callable[[str], str]) -> list[Action]:
    n = ticket.number
    if ticket.status is Status.CLOSED:
        return [Action(f"ticket:reopen:{n}", label("button_reopen"))]
    actions = []
    if ticket.assignee is None:
        actions.append(Action(f"ticket:claim:{n}", label("button_claim"), "primary"))
    actions += [
        Action(f"ticket:escalate:{n}", label("button_escalate")),
        Action(f"ticket:close:{n}", label("button_close"), "danger"),
    ]
    return actions


def card_fields(ticket: Ticket) -> dict[str, Any]:
    """Structured card data for adapters that build Block Kit or embeds."""
    return {
        "number": ticket.number,
        "subject": ticket.subject,
        "customer": ticket.customer_name,
        "source": ticket.source.platform + (" DM" if ticket.source.is_dm else " channel"),
        "priority": ticket.priority.value,
        "status": ticket.status.value,
        "assignee": ticket.assignee.name if ticket.assignee else "",
        "team": ticket.team,
        "escalation_level": ticket.escalation_level,
        "earlier_tickets": ticket.earlier_tickets,
        "tags": list(ticket.tags),
        # where the similar tickets' threads are, for the platforms' links
        "links": {
            str(s.number): [s.staff_channel, s.staff_thread]
            for s in ticket.similar
            if s.staff_thread
        },
    }
