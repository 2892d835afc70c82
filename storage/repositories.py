"""Repositories over one AsyncConnection (SQLAlchemy Core: one statement per step)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import CursorResult, and_, func, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

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
from storage.rows import (
    attachments_json,
    outbound_from,
    outbound_values,
    person_from,
    ticket_from,
    ticket_values,
)


def _new_id(result: CursorResult[Any]) -> int:
    key = result.inserted_primary_key
    assert key is not None
    return int(key[0])


class SqlTickets:
    def __init__(self, conn: AsyncConnection) -> None:
        self.conn = conn

    async def next_number(self) -> int:
        stmt = (
            update(t.counters)
            .where(t.counters.c.name == "ticket")
            .values(value=t.counters.c.value + 1)
            .returning(t.counters.c.value)
        )
        value = (await self.conn.execute(stmt)).scalar_one_or_none()
        if value is None:  # a database created without the migration's seed row
            await self.conn.execute(insert(t.counters).values(name="ticket", value=1))
            return 1
        return int(value)

    async def add(self, ticket: Ticket) -> None:
        values = ticket_values(ticket) | {"version": 1}
        result = await self.conn.execute(insert(t.tickets).values(values))
        ticket.id = _new_id(result)
        ticket.version = 1

    async def save(self, ticket: Ticket) -> None:
        result = await self.conn.execute(
            update(t.tickets)
            .where(t.tickets.c.id == ticket.id, t.tickets.c.version == ticket.version)
            .values(ticket_values(ticket) | {"version": ticket.version + 1})
        )
        if result.rowcount != 1:
            raise ConcurrencyConflict(f"ticket #{ticket.number}")
        ticket.version += 1

    async def _one(self, *where: Any) -> Ticket | None:
        row = (await self.conn.execute(select(t.tickets).where(*where).limit(1))).first()
        return ticket_from(row) if row else None

    async def by_number(self, number: int) -> Ticket | None:
        return await self._one(t.tickets.c.number == number)

    async def by_id(self, ticket_id: int) -> Ticket | None:
        return await self._one(t.tickets.c.id == ticket_id)

    async def by_source_thread(self, source: Source) -> Ticket | None:
        c = t.tickets.c
        return await self._one(
            c.source_platform == source.platform,
            c.source_channel == source.channel,
            c.source_thread == source.thread,
        )

    async def open_for_customer(self, customer_id: int, source: Source) -> Ticket | None:
        c = t.tickets.c
        row = (
            await self.conn.execute(
                select(t.tickets)
                .where(
                    c.customer_id == customer_id,
                    c.status != "closed",
                    c.source_platform == source.platform,
                    c.source_channel == source.channel,
                    c.source_thread == source.thread,
                )
                .order_by(c.id.desc())
                .limit(1)
            )
        ).first()
        return ticket_from(row) if row else None

    async def list(
        self,
        status_in: Sequence[str],
        assignee_ref: str | None = None,
        unassigned: bool = False,
        limit: int = 50,
    ) -> list[Ticket]:
        c = t.tickets.c
        stmt = select(t.tickets).where(c.status.in_(list(status_in)))
        if assignee_ref is not None:
            stmt = stmt.where(c.assignee_ref == assignee_ref)
        if unassigned:
            stmt = stmt.where(c.assignee_ref.is_(None))
        rows = await self.conn.execute(stmt.order_by(c.number).limit(limit))
        return [ticket_from(r) for r in rows]

    async def count_for_customer(self, customer_id: int, before_id: int) -> int:
        c = t.tickets.c
        stmt = select(func.count()).where(c.customer_id == customer_id, c.id < before_id)
        return int((await self.conn.execute(stmt)).scalar_one())

    async def set_staff_refs(
        self, ticket_id: int, channel: str, thread: str, card_message_id: str
    ) -> None:
        # delivery bookkeeping, not a ticket change: no version bump, no conflict
        await self.conn.execute(
            update(t.tickets)
            .where(t.tickets.c.id == ticket_id)
            .values(staff_channel=channel, staff_thread=thread, card_message_id=card_message_id)
        )


class SqlCustomers:
    def __init__(self, conn: AsyncConnection) -> None:
        self.conn = conn

    async def find(self, platform: str, user_id: str) -> Customer | None:
        ident = t.customer_identities.c
        row = (
            await self.conn.execute(
                select(t.customers)
                .join(t.customer_identities, ident.customer_id == t.customers.c.id)
                .where(ident.platform == platform, ident.user_id == user_id)
            )
        ).first()
        return Customer(row.id, row.display_name, row.locale) if row else None

    async def add(self, customer: Customer, platform: str, user_id: str) -> None:
        result = await self.conn.execute(
            insert(t.customers).values(
                display_name=customer.display_name[:200], locale=customer.locale
            )
        )
        customer.id = _new_id(result)
        await self.conn.execute(
            insert(t.customer_identities).values(
                platform=platform, user_id=user_id, customer_id=customer.id
            )
        )

    async def update(self, customer: Customer) -> None:
        await self.conn.execute(
            update(t.customers)
            .where(t.customers.c.id == customer.id)
            .values(display_name=customer.display_name[:200], locale=customer.locale)
        )


class SqlEvents:
    def __init__(self, conn: AsyncConnection) -> None:
        self.conn = conn

    async def add(self, event: TicketEvent) -> None:
        result = await self.conn.execute(
            insert(t.ticket_events).values(
                ticket_id=event.ticket_id,
                kind=event.kind,
                actor_ref=event.actor.ref,
                actor_name=event.actor.name,
                at=event.at,
                data=event.data,
            )
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
    def __init__(self, conn: AsyncConnection) -> None:
        self.conn = conn

    async def add(self, message: TicketMessage) -> None:
        result = await self.conn.execute(
            insert(t.ticket_messages).values(
                ticket_id=message.ticket_id,
                direction=message.direction.value,
                author_ref=message.author.ref,
                author_name=message.author.name,
                body=message.body,
                attachments=attachments_json(message.attachments),
                at=message.at,
            )
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


class SqlOutbox:
    def __init__(self, conn: AsyncConnection) -> None:
        self.conn = conn

    async def add(self, message: OutboundMessage, at: datetime) -> None:
        result = await self.conn.execute(
            insert(t.outbox).values(
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
        )
        message.id = _new_id(result)

    async def due(self, now: datetime, limit: int) -> list[OutboundMessage]:
        o = t.outbox.c
        earlier = t.outbox.alias("earlier")
        blocked = (
            select(earlier.c.id)
            .where(
                earlier.c.conversation == o.conversation,
                earlier.c.status == "pending",
                earlier.c.id < o.id,
            )
            .exists()
        )
        rows = await self.conn.execute(
            select(t.outbox)
            .where(o.status == "pending", o.next_attempt_at <= now, ~blocked)
            .order_by(o.id)
            .limit(limit)
        )
        return [outbound_from(r) for r in rows]

    async def mark_sent(self, message_id: int, platform_message_id: str, at: datetime) -> None:
        await self._set(
            message_id,
            status="sent",
            sent_at=at,
            platform_message_id=platform_message_id,
            attempts=t.outbox.c.attempts + 1,
        )

    async def mark_retry(self, message_id: int, next_attempt_at: datetime, error: str) -> None:
        await self._set(
            message_id,
            next_attempt_at=next_attempt_at,
            last_error=error,
            attempts=t.outbox.c.attempts + 1,
        )

    async def mark_failed(self, message_id: int, error: str, at: datetime) -> None:
        await self._set(
            message_id,
            status="failed",
            last_error=error,
            sent_at=at,
            attempts=t.outbox.c.attempts + 1,
        )

    async def _set(self, message_id: int, **values: Any) -> None:
        await self.conn.execute(
            update(t.outbox).where(t.outbox.c.id == message_id).values(**values)
        )

    async def pending_count(self) -> int:
        stmt = select(func.count()).where(t.outbox.c.status == "pending")
        return int((await self.conn.execute(stmt)).scalar_one())


class SqlInbound:
    def __init__(self, conn: AsyncConnection) -> None:
        self.conn = conn

    async def record(
        self, platform: str, event_id: str, payload: dict[str, Any], at: datetime
    ) -> bool:
        try:
            async with self.conn.begin_nested():
                await self.conn.execute(
                    insert(t.inbound_events).values(
                        platform=platform, event_id=event_id, payload=payload, received_at=at
                    )
                )
        except IntegrityError:
            return False
        return True


class SqlReminders:
    def __init__(self, conn: AsyncConnection) -> None:
        self.conn = conn

    async def add(self, reminder: Reminder) -> None:
        result = await self.conn.execute(
            insert(t.reminders).values(
                ticket_id=reminder.ticket_id,
                kind=reminder.kind,
                due_at=reminder.due_at,
                status=reminder.status,
                note=reminder.note,
                created_by_ref=reminder.created_by.ref,
                created_by_name=reminder.created_by.name,
                created_at=reminder.created_at,
            )
        )
        reminder.id = _new_id(result)

    async def pending_for_ticket(self, ticket_id: int) -> list[Reminder]:
        r = t.reminders.c
        rows = await self.conn.execute(
            select(t.reminders)
            .where(and_(r.ticket_id == ticket_id, r.status == "pending"))
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
