"""The ticket repository: statements built once, executed with bound parameters."""

from __future__ import annotations

import sys
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, func, insert, select, update

from bot.model import Source, Status, Ticket
from bot.ports import ConcurrencyConflict
from storage import tables as t
from storage.engine import Conn, new_id
from storage.rows import ticket_from, ticket_values
from storage.sqlite import quick

_tk = t.tickets.c
_NEXT_NUMBER = (
    update(t.counters)
    .where(t.counters.c.name == bindparam("b_name"))
    .values(value=t.counters.c.value + bindparam("b_step"))
    .returning(t.counters.c.value)
)
# PostgreSQL takes numbers from a sequence, which no transaction holds; the counter row
# would be held from the number's taking to the commit, one intake at a time across every
# worker. A number taken by a transaction that rolls back is skipped there. SQLite keeps the
# row: its writer lock takes intakes one at a time anyway, and numbers stay gapless.
_NEXT_FROM_SEQUENCE = select(func.nextval(t.TICKET_NUMBERS))
_INSERT = insert(t.tickets)
# a new ticket's number taken by its own INSERT: one round trip fewer for each new ticket
_INSERT_NUMBERED = (
    insert(t.tickets).values(number=func.nextval(t.TICKET_NUMBERS)).returning(_tk.id, _tk.number)
)
_SAVE_TICKET = update(t.tickets).where(
    _tk.id == bindparam("b_id"), _tk.version == bindparam("b_version")
)
_STAFF_REFS = {"staff_channel", "staff_thread", "card_message_id"}
# lookups by an indexed key: quick enough for SQLite to run them on the event loop
_BY_NUMBER = quick(select(t.tickets).where(_tk.number == bindparam("number")))
_BY_ID = quick(select(t.tickets).where(_tk.id == bindparam("id")))
_BY_IDS = quick(select(t.tickets).where(_tk.id.in_(bindparam("ids", expanding=True))))
_BY_STAFF_THREAD = quick(
    select(t.tickets).where(
        _tk.source_platform == bindparam("platform"), _tk.staff_thread == bindparam("thread")
    )
)
_BY_THREAD = quick(
    select(t.tickets)
    .where(
        _tk.source_platform == bindparam("platform"),
        _tk.source_channel == bindparam("channel"),
        _tk.source_thread == bindparam("thread"),
    )
    .order_by(_tk.id.desc())
    .limit(1)
)
_LIST = (
    select(t.tickets)
    .where(_tk.status.in_(bindparam("statuses", expanding=True)))
    .order_by(_tk.number)
    .limit(bindparam("limit"))
)
_LIST_BY_ASSIGNEE = _LIST.where(_tk.assignee_ref == bindparam("assignee"))
_LIST_UNASSIGNED = _LIST.where(_tk.assignee_ref.is_(None))
_LATEST_FOR_CUSTOMER = _BY_THREAD.where(_tk.customer_id == bindparam("customer_id"))
_OPEN_FOR_CUSTOMER = _LATEST_FOR_CUSTOMER.where(_tk.status != "closed")
_COUNT_EARLIER = quick(
    select(func.count()).where(
        _tk.customer_id == bindparam("customer_id"), _tk.id < bindparam("before_id")
    )
)
# by the (assignee_ref, status) index
_OPEN_COUNTS = (
    select(_tk.assignee_ref.label("ref"), func.count().label("n"))
    .where(
        _tk.assignee_ref.in_(bindparam("refs", expanding=True)),
        _tk.status != Status.CLOSED.value,
    )
    .group_by(_tk.assignee_ref)
)


class SqlTickets:
    def __init__(self, conn: Conn, dialect: str) -> None:
        self.conn = conn
        self.created: dict[int, Ticket] = {}  # opened in this unit of work
        self._sequence = dialect == "postgresql"

    async def next_number(self) -> int:
        if self._sequence:
            return int((await self.conn.execute(_NEXT_FROM_SEQUENCE)).scalar_one())
        params = {"b_name": "ticket", "b_step": 1}
        value = (await self.conn.execute(_NEXT_NUMBER, params)).scalar()
        if value is None:  # a database created without the migration's seed row
            await self.conn.execute(insert(t.counters), {"name": "ticket", "value": 1})
            return 1
        return int(value)

    async def add(self, ticket: Ticket) -> None:
        """Store a new ticket; one whose number is 0 is given the next number."""
        values = ticket_values(ticket) | {"version": 1}
        if ticket.number == 0 and self._sequence:
            del values["number"]
            row = (await self.conn.execute(_INSERT_NUMBERED, values)).first()
            assert row is not None
            ticket.id, ticket.number = int(row.id), int(row.number)
        else:
            if ticket.number == 0:
                ticket.number = values["number"] = await self.next_number()
            ticket.id = new_id(await self.conn.execute(_INSERT, values))
        ticket.version = 1
        self.created[ticket.id] = ticket

    async def save(self, ticket: Ticket) -> None:
        # where the card went is the outbox sender's to write (set_staff_refs), maybe while
        # this ticket was loaded before the card was posted: a save never writes it back
        values = {k: v for k, v in ticket_values(ticket).items() if k not in _STAFF_REFS}
        params = values | {
            "version": ticket.version + 1,
            "b_id": ticket.id,
            "b_version": ticket.version,
        }
        if (await self.conn.execute(_SAVE_TICKET, params)).rowcount != 1:
            raise ConcurrencyConflict(f"ticket #{ticket.number}")
        ticket.version += 1

    async def _one(self, stmt: Any, params: dict[str, Any]) -> Ticket | None:
        row = (await self.conn.execute(stmt, params)).first()
        return ticket_from(row) if row else None

    async def by_number(self, number: int) -> Ticket | None:
        return await self._one(_BY_NUMBER, {"number": number})

    async def by_id(self, ticket_id: int) -> Ticket | None:
        return await self._one(_BY_ID, {"id": ticket_id})

    async def by_ids(self, ticket_ids: Iterable[int]) -> dict[int, Ticket]:
        ids = sorted(set(ticket_ids))
        if not ids:
            return {}
        found = [ticket_from(r) for r in await self.conn.execute(_BY_IDS, {"ids": ids})]
        return {ticket.id: ticket for ticket in found if ticket.id is not None}

    async def by_source_thread(self, source: Source) -> Ticket | None:
        return await self._one(_BY_THREAD, _where(source))

    async def by_staff_thread(self, platform: str, thread: str) -> Ticket | None:
        if not thread:  # every ticket whose card is not placed yet has an empty thread
            return None
        return await self._one(_BY_STAFF_THREAD, {"platform": platform, "thread": thread})

    async def open_for_customer(self, customer_id: int, source: Source) -> Ticket | None:
        return await self._one(_OPEN_FOR_CUSTOMER, _where(source) | {"customer_id": customer_id})

    async def latest_for_customer(self, customer_id: int, source: Source) -> Ticket | None:
        params = _where(source) | {"customer_id": customer_id}
        return await self._one(_LATEST_FOR_CUSTOMER, params)

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
        stmt = (
            _LIST_BY_ASSIGNEE
            if assignee_ref is not None
            else (_LIST_UNASSIGNED if unassigned else _LIST)
        )
        params: dict[str, Any] = {"statuses": list(status_in), "limit": limit}
        if assignee_ref is not None:
            params["assignee"] = assignee_ref
        if customer_id is not None:
            stmt = stmt.where(_tk.customer_id == bindparam("customer_id"))
            params["customer_id"] = customer_id
        if created_since is not None:
            stmt = stmt.where(_tk.created_at >= bindparam("since"))
            params["since"] = created_since
        if tag is not None:
            stmt = stmt.where(_tk.tags.contains(f" {tag} ", autoescape=True))
        if newest_first:
            stmt = stmt.order_by(None).order_by(_tk.number.desc())
        return [ticket_from(r) for r in await self.conn.execute(stmt, params)]

    async def count_for_customer(self, customer_id: int, before_id: int | None = None) -> int:
        before = sys.maxsize if before_id is None else before_id  # ids never come near it
        params = {"customer_id": customer_id, "before_id": before}
        return int((await self.conn.execute(_COUNT_EARLIER, params)).scalar_one())

    async def open_counts(self, assignee_refs: Sequence[str]) -> dict[str, int]:
        if not assignee_refs:
            return {}
        rows = await self.conn.execute(_OPEN_COUNTS, {"refs": list(assignee_refs)})
        return {row.ref: int(row.n) for row in rows}

    async def set_staff_refs(
        self, ticket_id: int, channel: str, thread: str, card_message_id: str
    ) -> None:
        # delivery bookkeeping, not a ticket change: no version bump, no conflict
        await self.conn.execute(
            update(t.tickets)
            .where(_tk.id == ticket_id)
            .values(staff_channel=channel, staff_thread=thread, card_message_id=card_message_id)
        )


def _where(source: Source) -> dict[str, Any]:
    return {"platform": source.platform, "channel": source.channel, "thread": source.thread}
