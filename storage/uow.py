"""The unit of work: one connection, one transaction, every repository on it."""

from __future__ import annotations

from types import TracebackType
from typing import Self

from bot.ports import (
    CustomerRepository,
    EventRepository,
    InboundRepository,
    MessageRepository,
    OutboxRepository,
    ReminderRepository,
    ReportRepository,
    TicketRepository,
    UnitOfWork,
)
from storage.engine import Conn, Database
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


class SqlUnitOfWork:
    def __init__(self, database: Database) -> None:
        self._database = database
        self._conn: Conn | None = None

    async def __aenter__(self) -> Self:
        # the transaction begins with the first statement (BEGIN IMMEDIATE on SQLite)
        self._conn = await self._database.connect()
        conn = self._conn
        self.tickets: TicketRepository = SqlTickets(conn)
        self.customers: CustomerRepository = SqlCustomers(conn)
        self.events: EventRepository = SqlEvents(conn)
        self.messages: MessageRepository = SqlMessages(conn)
        self._outbox = SqlOutbox(conn)
        self.outbox: OutboxRepository = self._outbox
        self.inbound: InboundRepository = SqlInbound(conn, self._database.dialect_name)
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
        try:
            if self._conn.in_transaction():
                await self._conn.rollback()  # nothing commits unless the handler said so
        finally:
            await self._conn.close()
            self._conn = None

    async def commit(self) -> None:
        assert self._conn is not None
        await self._outbox.flush()
        await self._conn.commit()

    async def rollback(self) -> None:
        assert self._conn is not None
        await self._conn.rollback()


class SqlUnitOfWorkFactory:
    def __init__(self, database: Database) -> None:
        self.database = database

    def __call__(self) -> UnitOfWork:
        return SqlUnitOfWork(self.database)
