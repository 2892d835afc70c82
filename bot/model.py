"""The support domain: tickets, customers, agents and the rules for moving a ticket along."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from bot.events import PAYLOADS, BareKind, Payload, payload_of
from bot.kinds import EventKind, MessageKind


class Status(enum.StrEnum):
    OPEN = "open"
    CLAIMED = "claimed"
    ESCALATED = "escalated"
    WAITING = "waiting"  # waiting on the customer
    CLOSED = "closed"
    REOPENED = "reopened"


class Priority(enum.StrEnum):
    URGENT = "urgent"
    HIGH = "high"
    NORMAL = "normal"
    LOW = "low"

    @property
    def rank(self) -> int:
        return list(Priority).index(self)


class Refusal(Exception):
    """A command that is not carried out. `key` names the text that says why and what to do
    instead (filled in with `params`), in `locale` (None: the desk's staff language).

    `keep`: what the command wrote before it was refused stays (its event id, so that a
    redelivery is known; a note that an agent's reply was not sent); otherwise it is all
    rolled back, as when a ticket cannot make the move asked of it."""

    def __init__(
        self, key: str, *, locale: str | None = None, keep: bool = False, **params: Any
    ) -> None:
        super().__init__(key)
        self.key = key
        self.locale = locale
        self.keep = keep
        self.params = params


@dataclass(frozen=True)
class Person:
    """Who did something: an agent, a customer, or the bot itself."""

    platform: str
    user_id: str
    name: str

    @property
    def ref(self) -> str:
        return f"{self.platform}:{self.user_id}"


SYSTEM = Person("supportbot", "system", "supportbot")


@dataclass(frozen=True)
class SimilarTicket:
    """An earlier closed ticket like a new one, as its card shows it (from when it opened)."""

    number: int
    subject: str
    resolution: str
    staff_channel: str = ""  # where its thread is, for a link; "" when it never had one
    staff_thread: str = ""


@dataclass(frozen=True)
class Source:
    """Where the customer wrote: the conversation replies to the customer go back to."""

    platform: str
    workspace: str  # Slack team id, Discord guild id, "" where there is none
    channel: str
    thread: str = ""  # the message thread in a help channel; "" for a DM
    is_dm: bool = True


@dataclass
class Customer:
    id: int | None
    display_name: str
    locale: str
    timezone: str = ""  # an IANA name, where the platform tells it; "" means the desk's


@dataclass
class Block:
    """A customer whose messages open no ticket and reach no one, until `until` (None: until
    someone lifts it). They are told once per block, in their language."""

    customer_id: int
    by: Person
    at: datetime
    until: datetime | None = None
    reason: str = ""
    customer_name: str = ""  # for the staff's list; the customer's row holds it
    noticed: bool = False
    id: int | None = None

    def active(self, now: datetime) -> bool:
        return self.until is None or now < self.until


@dataclass
class Attachment:
    name: str
    url: str


@dataclass
class Ticket:
    id: int | None
    number: int
    subject: str
    customer_id: int
    customer_name: str
    locale: str
    source: Source
    created_at: datetime
    priority: Priority = Priority.NORMAL
    status: Status = Status.OPEN
    assignee: Person | None = None
    team: str = ""
    escalation_level: int = 0
    first_response_at: datetime | None = None
    closed_at: datetime | None = None
    resolution: str = ""
    updated_at: datetime | None = None
    # where the staff side lives, filled in once the card is delivered
    staff_channel: str = ""
    staff_thread: str = ""
    card_message_id: str = ""
    version: int = 0
    earlier_tickets: int = 0
    sla_breached_at: datetime | None = None  # the first-response target passed unanswered
    tags: tuple[str, ...] = ()  # normalised (bot.tags), in the order they were added
    category: str = "general"  # what the customer picked (bot.categories)
    answers: tuple[tuple[str, str], ...] = ()  # the category's questions, as asked, answered
    similar: tuple[SimilarTicket, ...] = ()  # earlier closed tickets like it, best first

    @property
    def is_closed(self) -> bool:
        return self.status is Status.CLOSED

    # --- transitions: each checks the rule, changes state, and returns nothing;
    # the desk records the event and tells people about it.

    def claim(self, agent: Person) -> None:
        self._refuse_if_closed("claim")
        if self.assignee is not None:
            if self.assignee.ref == agent.ref:
                raise Refusal("already_yours", number=self.number)
            raise Refusal("held_by", number=self.number, holder=self.assignee.name)
        self.assignee = agent
        if self.status in (Status.OPEN, Status.ESCALATED, Status.REOPENED):
            self.status = Status.CLAIMED

    def assign(self, agent: Person) -> None:
        self._refuse_if_closed("assign")
        if self.assignee is not None and self.assignee.ref == agent.ref:
            raise Refusal("already_assigned", number=self.number, agent=agent.name)
        self.assignee = agent
        if self.status in (Status.OPEN, Status.ESCALATED, Status.REOPENED):
            self.status = Status.CLAIMED

    def escalate(self, team: str) -> None:
        self._refuse_if_closed("escalate")
        if self.status is Status.ESCALATED and self.team == team and self.assignee is None:
            raise Refusal("already_escalated", number=self.number, team=team)
        self.team = team
        self.escalation_level += 1
        # the receiving team picks it up, so the current holder lets go
        self.assignee = None
        self.status = Status.ESCALATED

    def record_agent_reply(self, agent: Person, at: datetime) -> bool:
        """An agent's message went to the customer; returns True if this claimed the ticket."""
        if self.is_closed:
            raise Refusal("reply_to_closed", number=self.number)
        claimed = False
        if self.assignee is None:
            self.assignee = agent
            claimed = True
        if self.first_response_at is None:
            self.first_response_at = at
        self.status = Status.WAITING
        return claimed

    def record_customer_message(self) -> None:
        if self.status is Status.WAITING:
            self.status = Status.CLAIMED if self.assignee else Status.OPEN

    def close(self, resolution: str, at: datetime) -> None:
        if self.is_closed:
            raise Refusal("already_closed", number=self.number)
        self.status = Status.CLOSED
        self.resolution = resolution
        self.closed_at = at

    def reopen(self) -> None:
        if not self.is_closed:
            raise Refusal("not_closed", number=self.number, status=self.status.value)
        self.status = Status.REOPENED
        self.closed_at = None

    def set_priority(self, priority: Priority) -> None:
        self._refuse_if_closed("priority")
        if priority is self.priority:
            raise Refusal("same_priority", number=self.number, priority=priority.value)
        self.priority = priority

    def _refuse_if_closed(self, action: str) -> None:
        if self.is_closed:
            raise Refusal("closed_action", number=self.number, action=action)


@dataclass
class TicketEvent:
    """One line of the audit trail."""

    ticket_id: int
    kind: EventKind
    actor: Person
    at: datetime
    data: dict[str, Any] = field(default_factory=dict)
    id: int | None = None

    @classmethod
    def of(
        cls, ticket_id: int, what: Payload | BareKind, actor: Person, at: datetime
    ) -> TicketEvent:
        """A new line: a payload that knows its kind, or a kind that carries nothing."""
        if isinstance(what, Payload):
            return cls(ticket_id, what.kind, actor, at, what.data())
        if what in PAYLOADS:
            raise TypeError(f"{what.name} events carry fields: record {PAYLOADS[what].__name__}")
        return cls(ticket_id, what, actor, at)

    @property
    def payload(self) -> Payload | None:
        return payload_of(self.kind, self.data)


class Direction(enum.StrEnum):
    INBOUND = "inbound"  # from the customer
    OUTBOUND = "outbound"  # an agent's reply to the customer
    NOTE = "note"  # internal, never leaves the staff thread


@dataclass
class TicketMessage:
    ticket_id: int
    direction: Direction
    author: Person
    body: str
    at: datetime
    attachments: list[Attachment] = field(default_factory=list)
    id: int | None = None
    anonymous: bool = False  # sent in the team's voice: the customer saw no agent's name


@dataclass
class Duty:
    """An agent's shift: while on, new tickets (those of their teams too) are theirs in turn."""

    agent: Person
    teams: tuple[str, ...] = ()
    on: bool = True
    since: datetime | None = None
    last_assigned_at: datetime | None = None  # round-robin: the longest without one goes first


@dataclass(frozen=True)
class Snippet:
    """A saved reply in one language, from the configuration file or added from chat."""

    name: str
    locale: str
    text: str
    by: str = ""  # who added it from chat; empty for the configuration file's
    in_config: bool = False


class Audience(enum.StrEnum):
    CUSTOMER = "customer"
    STAFF = "staff"  # the ticket's staff thread (or the staff channel for the card)
    LEADS = "leads"


@dataclass
class Action:
    """A button the adapter may render; `id` reads like `ticket:claim:42`."""

    id: str
    label: str
    style: str = ""  # "primary" | "danger" | ""


@dataclass
class OutboundMessage:
    """One message to deliver, written to the outbox with the change that caused it."""

    platform: str
    audience: Audience
    kind: MessageKind
    body: str
    ticket_id: int | None = None
    ticket_number: int | None = None
    author_name: str = ""  # for relays: whose words these are
    channel: str = ""  # filled for the customer; resolved from the ticket for staff
    thread: str = ""
    actions: list[Action] = field(default_factory=list)
    mentions: list[str] = field(default_factory=list)  # platform user ids to notify
    data: dict[str, Any] = field(default_factory=dict)
    id: int | None = None
    attempts: int = 0
    # a send was under way when the last attempt ended without an answer (a crash, a lost
    # connection): the platform may have it already, so the adapter looks before it sends
    in_doubt: bool = False
    warned: bool = False  # staff were told that it is waiting
    created_at: datetime | None = None

    @property
    def conversation(self) -> str:
        """Messages of one conversation are delivered in the order they were written."""
        scope = self.ticket_id if self.ticket_id is not None else "desk"
        return f"{self.platform}:{self.audience.value}:{scope}"


@dataclass(frozen=True)
class FileToSend:
    """A file an outbox message carries (a transcript), its text kept in the message's data."""

    name: str
    mime: str
    text: str


def files_of(message: OutboundMessage) -> list[FileToSend]:
    return [FileToSend(**f) for f in message.data.get("files", [])]


def with_files(files: list[FileToSend]) -> dict[str, Any]:
    """The outbox data that carries `files` (JSON, as the outbox row keeps it)."""
    return {"files": [{"name": f.name, "mime": f.mime, "text": f.text} for f in files]}


class ReminderKind(enum.StrEnum):
    FOLLOW_UP = "followup"  # after-care: an agent checks back with the customer
    SLA_NUDGE = "sla_nudge"  # 75% of the first-response target has passed
    SLA_BREACH = "sla_breach"  # the whole target has passed
    IDLE_NUDGE = "idle_nudge"  # a waiting ticket: remind the customer
    IDLE_CLOSE = "idle_close"  # a waiting ticket: close it
    DIGEST = "digest"  # desk-wide: the leads' daily digest


class ReminderStatus(enum.StrEnum):
    PENDING = "pending"
    FIRED = "fired"  # posted to staff, waiting for an agent to act on it
    DONE = "done"
    CANCELLED = "cancelled"
    FAILED = "failed"


@dataclass
class Reminder:
    """Time-based work kept as data: a follow-up, an SLA check, an idle nudge, the digest."""

    ticket_id: int | None
    kind: ReminderKind
    due_at: datetime
    created_by: Person
    created_at: datetime
    note: str = ""
    status: ReminderStatus = ReminderStatus.PENDING
    id: int | None = None
    key: str | None = None  # unique: desk-wide work exists once however many workers run
    last_error: str = ""

    @property
    def is_open(self) -> bool:
        return self.status in (ReminderStatus.PENDING, ReminderStatus.FIRED)
