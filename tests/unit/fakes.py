"""Hand-written in-memory fakes of the storage and platform ports, for core tests."""

from __future__ import annotations

import copy
from collections.abc import Iterable, Sequence
from datetime import datetime
from types import TracebackType
from typing import Any, Self

from bot.delivery.pacing import Route
from bot.model import (
    Audience,
    Customer,
    OutboundMessage,
    Reminder,
    ReminderKind,
    ReminderStatus,
    Source,
    Ticket,
    TicketEvent,
    TicketMessage,
)
from bot.ports import ConcurrencyConflict, DeliveryError, DeliveryReceipt, StorageOutage
from storage.cursors import later_message


class Store:
    """What a database would hold; a FakeUnitOfWork copies it and writes back on commit."""

    def __init__(self) -> None:
        self.counter = 0
        self.tickets: dict[int, Ticket] = {}
        self.customers: dict[int, Customer] = {}
        self.identities: dict[tuple[str, str], int] = {}
        self.events: list[TicketEvent] = []
        self.messages: list[TicketMessage] = []
        self.outbox: dict[int, dict[str, Any]] = {}
        self.inbound: dict[tuple[str, str], dict[str, Any]] = {}
        self.reminders: list[Reminder] = []
        self.cursors: dict[tuple[str, str], str] = {}
        self.next_id = 1
        self.outage = False  # the database is unreachable: every unit of work fails

    def new_id(self) -> int:
        self.next_id += 1
        return self.next_id


class FakeTickets:
    def __init__(self, store: Store) -> None:
        self.s = store

    async def next_number(self) -> int:
        self.s.counter += 1
        return self.s.counter

    async def add(self, ticket: Ticket) -> None:
        ticket.id, ticket.version = self.s.new_id(), 1
        self.s.tickets[ticket.id] = copy.deepcopy(ticket)

    async def save(self, ticket: Ticket) -> None:
        assert ticket.id is not None
        if self.s.tickets[ticket.id].version != ticket.version:
            raise ConcurrencyConflict(str(ticket.number))
        ticket.version += 1
        stored = self.s.tickets[ticket.id]
        saved = copy.deepcopy(ticket)  # where the card went is the sender's, as in SQL
        saved.staff_channel, saved.staff_thread = stored.staff_channel, stored.staff_thread
        saved.card_message_id = stored.card_message_id
        self.s.tickets[ticket.id] = saved

    def _find(self, pred: Any) -> Ticket | None:
        found = [t for t in self.s.tickets.values() if pred(t)]
        return copy.deepcopy(found[-1]) if found else None

    async def by_number(self, number: int) -> Ticket | None:
        return self._find(lambda t: t.number == number)

    async def by_id(self, ticket_id: int) -> Ticket | None:
        return self._find(lambda t: t.id == ticket_id)

    async def by_ids(self, ticket_ids: Iterable[int]) -> dict[int, Ticket]:
        found = {i: await self.by_id(i) for i in set(ticket_ids)}
        return {i: t for i, t in found.items() if t is not None}

    async def by_source_thread(self, source: Source) -> Ticket | None:
        return self._find(
            lambda t: (
                (t.source.platform, t.source.channel, t.source.thread)
                == (source.platform, source.channel, source.thread)
            )
        )

    async def by_staff_thread(self, platform: str, thread: str) -> Ticket | None:
        return self._find(lambda t: t.source.platform == platform and t.staff_thread == thread)

    async def open_for_customer(self, customer_id: int, source: Source) -> Ticket | None:
        return self._find(
            lambda t: (
                t.customer_id == customer_id
                and not t.is_closed
                and (t.source.platform, t.source.channel, t.source.thread)
                == (source.platform, source.channel, source.thread)
            )
        )

    async def list(
        self,
        status_in: Sequence[str],
        assignee_ref: str | None = None,
        unassigned: bool = False,
        limit: int = 50,
    ) -> list[Ticket]:
        found = [
            t
            for t in self.s.tickets.values()
            if t.status.value in status_in
            and (assignee_ref is None or (t.assignee and t.assignee.ref == assignee_ref))
            and (not unassigned or t.assignee is None)
        ]
        return copy.deepcopy(sorted(found, key=lambda t: t.number)[:limit])

    async def count_for_customer(self, customer_id: int, before_id: int) -> int:
        return sum(
            1
            for t in self.s.tickets.values()
            if t.customer_id == customer_id and t.id is not None and t.id < before_id
        )

    async def set_staff_refs(
        self, ticket_id: int, channel: str, thread: str, card_message_id: str
    ) -> None:
        t = self.s.tickets[ticket_id]
        t.staff_channel, t.staff_thread, t.card_message_id = channel, thread, card_message_id


class FakeCustomers:
    def __init__(self, store: Store) -> None:
        self.s = store

    async def find(self, platform: str, user_id: str) -> Customer | None:
        cid = self.s.identities.get((platform, user_id))
        return copy.deepcopy(self.s.customers[cid]) if cid else None

    async def add(self, customer: Customer, platform: str, user_id: str) -> None:
        customer.id = self.s.new_id()
        self.s.customers[customer.id] = copy.deepcopy(customer)
        self.s.identities[(platform, user_id)] = customer.id

    async def update(self, customer: Customer) -> None:
        assert customer.id is not None
        self.s.customers[customer.id] = copy.deepcopy(customer)


class FakeEvents:
    def __init__(self, store: Store) -> None:
        self.s = store

    async def add(self, event: TicketEvent) -> None:
        event.id = self.s.new_id()
        self.s.events.append(event)

    async def for_ticket(self, ticket_id: int) -> list[TicketEvent]:
        return [e for e in self.s.events if e.ticket_id == ticket_id]


class FakeMessages:
    def __init__(self, store: Store) -> None:
        self.s = store

    async def add(self, message: TicketMessage) -> None:
        message.id = self.s.new_id()
        self.s.messages.append(message)

    async def for_ticket(self, ticket_id: int) -> list[TicketMessage]:
        return [m for m in self.s.messages if m.ticket_id == ticket_id]


class FakeOutbox:
    def __init__(self, store: Store) -> None:
        self.s = store

    async def add(self, message: OutboundMessage, at: datetime) -> None:
        message.id = self.s.new_id()
        message.created_at = at
        self.s.outbox[message.id] = {
            "message": copy.deepcopy(message),
            "status": "pending",
            "next": at,
            "error": "",
            "platform_id": "",
        }

    async def claim(
        self, now: datetime, limit: int, owner: str, until: datetime, *, customers_only: bool
    ) -> list[OutboundMessage]:
        seen: set[str] = set()
        heads = []
        for row in sorted(self.s.outbox.values(), key=lambda r: r["message"].id):
            if row["status"] != "pending":
                continue
            message = row["message"]
            lease = row.get("lease")
            free = lease is None or lease[1] < now
            if message.conversation not in seen and row["next"] <= now and free:
                heads.append(row)
            seen.add(message.conversation)
        if customers_only:
            heads = [r for r in heads if r["message"].audience is Audience.CUSTOMER]
        heads.sort(key=lambda r: (r["message"].audience is not Audience.CUSTOMER, r["message"].id))
        for row in heads[:limit]:
            row["lease"] = (owner, until)
        return [copy.deepcopy(r["message"]) for r in heads[:limit]]

    async def renew(self, message_ids: Sequence[int], owner: str, until: datetime) -> set[int]:
        held = set()
        for message_id in message_ids:
            row = self.s.outbox[message_id]
            if row["status"] == "pending" and (row.get("lease") or ("",))[0] == owner:
                row["lease"] = (owner, until)
                held.add(message_id)
        return held

    async def release(self, message_ids: Sequence[int], owner: str) -> None:
        for message_id in message_ids:
            row = self.s.outbox[message_id]
            if (row.get("lease") or ("",))[0] == owner:
                row["lease"] = None

    async def start_attempts(self, message_ids: Sequence[int], at: datetime) -> None:
        for message_id in message_ids:
            self.s.outbox[message_id]["message"].in_doubt = True

    async def mark_sent(self, message_id: int, platform_message_id: str, at: datetime) -> None:
        row = self.s.outbox[message_id]
        row.update(status="sent", platform_id=platform_message_id, lease=None)
        row["message"].attempts += 1
        row["message"].in_doubt = False

    async def mark_retry(
        self, message_id: int, next_attempt_at: datetime, error: str, *, in_doubt: bool = False
    ) -> None:
        row = self.s.outbox[message_id]
        row.update(next=next_attempt_at, error=error, lease=None)
        row["message"].attempts += 1
        row["message"].in_doubt = in_doubt

    async def mark_warned(self, message_id: int, at: datetime) -> None:
        self.s.outbox[message_id]["message"].warned = True

    async def mark_failed(self, message_id: int, error: str, at: datetime) -> None:
        row = self.s.outbox[message_id]
        row.update(status="failed", error=error, lease=None)
        row["message"].attempts += 1
        row["message"].in_doubt = False

    async def pending_count(self) -> int:
        return sum(1 for r in self.s.outbox.values() if r["status"] == "pending")


class FakeCursors:
    def __init__(self, store: Store) -> None:
        self.s = store

    async def get(self, platform: str, channel: str) -> str | None:
        return self.s.cursors.get((platform, channel))

    async def advance(self, platform: str, channel: str, message_id: str, at: datetime) -> None:
        known = self.s.cursors.get((platform, channel))
        if known is None or later_message(message_id, known):
            self.s.cursors[(platform, channel)] = message_id

    async def channels(self, platform: str, since: datetime) -> dict[str, str]:
        return {ch: mid for (p, ch), mid in self.s.cursors.items() if p == platform}


class FakeInbound:
    def __init__(self, store: Store) -> None:
        self.s = store

    async def record(
        self, platform: str, event_id: str, payload: dict[str, Any], at: datetime
    ) -> bool:
        if (platform, event_id) in self.s.inbound:
            return False
        self.s.inbound[(platform, event_id)] = payload
        return True

    async def record_failure(
        self, platform: str, event_id: str, payload: dict[str, Any], error: str, at: datetime
    ) -> None:
        self.s.inbound.setdefault((platform, f"failed:{event_id}"), payload | {"error": error})


class FakeReminders:
    def __init__(self, store: Store) -> None:
        self.s = store

    async def add(self, reminder: Reminder) -> None:
        reminder.id = self.s.new_id()
        self.s.reminders.append(copy.copy(reminder))

    async def add_many(self, reminders: list[Reminder]) -> None:
        for reminder in reminders:
            await self.add(reminder)

    async def add_once(self, reminder: Reminder) -> bool:
        if any(r.key == reminder.key for r in self.s.reminders):
            return False
        await self.add(reminder)
        return True

    def _find(self, pred: Any) -> Reminder | None:
        found = next((r for r in self.s.reminders if pred(r)), None)
        return copy.copy(found) if found else None

    async def by_id(self, reminder_id: int) -> Reminder | None:
        return self._find(lambda r: r.id == reminder_id)

    async def by_key(self, key: str) -> Reminder | None:
        return self._find(lambda r: r.key == key)

    async def open_for_ticket(self, ticket_id: int) -> list[Reminder]:
        found = [r for r in self.s.reminders if r.ticket_id == ticket_id and r.is_open]
        return [copy.copy(r) for r in sorted(found, key=lambda r: (r.due_at, r.id))]

    async def claim_due(self, now: datetime, limit: int) -> list[Reminder]:
        due = [r for r in self.s.reminders if r.status == "pending" and r.due_at <= now]
        return [copy.copy(r) for r in sorted(due, key=lambda r: (r.due_at, r.id))[:limit]]

    async def save(self, reminder: Reminder) -> None:
        for index, stored in enumerate(self.s.reminders):
            if stored.id == reminder.id:
                self.s.reminders[index] = copy.copy(reminder)

    async def cancel(self, ticket_id: int, kinds: Any, *, fired_too: bool = False) -> int:
        statuses = ("pending", "fired") if fired_too else ("pending",)
        kinds = set(kinds)
        count = 0
        for r in self.s.reminders:
            if r.ticket_id == ticket_id and r.kind in kinds and r.status in statuses:
                r.status = ReminderStatus.CANCELLED
                count += 1
        return count

    async def follow_ups(self, owner_ref: str, due_before: datetime, limit: int) -> list[Reminder]:
        tickets = self.s.tickets
        found = [
            r
            for r in self.s.reminders
            if r.kind == ReminderKind.FOLLOW_UP
            and r.is_open
            and (
                r.created_by.ref == owner_ref
                or getattr(tickets[r.ticket_id].assignee, "ref", None) == owner_ref
                or r.due_at < due_before
            )
        ]
        return [copy.copy(r) for r in sorted(found, key=lambda r: (r.due_at, r.id))[:limit]]


class FakeUnitOfWork:
    """Works on a copy of the store; commit swaps it in, so rollback really discards."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.committed = False
        self.handed_off: list[tuple[OutboundMessage, Ticket]] = []  # no hand-off here

    async def __aenter__(self) -> Self:
        if self.store.outage:
            raise StorageOutage("OperationalError: the database is unreachable")
        self._work = copy.deepcopy(self.store)
        self.tickets = FakeTickets(self._work)
        self.customers = FakeCustomers(self._work)
        self.events = FakeEvents(self._work)
        self.messages = FakeMessages(self._work)
        self.outbox = FakeOutbox(self._work)
        self.inbound = FakeInbound(self._work)
        self.cursors = FakeCursors(self._work)
        self.reminders = FakeReminders(self._work)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        return None

    async def commit(self) -> None:
        if self.store.outage:
            raise StorageOutage("OperationalError: the database went away")
        self.store.__dict__.update(copy.deepcopy(self._work.__dict__))
        self.committed = True

    async def rollback(self) -> None:
        self._work.__dict__.update(copy.deepcopy(self.store.__dict__))

    async def hold_conversation(self, key: str) -> None:
        return None  # one process: InOrder serializes it already


class FakeUnitOfWorkFactory:
    def __init__(self) -> None:
        self.store = Store()

    def __call__(self) -> FakeUnitOfWork:
        return FakeUnitOfWork(self.store)


class FakeDeliverer:
    """Records deliveries; `failures[kind]` lists errors to raise for that kind, in order."""

    def __init__(self, platform: str = "test") -> None:
        self.platform = platform
        self.has_leads_channel = True
        self.delivered: list[OutboundMessage] = []
        self.failures: dict[str, list[DeliveryError]] = {}

    def route(self, message: OutboundMessage, ticket: Ticket | None) -> Route | None:
        return None

    async def deliver(self, message: OutboundMessage, ticket: Ticket | None) -> DeliveryReceipt:
        if self.failures.get(message.kind):
            raise self.failures[message.kind].pop(0)
        self.delivered.append(message)
        return DeliveryReceipt(f"pm{len(self.delivered)}", "staff-chan", f"th{message.ticket_id}")

    def bodies(self, audience: str | None = None) -> list[str]:
        return [m.body for m in self.delivered if audience in (None, m.audience.value)]
