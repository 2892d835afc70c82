"""What the fake database holds, its one-transaction-at-a-time turns, and what every fake
repository shares: rows kept as storage/ keeps them."""

from __future__ import annotations

import copy
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, TypedDict

from sqlalchemy.exc import IntegrityError

from bot.model import (
    Block,
    Customer,
    Duty,
    OutboundMessage,
    Person,
    Reminder,
    Snippet,
    Ticket,
    TicketEvent,
    TicketMessage,
)
from storage.jsontext import dumps, loads
from storage.rows import person_from
from storage.sqlite import WriterTurns

if TYPE_CHECKING:
    from tests.unit.fakes import FakeUnitOfWork

# storage.reminders keeps this much of a reminder's last error
LAST_ERROR_CHARS = 2000
# storage.repositories keeps this much of a customer's display name
DISPLAY_NAME_CHARS = 200


class OutboxRow(TypedDict):
    message: OutboundMessage  # attempts, in_doubt, warned and created_at kept up to date
    status: str  # pending | sent | failed
    next: datetime
    error: str
    platform_id: str
    lease: tuple[str, datetime] | None  # owner, until


class Store:
    """What a database would hold; a FakeUnitOfWork works on a copy and writes it back on
    commit."""

    def __init__(self) -> None:
        self.counter = 0
        self.tickets: dict[int, Ticket] = {}
        self.customers: dict[int, Customer] = {}
        self.identities: dict[tuple[str, str], int] = {}
        self.blocks: dict[int, Block] = {}
        self.lifted: dict[int, datetime] = {}  # block id -> when it was lifted
        self.transcripts: list[tuple[int, datetime, dict[str, Any]]] = []  # ticket id, made at
        self.snippets: dict[tuple[str, str], Snippet] = {}  # (name, locale)
        self.duty: dict[str, Duty] = {}  # agent ref
        self.events: list[TicketEvent] = []
        self.messages: list[TicketMessage] = []
        self.outbox: dict[int, OutboxRow] = {}
        self.inbound: dict[tuple[str, str], dict[str, Any]] = {}
        self.reminders: list[Reminder] = []
        self.cursors: dict[tuple[str, str], str] = {}
        self.cursor_times: dict[tuple[str, str], datetime] = {}  # when each last moved
        self.next_id = 1
        # not data: the database is unreachable (every unit of work fails), and whose
        # transaction runs now
        self.outage = False
        self.turns = WriterTurns()  # as SQLite: one transaction at a time, in order

    def new_id(self) -> int:
        self.next_id += 1
        return self.next_id

    def data_copy(self) -> Store:
        """A copy of what the database holds (not its outage, not its turns)."""
        copied = Store()
        for name in _DATA:
            setattr(copied, name, copy.deepcopy(getattr(self, name)))
        return copied

    def take_data(self, other: Store) -> None:
        for name in _DATA:
            setattr(self, name, getattr(other, name))


_DATA = (
    "counter",
    "tickets",
    "customers",
    "identities",
    "blocks",
    "lifted",
    "transcripts",
    "snippets",
    "duty",
    "events",
    "messages",
    "outbox",
    "inbound",
    "reminders",
    "cursors",
    "cursor_times",
    "next_id",
)


def utc(at: datetime) -> datetime:
    """As storage.tables.UTCDateTime: aware times only, read back in UTC."""
    if at.tzinfo is None:
        raise ValueError("naive datetime given to storage; use an aware UTC time")
    return at.astimezone(UTC)


def utc_or_none(at: datetime | None) -> datetime | None:
    return None if at is None else utc(at)


def as_json(value: Any) -> Any:
    """A JSON column's value as it reads back (tuples become lists, unstorable text is
    replaced, what JSON cannot hold becomes its str)."""
    return loads(dumps(value))


def stored_person(person: Person) -> Person:
    """A person as stored: its ref and name (storage.rows.person_from)."""
    stored = person_from(person.ref, person.name)
    assert stored is not None
    return stored


def violation(what: str) -> IntegrityError:
    return IntegrityError(f"-- fake storage: {what}", None, Exception(what))


class Repository:
    """A repository of one unit of work: its statements begin the transaction."""

    def __init__(self, uow: FakeUnitOfWork) -> None:
        self._uow = uow

    async def _s(self) -> Store:
        """The unit of work's data, its transaction begun if need be."""
        return await self._uow.begin()
