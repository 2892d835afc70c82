"""Hand-written in-memory fakes of the storage and platform ports, for core tests.

The storage fakes are a second implementation of the ports in bot.ports, held to the same
contract as the SQL one (tests/contract runs one suite against both); where they could differ,
they do what storage/ does:
- a unit of work's transaction begins with its first statement and commits or rolls back as a
  whole; one transaction at a time, as on SQLite (another task waits for its turn);
- what is written is what a row keeps: times in UTC (a naive one is refused), JSON documents
  as JSON gives them back, people as their stored ref and name;
- constraints hold: unique keys and references to tickets and customers raise IntegrityError."""

from __future__ import annotations

from types import TracebackType
from typing import Self

from bot.model import OutboundMessage, Ticket
from bot.ports import (
    BlockRepository,
    CursorRepository,
    CustomerRepository,
    DutyRepository,
    EventRepository,
    InboundRepository,
    MessageRepository,
    OutboxRepository,
    ReminderRepository,
    ReportRepository,
    SnippetRepository,
    StorageOutage,
    TicketRepository,
    TranscriptRepository,
)
from tests.unit.fakes.blocks import FakeBlocks, FakeDuty, FakeSnippets, FakeTranscripts
from tests.unit.fakes.delivery import FakeCursors, FakeDeliverer, FakeInbound, FakeOutbox
from tests.unit.fakes.records import FakeCustomers, FakeEvents, FakeMessages, FakeTickets
from tests.unit.fakes.reminders import FakeReminders, FakeReports
from tests.unit.fakes.store import Store

__all__ = [
    "FakeBlocks",
    "FakeCursors",
    "FakeCustomers",
    "FakeDeliverer",
    "FakeDuty",
    "FakeEvents",
    "FakeInbound",
    "FakeMessages",
    "FakeOutbox",
    "FakeReminders",
    "FakeReports",
    "FakeSnippets",
    "FakeTickets",
    "FakeTranscripts",
    "FakeUnitOfWork",
    "FakeUnitOfWorkFactory",
    "Store",
]


class FakeUnitOfWork:
    """Its transaction begins with the first statement: it takes the store's turn and works on
    a copy of the store; commit writes the copy back, rollback (or leaving without a commit)
    drops it, and either gives the turn to the next."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.committed = False
        self.handed_off: list[tuple[OutboundMessage, Ticket]] = []  # no hand-off here
        self.claim_due = True  # so every message written goes by claim
        self._work: Store | None = None
        self.tickets: TicketRepository = FakeTickets(self)
        self.customers: CustomerRepository = FakeCustomers(self)
        self.blocks: BlockRepository = FakeBlocks(self)
        self.transcripts: TranscriptRepository = FakeTranscripts(self)
        self.snippets: SnippetRepository = FakeSnippets(self)
        self.duty: DutyRepository = FakeDuty(self)
        self.events: EventRepository = FakeEvents(self)
        self.messages: MessageRepository = FakeMessages(self)
        self.outbox: OutboxRepository = FakeOutbox(self)
        self.inbound: InboundRepository = FakeInbound(self)
        self.cursors: CursorRepository = FakeCursors(self)
        self.reminders: ReminderRepository = FakeReminders(self)
        self.reports: ReportRepository = FakeReports(self)

    async def begin(self) -> Store:
        """The transaction's data, begun with its first statement."""
        if self._work is None:
            if self.store.outage:
                raise StorageOutage("OperationalError: the database went away")
            await self.store.turns.take()
            self._work = self.store.data_copy()
        return self._work

    def _end(self) -> None:
        if self._work is not None:
            self._work = None
            self.store.turns.give_back()

    async def __aenter__(self) -> Self:
        if self.store.outage:
            raise StorageOutage("OperationalError: the database is unreachable")
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._end()  # nothing commits unless the handler said so

    async def commit(self) -> None:
        if self.store.outage:
            self._end()
            raise StorageOutage("OperationalError: the database went away")
        if self._work is not None:
            self.store.take_data(self._work)
            self._end()
        self.committed = True

    async def rollback(self) -> None:
        self._end()

    async def hold_conversation(self, key: str) -> None:
        return None  # one transaction at a time (as on SQLite): none runs beside this one


class FakeUnitOfWorkFactory:
    def __init__(self, store: Store | None = None) -> None:
        self.store = store if store is not None else Store()

    def __call__(self) -> FakeUnitOfWork:
        return FakeUnitOfWork(self.store)
