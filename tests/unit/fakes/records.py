"""Tickets, customers, the audit trail and the conversation, as storage/repositories.py."""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime

from bot.kinds import EventKind
from bot.model import (
    Attachment,
    Customer,
    Direction,
    Priority,
    Source,
    Status,
    Ticket,
    TicketEvent,
    TicketMessage,
)
from bot.ports import (
    ConcurrencyConflict,
)
from tests.unit.fakes.store import (
    DISPLAY_NAME_CHARS,
    Repository,
    as_json,
    stored_person,
    utc,
    utc_or_none,
    violation,
)


class FakeTickets(Repository):
    async def next_number(self) -> int:
        s = await self._s()
        s.counter += 1
        return s.counter

    async def add(self, ticket: Ticket) -> None:
        if ticket.number == 0:
            ticket.number = await self.next_number()
        s = await self._s()
        if any(t.number == ticket.number for t in s.tickets.values()):
            raise violation(f"ticket number {ticket.number} exists")
        if ticket.customer_id not in s.customers:
            raise violation(f"no customer {ticket.customer_id}")
        ticket.id, ticket.version = s.new_id(), 1
        s.tickets[ticket.id] = _stored_ticket(ticket)

    async def save(self, ticket: Ticket) -> None:
        s = await self._s()
        stored = s.tickets.get(ticket.id) if ticket.id is not None else None
        if stored is None or stored.version != ticket.version:
            raise ConcurrencyConflict(f"ticket #{ticket.number}")
        if any(t.number == ticket.number and t.id != ticket.id for t in s.tickets.values()):
            raise violation(f"ticket number {ticket.number} exists")
        ticket.version += 1
        saved = _stored_ticket(ticket)  # where the card went is the sender's, as in SQL
        saved.staff_channel, saved.staff_thread = stored.staff_channel, stored.staff_thread
        saved.card_message_id = stored.card_message_id
        s.tickets[stored.id or 0] = saved

    async def _find(self, pred: Callable[[Ticket], bool]) -> Ticket | None:
        """The newest ticket that matches."""
        s = await self._s()
        found = [t for t in s.tickets.values() if pred(t)]
        return copy.deepcopy(max(found, key=lambda t: t.id or 0)) if found else None

    async def by_number(self, number: int) -> Ticket | None:
        return await self._find(lambda t: t.number == number)

    async def by_id(self, ticket_id: int) -> Ticket | None:
        return await self._find(lambda t: t.id == ticket_id)

    async def by_ids(self, ticket_ids: Iterable[int]) -> dict[int, Ticket]:
        s = await self._s()
        return {i: copy.deepcopy(s.tickets[i]) for i in set(ticket_ids) if i in s.tickets}

    async def by_source_thread(self, source: Source) -> Ticket | None:
        return await self._find(lambda t: _same_thread(t.source, source))

    async def by_staff_thread(self, platform: str, thread: str) -> Ticket | None:
        if not thread:
            return None
        return await self._find(
            lambda t: t.source.platform == platform and t.staff_thread == thread
        )

    async def open_for_customer(self, customer_id: int, source: Source) -> Ticket | None:
        return await self._find(
            lambda t: (
                t.customer_id == customer_id and not t.is_closed and _same_thread(t.source, source)
            )
        )

    async def latest_for_customer(self, customer_id: int, source: Source) -> Ticket | None:
        return await self._find(
            lambda t: t.customer_id == customer_id and _same_thread(t.source, source)
        )

    async def list(
        self,
        status_in: Sequence[str],
        assignee_ref: str | None = None,
        unassigned: bool = False,
        limit: int = 50,
        customer_id: int | None = None,
        created_since: datetime | None = None,
        newest_first: bool = False,
        tag: str | None = None,
    ) -> list[Ticket]:
        s = await self._s()
        since = utc_or_none(created_since)

        def wanted(t: Ticket) -> bool:
            if t.status.value not in status_in:
                return False
            if customer_id is not None and t.customer_id != customer_id:
                return False
            if since is not None and t.created_at < since:
                return False
            if tag is not None and tag not in t.tags:
                return False
            if assignee_ref is not None:  # an assignee asked for: `unassigned` is not read
                return t.assignee is not None and t.assignee.ref == assignee_ref
            return not unassigned or t.assignee is None

        found = sorted(
            (t for t in s.tickets.values() if wanted(t)),
            key=lambda t: t.number,
            reverse=newest_first,
        )
        return copy.deepcopy(found[:limit])

    async def count_for_customer(self, customer_id: int, before_id: int | None = None) -> int:
        s = await self._s()
        return sum(
            1
            for t in s.tickets.values()
            if t.customer_id == customer_id
            and t.id is not None
            and (before_id is None or t.id < before_id)
        )

    async def open_counts(self, assignee_refs: Sequence[str]) -> dict[str, int]:
        s = await self._s()
        counts: dict[str, int] = {}
        for t in s.tickets.values():
            if t.assignee and t.assignee.ref in assignee_refs and not t.is_closed:
                counts[t.assignee.ref] = counts.get(t.assignee.ref, 0) + 1
        return counts

    async def set_staff_refs(
        self, ticket_id: int, channel: str, thread: str, card_message_id: str
    ) -> None:
        s = await self._s()
        t = s.tickets.get(ticket_id)
        if t is not None:  # delivery bookkeeping: no version bump
            t.staff_channel, t.staff_thread, t.card_message_id = channel, thread, card_message_id


def _same_thread(a: Source, b: Source) -> bool:
    return (a.platform, a.channel, a.thread) == (b.platform, b.channel, b.thread)


def _stored_ticket(ticket: Ticket) -> Ticket:
    stored = copy.deepcopy(ticket)
    stored.created_at = utc(ticket.created_at)
    stored.updated_at = utc(ticket.updated_at or ticket.created_at)
    stored.first_response_at = utc_or_none(ticket.first_response_at)
    stored.closed_at = utc_or_none(ticket.closed_at)
    stored.sla_breached_at = utc_or_none(ticket.sla_breached_at)
    stored.tags = tuple(ticket.tags)
    kept = as_json([list(qa) for qa in ticket.answers])  # a JSON column's list of pairs
    stored.answers = tuple((str(q), str(a)) for q, a in kept)
    stored.assignee = stored_person(ticket.assignee) if ticket.assignee else None
    stored.source = Source(
        ticket.source.platform,
        ticket.source.workspace,
        ticket.source.channel,
        ticket.source.thread,
        bool(ticket.source.is_dm),
    )
    stored.priority, stored.status = Priority(ticket.priority), Status(ticket.status)
    stored.similar = tuple(ticket.similar)  # frozen: as a JSON column gives them back
    return stored


class FakeCustomers(Repository):
    async def find(self, platform: str, user_id: str) -> Customer | None:
        s = await self._s()
        cid = s.identities.get((platform, user_id))
        return copy.deepcopy(s.customers[cid]) if cid is not None else None

    async def find_or_add(
        self, platform: str, user_id: str, customer: Customer
    ) -> tuple[Customer, bool]:
        if (found := await self.find(platform, user_id)) is not None:
            return found, False
        await self.add(customer, platform, user_id)
        return customer, True

    async def add(self, customer: Customer, platform: str, user_id: str) -> None:
        s = await self._s()
        if (platform, user_id) in s.identities:
            raise violation(f"identity {platform}:{user_id} exists")
        customer.id = s.new_id()
        s.customers[customer.id] = _stored_customer(customer)
        s.identities[(platform, user_id)] = customer.id

    async def update(self, customer: Customer) -> None:
        s = await self._s()
        if customer.id in s.customers:  # an unknown customer: nothing to update
            s.customers[customer.id] = _stored_customer(customer)


def _stored_customer(customer: Customer) -> Customer:
    return Customer(
        customer.id, customer.display_name[:DISPLAY_NAME_CHARS], customer.locale, customer.timezone
    )


class FakeEvents(Repository):
    async def add(self, event: TicketEvent) -> None:
        s = await self._s()
        if event.ticket_id not in s.tickets:
            raise violation(f"no ticket {event.ticket_id}")
        # stored under an id the caller's object is not told (as PostgreSQL writes it later)
        s.events.append(
            TicketEvent(
                event.ticket_id,
                EventKind(str(event.kind)),
                stored_person(event.actor),
                utc(event.at),
                dict(as_json(event.data)),
                s.new_id(),
            )
        )

    async def for_ticket(self, ticket_id: int) -> list[TicketEvent]:
        s = await self._s()
        return copy.deepcopy([e for e in s.events if e.ticket_id == ticket_id])


class FakeMessages(Repository):
    async def add(self, message: TicketMessage) -> None:
        s = await self._s()
        if message.ticket_id not in s.tickets:
            raise violation(f"no ticket {message.ticket_id}")
        attachments = as_json([{"name": a.name, "url": a.url} for a in message.attachments])
        s.messages.append(
            TicketMessage(
                message.ticket_id,
                Direction(message.direction),
                stored_person(message.author),
                message.body,
                utc(message.at),
                [Attachment(**a) for a in attachments],
                s.new_id(),
                message.anonymous,
            )
        )

    async def for_ticket(self, ticket_id: int) -> list[TicketMessage]:
        s = await self._s()
        return copy.deepcopy([m for m in s.messages if m.ticket_id == ticket_id])
