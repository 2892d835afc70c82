"""Repositories over one connection (SQLAlchemy Core).

Statements are built once with bound parameters and executed with plain dicts: building a
statement per call with `.values(...)` spent more time in SQLAlchemy's coercion than the
database spent running it.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import CursorResult, bindparam, func, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite

from bot.model import (
    Attachment,
    Customer,
    Direction,
    OutboundMessage,
    Reminder,
    Source,
    Ticket,
    TicketEvent,
    TicketMessage,
)
from bot.ports import ConcurrencyConflict
from storage import tables as t
from storage.engine import Conn
from storage.rows import (
    attachments_json,
    outbound_from,
    outbound_values,
    person_from,
    ticket_from,
    ticket_values,
)

_tk = t.tickets.c
_NEXT_NUMBER = (
    update(t.counters)
    .where(t.counters.c.name == "ticket")
    .values(value=t.counters.c.value + 1)
    .returning(t.counters.c.value)
)
_SAVE_TICKET = update(t.tickets).where(
    _tk.id == bindparam("b_id"), _tk.version == bindparam("b_version")
)
_BY_NUMBER = select(t.tickets).where(_tk.number == bindparam("number"))
_BY_ID = select(t.tickets).where(_tk.id == bindparam("id"))
_BY_THREAD = (
    select(t.tickets)
    .where(
        _tk.source_platform == bindparam("platform"),
        _tk.source_channel == bindparam("channel"),
        _tk.source_thread == bindparam("thread"),
    )
    .order_by(_tk.id.desc())
    .limit(1)
)
_OPEN_FOR_CUSTOMER = _BY_THREAD.where(
    _tk.customer_id == bindparam("customer_id"), _tk.status != "closed"
)
_COUNT_EARLIER = select(func.count()).where(
    _tk.customer_id == bindparam("customer_id"), _tk.id < bindparam("before_id")
)
_ident = t.customer_identities.c
_FIND_CUSTOMER = (
    select(t.customers)
    .join(t.customer_identities, _ident.customer_id == t.customers.c.id)
    .where(_ident.platform == bindparam("platform"), _ident.user_id == bindparam("user_id"))
)


def _new_id(result: CursorResult[Any]) -> int:
    key = result.inserted_primary_key
    assert key is not None
    return int(key[0])


class SqlTickets:
    def __init__(self, conn: Conn) -> None:
        self.conn = conn

    async def next_number(self) -> int:
        value = (await self.conn.execute(_NEXT_NUMBER)).scalar_one_or_none()
        if value is None:  # a database created without the migration's seed row
            await self.conn.execute(insert(t.counters), {"name": "ticket", "value": 1})
            return 1
        return int(value)

    async def add(self, ticket: Ticket) -> None:
        result = await self.conn.execute(insert(t.tickets), ticket_values(ticket) | {"version": 1})
        ticket.id = _new_id(result)
        ticket.version = 1

    async def save(self, ticket: Ticket) -> None:
        params = ticket_values(ticket) | {
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

    async def by_source_thread(self, source: Source) -> Ticket | None:
        return await self._one(_BY_THREAD, _where(source))

    async def open_for_customer(self, customer_id: int, source: Source) -> Ticket | None:
        return await self._one(_OPEN_FOR_CUSTOMER, _where(source) | {"customer_id": customer_id})

    async def list(
        self,
        status_in: Sequence[str],
        assignee_ref: str | None = None,
        unassigned: bool = False,
        limit: int = 50,
    ) -> list[Ticket]:
        stmt = select(t.tickets).where(_tk.status.in_(list(status_in)))
        if assignee_ref is not None:
            stmt = stmt.where(_tk.assignee_ref == assignee_ref)
        if unassigned:
            stmt = stmt.where(_tk.assignee_ref.is_(None))
        rows = await self.conn.execute(stmt.order_by(_tk.number).limit(limit))
        return [ticket_from(r) for r in rows]

    async def count_for_customer(self, customer_id: int, before_id: int) -> int:
        params = {"customer_id": customer_id, "before_id": before_id}
        return int((await self.conn.execute(_COUNT_EARLIER, params)).scalar_one())

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


class SqlCustomers:
    def __init__(self, conn: Conn) -> None:
        self.conn = conn

    async def find(self, platform: str, user_id: str) -> Customer | None:
        params = {"platform": platform, "user_id": user_id}
        row = (await self.conn.execute(_FIND_CUSTOMER, params)).first()
        return Customer(row.id, row.display_name, row.locale) if row else None

    async def add(self, customer: Customer, platform: str, user_id: str) -> None:
        result = await self.conn.execute(
            insert(t.customers),
            {"display_name": customer.display_name[:200], "locale": customer.locale},
        )
        customer.id = _new_id(result)
        await self.conn.execute(
            insert(t.customer_identities),
            {"platform": platform, "user_id": user_id, "customer_id": customer.id},
        )

    async def update(self, customer: Customer) -> None:
        await self.conn.execute(
            update(t.customers)
            .where(t.customers.c.id == customer.id)
            .values(display_name=customer.display_name[:200], locale=customer.locale)
        )


class SqlEvents:
    def __init__(self, conn: Conn) -> None:
        self.conn = conn

    async def add(self, event: TicketEvent) -> None:
        result = await self.conn.execute(
            insert(t.ticket_events),
            {
                "ticket_id": event.ticket_id,
                "kind": event.kind,
                "actor_ref": event.actor.ref,
                "actor_name": event.actor.name,
                "at": event.at,
                "data": event.data,
            },
        )
        event.id = _new_id(result)

    async def for_ticket(self, ticket_id: int) -> list[TicketEvent]:
        c = t.ticket_events.c
        rows = await self.conn.execute(
            select(t.ticket_events).where(c.ticket_id == ticket_id).order_by(c.id)
        )
        return [
            TicketEvent(
                r.ticket_id,
                r.kind,
                person_from(r.actor_ref, r.actor_name),  # type: ignore[arg-type]
                r.at,
                dict(r.data),
                r.id,
            )
            for r in rows
        ]


class SqlMessages:
    def __init__(self, conn: Conn) -> None:
        self.conn = conn

    async def add(self, message: TicketMessage) -> None:
        result = await self.conn.execute(
            insert(t.ticket_messages),
            {
                "ticket_id": message.ticket_id,
                "direction": message.direction.value,
                "author_ref": message.author.ref,
                "author_name": message.author.name,
                "body": message.body,
                "attachments": attachments_json(message.attachments),
                "at": message.at,
            },
        )
        message.id = _new_id(result)

    async def for_ticket(self, ticket_id: int) -> list[TicketMessage]:
        c = t.ticket_messages.c
        rows = await self.conn.execute(
            select(t.ticket_messages).where(c.ticket_id == ticket_id).order_by(c.id)
        )
        return [
            TicketMessage(
                r.ticket_id,
                Direction(r.direction),
                person_from(r.author_ref, r.author_name),  # type: ignore[arg-type]
                r.body,
                r.at,
                [Attachment(**a) for a in r.attachments],
                r.id,
            )
            for r in rows
        ]


_ob = t.outbox.c
_earlier = t.outbox.alias("earlier")
_DUE = (
    select(t.outbox)
    .where(
        _ob.status == "pending",
        _ob.next_attempt_at <= bindparam("now"),
        ~select(_earlier.c.id)
        .where(
            _earlier.c.conversation == _ob.conversation,
            _earlier.c.status == "pending",
            _earlier.c.id < _ob.id,
        )
        .exists(),
    )
    .order_by(_ob.id)
    .limit(bindparam("limit"))
)
_SET_OUTBOX = update(t.outbox).where(_ob.id == bindparam("b_id"))


class SqlOutbox:
    """Rows added in a unit of work are written in one statement when it commits."""

    def __init__(self, conn: Conn) -> None:
        self.conn = conn
        self._pending: list[dict[str, Any]] = []

    async def add(self, message: OutboundMessage, at: datetime) -> None:
        self._pending.append(
            outbound_values(message)
            | {
                "status": "pending",
                "attempts": 0,
                "next_attempt_at": at,
                "created_at": at,
                "platform_message_id": "",
                "last_error": "",
            }
        )

    async def flush(self) -> None:
        if self._pending:
            rows, self._pending = self._pending, []
            await self.conn.execute(insert(t.outbox), rows)

    async def due(self, now: datetime, limit: int) -> list[OutboundMessage]:
        await self.flush()
        rows = await self.conn.execute(_DUE, {"now": now, "limit": limit})
        return [outbound_from(r) for r in rows]

    async def mark_sent(self, message_id: int, platform_message_id: str, at: datetime) -> None:
        await self._set(
            message_id, status="sent", sent_at=at, platform_message_id=platform_message_id
        )

    async def mark_retry(self, message_id: int, next_attempt_at: datetime, error: str) -> None:
        await self._set(message_id, next_attempt_at=next_attempt_at, last_error=error)

    async def mark_failed(self, message_id: int, error: str, at: datetime) -> None:
        await self._set(message_id, status="failed", last_error=error, sent_at=at)

    async def _set(self, message_id: int, **values: Any) -> None:
        stmt = _SET_OUTBOX.values(attempts=_ob.attempts + 1)
        await self.conn.execute(stmt, values | {"b_id": message_id})

    async def pending_count(self) -> int:
        await self.flush()
        stmt = select(func.count()).where(_ob.status == "pending")
        return int((await self.conn.execute(stmt)).scalar_one())


class SqlInbound:
    def __init__(self, conn: Conn, dialect: str) -> None:
        self.conn = conn
        dialect_insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
        # ON CONFLICT DO NOTHING: a replay neither fails the transaction nor needs a savepoint
        self._record = dialect_insert(t.inbound_events).on_conflict_do_nothing(
            index_elements=["platform", "event_id"]
        )

    async def record(
        self, platform: str, event_id: str, payload: dict[str, Any], at: datetime
    ) -> bool:
        row = {
            "platform": platform,
            "event_id": event_id,
            "payload": payload,
            "received_at": at,
            "error": "",
        }
        return (await self.conn.execute(self._record, row)).rowcount == 1

    async def record_failure(
        self, platform: str, event_id: str, payload: dict[str, Any], error: str, at: datetime
    ) -> None:
        # under a key of its own, so the platform's retry of the same event is still handled
        row = {
            "platform": platform,
            "event_id": f"failed:{event_id}",
            "payload": payload,
            "received_at": at,
            "error": error,
        }
        await self.conn.execute(self._record, row)


class SqlReminders:
    def __init__(self, conn: Conn) -> None:
        self.conn = conn

    async def add(self, reminder: Reminder) -> None:
        result = await self.conn.execute(
            insert(t.reminders),
            {
                "ticket_id": reminder.ticket_id,
                "kind": reminder.kind,
                "due_at": reminder.due_at,
                "status": reminder.status,
                "note": reminder.note,
                "created_by_ref": reminder.created_by.ref,
                "created_by_name": reminder.created_by.name,
                "created_at": reminder.created_at,
            },
        )
        reminder.id = _new_id(result)

    async def pending_for_ticket(self, ticket_id: int) -> list[Reminder]:
        r = t.reminders.c
        rows = await self.conn.execute(
            select(t.reminders)
            .where(r.ticket_id == ticket_id, r.status == "pending")
            .order_by(r.due_at)
        )
        return [
            Reminder(
                row.ticket_id,
                row.kind,
                row.due_at,
                person_from(row.created_by_ref, row.created_by_name),  # type: ignore[arg-type]
                row.created_at,
                row.note,
                row.status,
                row.id,
            )
            for row in rows
        ]
