"""Closed tickets' words for the desk's similar-ticket search (bot.desk.similar): subject and
the customer's first message, read in slices in the order the tickets closed, each slice in a
read-only snapshot that holds up no writer."""

from __future__ import annotations

from datetime import datetime
from functools import partial

from sqlalchemy import Connection, and_, or_, select

from bot.knowledge_ports import ClosedTicket
from bot.model import Direction, Status
from bot.ports import StorageOutage
from storage import tables as t
from storage.engine import Database, is_outage

_tk = t.tickets.c
_m = t.ticket_messages.c
_FIRST = (
    select(_m.body)
    .where(_m.ticket_id == _tk.id, _m.direction == Direction.INBOUND.value)
    .order_by(_m.id)
    .limit(1)
    .scalar_subquery()
)


class SqlClosedTickets:
    def __init__(self, database: Database) -> None:
        self.database = database

    async def closed_after(
        self, after: tuple[datetime, int] | None, limit: int
    ) -> list[ClosedTicket]:
        try:
            return await self.database.snapshot(partial(_read, after, limit))
        except Exception as error:
            if is_outage(error):  # as every unit of work says it: time may cure it
                raise StorageOutage(f"{type(error).__name__}: {error}") from error
            raise


# in the order they closed, by the closed_at index. `status || ''` keeps SQLite (which has
# no statistics here) off the status index, by which it would sort every closed ticket for
# each slice: 24 ms against 0.09 ms for a catch-up at 100,000 tickets
_CLOSED = (
    select(_tk.id, _tk.closed_at, _tk.subject, _FIRST)
    .where((_tk.status + "") == Status.CLOSED.value, _tk.closed_at.is_not(None))
    .order_by(_tk.closed_at, _tk.id)
)


def _read(after: tuple[datetime, int] | None, limit: int, conn: Connection) -> list[ClosedTicket]:
    query = _CLOSED
    if after is not None:
        at, ticket_id = after
        query = query.where(
            _tk.closed_at >= at,  # a bound the index can seek to; the rest picks within it
            or_(_tk.closed_at > at, and_(_tk.closed_at == at, _tk.id > ticket_id)),
        )
    rows = conn.execute(query.limit(limit))
    return [ClosedTicket(r[0], r[1], r[2], r[3] or "") for r in rows]
