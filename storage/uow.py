"""The unit of work: one connection, one transaction, every repository on it."""

from __future__ import annotations

from contextlib import suppress
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
    UnitOfWork,
)
from storage.blocks import SqlBlocks
from storage.cursors import SqlCursors
from storage.duty import SqlDuty
from storage.engine import Conn, Database, is_outage
from storage.outbox import HandOff
from storage.reports import SqlReports
from storage.repositories import (
    SqlCustomers,
    SqlEvents,
    SqlInbound,
    SqlMessages,
    SqlOutbox,
    SqlReminders,
    SqlTickets,
)
from storage.snippets import SqlSnippets
from storage.transcripts import SqlTranscripts
from storage.write_behind import WriteBehind


class SqlUnitOfWork:
    def __init__(self, database: Database, handoff: HandOff | None = None) -> None:
        self._database = database
        self._handoff = handoff
        self._conn: Conn | None = None
        self.handed_off: list[tuple[OutboundMessage, Ticket]] = []
        self.claim_due = False

    async def __aenter__(self) -> Self:
        # the transaction begins with the first statement (BEGIN IMMEDIATE on SQLite)
        try:
            self._conn = await self._database.connect()
        except Exception as error:
            if is_outage(error):
                raise _outage(error) from error
            raise
        # repositories write through it: on PostgreSQL, rows no one reads at once wait for
        # the next statement and go with each other
        conn = self._writes = WriteBehind(
            self._conn, self._database.dialect_name, self._database.direct
        )
        tickets = SqlTickets(conn, self._database.dialect_name)
        self.tickets: TicketRepository = tickets
        self.customers: CustomerRepository = SqlCustomers(conn, self._database.dialect_name)
        self.blocks: BlockRepository = SqlBlocks(conn)
        self.transcripts: TranscriptRepository = SqlTranscripts(conn)
        self.snippets: SnippetRepository = SqlSnippets(conn, self._database.dialect_name)
        self.duty: DutyRepository = SqlDuty(conn, self._database.dialect_name)
        self.events: EventRepository = SqlEvents(conn)
        self.messages: MessageRepository = SqlMessages(conn)
        self._outbox = SqlOutbox(conn, self._database.dialect_name, self._handoff, tickets.created)
        self.outbox: OutboxRepository = self._outbox
        self.inbound: InboundRepository = SqlInbound(conn, self._database.dialect_name)
        self.cursors: CursorRepository = SqlCursors(conn, self._database.dialect_name)
        self.reminders: ReminderRepository = SqlReminders(conn, self._database.dialect_name)
        self.reports: ReportRepository = SqlReports(conn)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        assert self._conn is not None
        conn, self._conn = self._conn, None
        try:
            try:
                if conn.in_transaction():
                    await conn.rollback()  # nothing commits unless the handler said so
            finally:  # even when cancelled: the connection goes back to the pool
                await conn.close()
        except Exception as error:
            with suppress(Exception):  # a broken connection goes, not back to the pool
                await conn.invalidate()
            if exc is None and is_outage(error):
                raise _outage(error) from error
            if exc is None:
                raise
        if exc is not None and not isinstance(exc, StorageOutage) and is_outage(exc):
            # the core sees one kind of outage, whatever the driver called it
            raise _outage(exc) from exc

    async def commit(self) -> None:
        assert self._conn is not None
        await self._outbox.flush()
        await self._writes.commit()
        self.handed_off = self._outbox.handed
        self.claim_due = self._outbox.claim_due

    async def rollback(self) -> None:
        assert self._conn is not None
        await self._writes.rollback()

    async def hold_conversation(self, key: str) -> None:
        # SQLite has one writer at a time (and one process, see run_lock): nothing to do.
        # PostgreSQL locks it with the next statement (the inbound event's, usually)
        if self._database.dialect_name == "postgresql":
            await self._writes.hold(key)


def _outage(error: BaseException) -> StorageOutage:
    detail = str(getattr(error, "orig", None) or error).splitlines()
    return StorageOutage(f"{type(error).__name__}: {detail[0] if detail else ''}")


class SqlUnitOfWorkFactory:
    def __init__(self, database: Database) -> None:
        self.database = database
        self.handoff: HandOff | None = None  # set when this process runs an outbox sender

    def __call__(self) -> UnitOfWork:
        return SqlUnitOfWork(self.database, self.handoff)
