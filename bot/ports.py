"""What the core needs from storage and from chat platforms, and what a platform adapter
may ask of the desk (`DeskPort`), as protocols."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from types import TracebackType
from typing import Any, Protocol, Self

from bot.commands import Caller, Command
from bot.delivery.pacing import Route
from bot.model import (
    Block,
    Customer,
    Duty,
    OutboundMessage,
    Person,
    Reminder,
    ReminderKind,
    Snippet,
    Source,
    Ticket,
    TicketEvent,
    TicketMessage,
)
from bot.reports import DigestView


class ConcurrencyConflict(Exception):
    """Someone else changed the ticket between our read and our write; run the command again."""


class StorageOutage(Exception):
    """The database cannot be used right now (unreachable, locked, read-only): nothing of the
    unit of work was kept. Time may cure it; whoever received the work must keep it or leave
    it unacknowledged so that it arrives again."""


class TicketRepository(Protocol):
    async def next_number(self) -> int: ...
    # a new ticket whose number is 0 is given the next number as it is stored
    async def add(self, ticket: Ticket) -> None: ...
    async def save(self, ticket: Ticket) -> None:
        """Write changes only if nobody else did since we read it; else ConcurrencyConflict."""
        ...

    async def by_number(self, number: int) -> Ticket | None: ...
    async def by_id(self, ticket_id: int) -> Ticket | None: ...
    async def by_ids(self, ticket_ids: Iterable[int]) -> dict[int, Ticket]: ...
    async def by_source_thread(self, source: Source) -> Ticket | None:
        """The ticket bound to a help-channel thread, in any status."""
        ...

    async def by_staff_thread(self, platform: str, thread: str) -> Ticket | None:
        """The ticket whose staff thread this is (where agents write)."""
        ...

    async def open_for_customer(self, customer_id: int, source: Source) -> Ticket | None:
        """The customer's ticket that is not closed, in this conversation."""
        ...

    async def latest_for_customer(self, customer_id: int, source: Source) -> Ticket | None:
        """The customer's newest ticket in this conversation, in any status."""
        ...

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
    ) -> list[Ticket]: ...
    async def count_for_customer(self, customer_id: int, before_id: int | None = None) -> int:
        """The customer's tickets older than `before_id` (None: all of them so far)."""
        ...

    async def open_counts(self, assignee_refs: Sequence[str]) -> dict[str, int]:
        """How many tickets that are not closed each of these agents holds (0s left out)."""
        ...

    async def set_staff_refs(
        self, ticket_id: int, channel: str, thread: str, card_message_id: str
    ) -> None: ...


class CustomerRepository(Protocol):
    async def find(self, platform: str, user_id: str) -> Customer | None: ...
    async def add(self, customer: Customer, platform: str, user_id: str) -> None: ...
    # the customer behind this identity, or `customer` added for it (True: added)
    async def find_or_add(
        self, platform: str, user_id: str, customer: Customer
    ) -> tuple[Customer, bool]: ...
    async def update(self, customer: Customer) -> None: ...


class BlockRepository(Protocol):
    async def add(self, block: Block) -> None: ...
    async def active(self, customer_id: int, now: datetime) -> Block | None:
        """The customer's block in force at `now`, if any (the newest, when several are)."""
        ...

    async def lift(self, customer_id: int, by: Person, at: datetime) -> int:
        """End every block of the customer in force at `at`; how many there were."""
        ...

    async def mark_noticed(self, block_id: int, at: datetime) -> bool:
        """The customer is being told of the block: False when they were told already."""
        ...

    async def in_force(self, now: datetime) -> list[Block]:
        """Every block in force at `now`, newest first, with the customer's name."""
        ...


class DutyRepository(Protocol):
    async def put(self, duty: Duty) -> None:
        """Keep the agent's duty (on or off, and for which teams); replaces the last."""
        ...

    async def get(self, agent_ref: str) -> Duty | None: ...
    async def all(self) -> list[Duty]:
        """Every agent who ever went on duty, by name."""
        ...

    async def assigned(self, agent_ref: str, at: datetime) -> None:
        """Round-robin gave the agent a ticket at `at`."""
        ...


class SnippetRepository(Protocol):
    async def all(self) -> list[Snippet]:
        """The saved replies added from chat, by name and language."""
        ...

    async def put(self, snippet: Snippet, at: datetime) -> None:
        """Keep the saved reply; one of the same name and language is replaced."""
        ...

    async def remove(self, name: str) -> int:
        """Remove the saved reply in every language; how many there were."""
        ...


class TranscriptRepository(Protocol):
    async def add(self, ticket_id: int, made_at: datetime, document: dict[str, Any]) -> None: ...
    async def latest(self, ticket_id: int) -> tuple[datetime, dict[str, Any]] | None:
        """The ticket's newest stored transcript (made at its last close), if any."""
        ...


class EventRepository(Protocol):
    async def add(self, event: TicketEvent) -> None: ...
    async def for_ticket(self, ticket_id: int) -> list[TicketEvent]:
        """The ticket's audit trail, oldest first (as written)."""
        ...


class MessageRepository(Protocol):
    async def add(self, message: TicketMessage) -> None: ...
    async def for_ticket(self, ticket_id: int) -> list[TicketMessage]: ...


class OutboxRepository(Protocol):
    async def add(self, message: OutboundMessage, at: datetime) -> None: ...
    async def claim(
        self, now: datetime, limit: int, owner: str, until: datetime, *, customers_only: bool
    ) -> list[OutboundMessage]:
        """Lease to `owner` until `until` the oldest pending message of up to `limit`
        conversations, each due now and not leased by another live worker; customers'
        first. Locked rows are skipped, so two workers never claim the same message."""
        ...

    async def renew(self, message_ids: Sequence[int], owner: str, until: datetime) -> set[int]:
        """Extend `owner`'s leases of these messages; returns the ids it still holds."""
        ...

    async def release(self, message_ids: Sequence[int], owner: str) -> None:
        """Give leased messages back untried, for any worker to take at once."""
        ...

    async def start_attempts(self, message_ids: Sequence[int], at: datetime) -> None:
        """Sends are about to start: until each is marked, its message is in doubt."""
        ...

    async def mark_sent(self, message_id: int, platform_message_id: str, at: datetime) -> None: ...
    async def mark_retry(
        self, message_id: int, next_attempt_at: datetime, error: str, *, in_doubt: bool = False
    ) -> None:
        """Try again later; `in_doubt` when the platform may have taken it all the same."""
        ...

    async def mark_warned(self, message_id: int, at: datetime) -> None: ...
    async def mark_failed(self, message_id: int, error: str, at: datetime) -> None: ...
    async def pending_count(self) -> int: ...


class InboundRepository(Protocol):
    async def record(
        self, platform: str, event_id: str, payload: dict[str, Any], at: datetime
    ) -> bool:
        """Store an inbound event; False when (platform, event id) was seen before."""
        ...

    async def record_failure(
        self, platform: str, event_id: str, payload: dict[str, Any], error: str, at: datetime
    ) -> None:
        """Keep an event whose handling failed, with the error, so an operator can replay it."""
        ...


class CursorRepository(Protocol):
    """The last message seen in each platform channel, for catching up after downtime."""

    async def get(self, platform: str, channel: str) -> str | None: ...
    async def advance(self, platform: str, channel: str, message_id: str, at: datetime) -> None:
        """Remember `message_id` unless a later one is remembered already."""
        ...

    async def channels(self, platform: str, since: datetime) -> dict[str, str]:
        """Channel -> last message id, for channels heard from since `since`."""
        ...


class ReminderRepository(Protocol):
    async def add(self, reminder: Reminder) -> None: ...
    async def add_many(self, reminders: list[Reminder]) -> None: ...
    async def add_once(self, reminder: Reminder) -> bool:
        """Add a keyed reminder unless its key exists; True when added."""
        ...

    async def by_id(self, reminder_id: int) -> Reminder | None: ...
    async def by_key(self, key: str) -> Reminder | None: ...
    async def open_for_ticket(self, ticket_id: int) -> list[Reminder]:
        """Pending and fired reminders of one ticket, soonest first."""
        ...

    async def claim_due(self, now: datetime, limit: int) -> list[Reminder]:
        """Pending reminders due by `now`, locked for this transaction: no other worker gets
        them until it ends."""
        ...

    async def save(self, reminder: Reminder) -> None: ...
    async def cancel(
        self, ticket_id: int, kinds: Iterable[ReminderKind], *, fired_too: bool = False
    ) -> int: ...
    async def follow_ups(self, owner_ref: str, due_before: datetime, limit: int) -> list[Reminder]:
        """Open follow-ups created by or assigned to `owner_ref`, or due before `due_before`."""
        ...


class ReportRepository(Protocol):
    async def digest_view(
        self, since: datetime, until: datetime, today_end: datetime
    ) -> DigestView:
        """What the leads' digest reads for the window [since, until); bot.reports counts."""
        ...


class UnitOfWork(Protocol):
    """One transaction: everything a command changes, outbox rows included, commits together."""

    tickets: TicketRepository
    customers: CustomerRepository
    blocks: BlockRepository
    transcripts: TranscriptRepository
    snippets: SnippetRepository
    duty: DutyRepository
    events: EventRepository
    messages: MessageRepository
    outbox: OutboxRepository
    inbound: InboundRepository
    cursors: CursorRepository
    reminders: ReminderRepository
    reports: ReportRepository
    # after commit: messages written already leased to this process's sender (a new
    # ticket's first ones), to deliver without claiming them; and whether it wrote any
    # other that a claim may take now (one not queued behind those)
    handed_off: list[tuple[OutboundMessage, Ticket]]
    claim_due: bool

    async def __aenter__(self) -> Self: ...
    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...
    async def commit(self) -> None: ...
    async def rollback(self) -> None: ...
    async def hold_conversation(self, key: str) -> None:
        """Until this transaction ends, no other process works on conversation `key` (two
        processes sharing a database would otherwise open two tickets for one customer)."""
        ...


class UnitOfWorkFactory(Protocol):
    def __call__(self) -> UnitOfWork: ...


@dataclass(frozen=True)
class DeliveryReceipt:
    """What the platform said about a delivered message."""

    message_id: str
    channel: str = ""
    thread: str = ""  # for a ticket card: the thread where the conversation continues


class DeliveryError(Exception):
    """Delivery failed. Transient failures are retried (after `retry_after` seconds if the
    platform said so) for as long as it takes; permanent ones (the platform's own answer
    that no retry can change) are marked failed and reported to staff. `in_doubt` when the
    platform may have taken the message although no answer came (a timeout, a cut
    connection): the next attempt looks for it before it sends."""

    def __init__(
        self,
        reason: str,
        *,
        permanent: bool = False,
        retry_after: float | None = None,
        in_doubt: bool = False,
    ) -> None:
        super().__init__(reason)
        self.reason = reason
        self.permanent = permanent
        self.retry_after = retry_after
        self.in_doubt = in_doubt


class Deliverer(Protocol):
    """The outbound half of an adapter."""

    platform: str
    has_leads_channel: bool  # digests and breach alerts can go there

    def route(self, message: OutboundMessage, ticket: Ticket | None) -> Route | None:
        """The rate-limited route the message's call goes to (None: not paced)."""
        ...

    async def deliver(self, message: OutboundMessage, ticket: Ticket | None) -> DeliveryReceipt: ...


# mention tokens: the adapter turns them into its staff or leads group (role, user group)
STAFF_GROUP = "@staff"
LEADS_GROUP = "@leads"


@dataclass
class Outcome:
    """How a command ended, for the person who gave it: the text they see (ephemerally,
    where the platform can), whether it was done, and what it was about."""

    text: str
    ok: bool = True
    ticket_number: int | None = None
    already_handled: bool = False  # the inbound event was processed before; nothing changed
    listed: list[int] = field(default_factory=list)  # ticket numbers a listing showed


@dataclass(frozen=True)
class CategoryChoice:
    """An intake category as a form offers it, in one language."""

    name: str
    label: str
    emoji: str
    questions: list[str]


class DeskPort(Protocol):
    """What a platform adapter asks of the desk: commands to run, texts to show, and the
    few settings a platform's forms need; never its storage or its internals."""

    async def handle(self, command: Command, caller: Caller) -> Outcome: ...

    async def handle_text(self, text: str, caller: Caller) -> Outcome: ...

    async def ticket_in_thread(self, platform: str, thread: str) -> int | None: ...

    async def channels_heard_since(self, platform: str, days: int) -> dict[str, str]:
        """Channel id -> the last message read there, for channels heard from lately."""
        ...

    def text(self, key: str, locale: str = "", **params: Any) -> str:
        """A message in `locale` (the staff's language when empty)."""
        ...

    def categories(self, locale: str = "") -> list[CategoryChoice]:
        """The configured intake categories, in `locale` (the staff's when empty)."""
        ...

    async def snippet_names(self) -> list[str]:
        """The names of every saved reply, sorted, for pickers and autocomplete."""
        ...

    @property
    def teams(self) -> tuple[str, ...]: ...
