"""The unit of work: one connection, one transaction, every repository on it."""

from __future__ import annotations

from types import TracebackType
from typing import Self

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from bot.ports import (
    CustomerRepository,
    EventRepository,
    InboundRepository,
    MessageRepository,
    OutboxRepository,
    ReminderRepository,
    TicketRepository,
    UnitOfWork,
)
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
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine
        self._conn: AsyncConnection | None = None

    async def __aenter__(self) -> Self:
        # the transaction begins with the first statement (BEGIN IMMEDIATE on SQLite)
        self._conn = await self._engine.connect()
        conn = self._conn
        self.tickets: TicketRepository = SqlTickets(conn)
        self.customers: CustomerRepository = SqlCustomers(conn)
        self.events: EventRepository = SqlEvents(conn)
        self.messages: MessageRepository = SqlMessages(conn)
        self.outbox: OutboxRepository = SqlOutbox(conn)
        self.inbound: InboundRepository = SqlInbound(conn)
        self.reminders: ReminderRepository = SqlReminders(conn)
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
        await self._conn.commit()

    async def rollback(self) -> None:
        assert self._conn is not None
        await self._conn.rollback()


class SqlUnitOfWorkFactory:
    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine

    def __call__(self) -> UnitOfWork:
        return SqlUnitOfWork(self.engine)
