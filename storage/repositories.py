"""Repositories over one connection (SQLAlchemy Core).

Statements are built once with bound parameters and executed with plain dicts: building a
statement per call with `.values(...)` spent more time in SQLAlchemy's coercion than the
database spent running it.
"""

from __future__ import annotations

from copy import deepcopy
from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, Integer, String, bindparam, func, insert, select, text, update
from sqlalchemy.dialects import postgresql, sqlite

from bot.kinds import EventKind
from bot.metrics import COUNTS
from bot.model import Attachment, Customer, Direction, TicketEvent, TicketMessage
from storage import tables as t
from storage.engine import Conn, new_id
from storage.outbox import SqlOutbox
from storage.reminders import SqlReminders
from storage.rows import attachments_json, person_from
from storage.sqlite import quick
from storage.tickets import SqlTickets
from storage.write_behind import CONVERSATION_LOCKS, WriteBehind

__all__ = [
    "SqlCustomers",
    "SqlEvents",
    "SqlInbound",
    "SqlMessages",
    "SqlOutbox",
    "SqlReminders",
    "SqlTickets",
]

_ident = t.customer_identities.c
_FIND_CUSTOMER = quick(
    select(t.customers)
    .join(t.customer_identities, _ident.customer_id == t.customers.c.id)
    .where(_ident.platform == bindparam("platform"), _ident.user_id == bindparam("user_id"))
)


# on PostgreSQL a customer is found or added (with their identity) in one round trip
_FIND_OR_ADD_CUSTOMER = text(
    """
    WITH found AS (
        SELECT customers.id, customers.display_name, customers.locale, customers.timezone
        FROM customers JOIN customer_identities ON customer_identities.customer_id = customers.id
        WHERE customer_identities.platform = :platform AND customer_identities.user_id = :user_id
    ), added AS (
        INSERT INTO customers (display_name, locale, timezone)
        SELECT :display_name, :locale, :timezone WHERE NOT EXISTS (SELECT FROM found)
        RETURNING id, display_name, locale, timezone
    ), identity AS (
        INSERT INTO customer_identities (platform, user_id, customer_id)
        SELECT :platform, :user_id, id FROM added
    )
    SELECT id, display_name, locale, timezone, false AS new FROM found
    UNION ALL SELECT id, display_name, locale, timezone, true AS new FROM added
    """
).columns(id=Integer, display_name=String, locale=String, timezone=String, new=Boolean)
_INSERT_CUSTOMERS = insert(t.customers)
_INSERT_CUSTOMER_IDENTITIES = insert(t.customer_identities)
_INSERT_TICKET_EVENTS = insert(t.ticket_events)
_INSERT_TICKET_MESSAGES = insert(t.ticket_messages)
# ON CONFLICT DO NOTHING: a replayed event neither fails the transaction nor needs a savepoint
_RECORD_INBOUND = {
    name: dialect_insert(t.inbound_events).on_conflict_do_nothing(
        index_elements=["platform", "event_id"]
    )
    for name, dialect_insert in (("sqlite", sqlite.insert), ("postgresql", postgresql.insert))
}
_in = t.inbound_events.c
_INBOUND_COLUMNS = ("platform", "event_id", "received_at", "payload", "error")
# PostgreSQL: the conversation's lock is taken by the statement that stores its event
_RECORD_INBOUND_HELD = (
    postgresql.insert(t.inbound_events)
    .from_select(
        _INBOUND_COLUMNS,
        select(*(bindparam(name, type_=_in[name].type) for name in _INBOUND_COLUMNS)).select_from(
            select(
                func.pg_advisory_xact_lock(bindparam("space"), func.hashtext(bindparam("key")))
            ).subquery("held")
        ),
    )
    .on_conflict_do_nothing(index_elements=["platform", "event_id"])
)


class SqlCustomers:
    def __init__(self, conn: Conn, dialect: str) -> None:
        self.conn = conn
        self._dialect = dialect

    async def find(self, platform: str, user_id: str) -> Customer | None:
        params = {"platform": platform, "user_id": user_id}
        row = (await self.conn.execute(_FIND_CUSTOMER, params)).first()
        return Customer(row.id, row.display_name, row.locale, row.timezone) if row else None

    async def find_or_add(
        self, platform: str, user_id: str, customer: Customer
    ) -> tuple[Customer, bool]:
        if self._dialect != "postgresql":
            found = await self.find(platform, user_id)
            if found is not None:
                return found, False
            await self.add(customer, platform, user_id)
            return customer, True
        params = {
            "platform": platform,
            "user_id": user_id,
            "display_name": customer.display_name[:200],
            "locale": customer.locale,
            "timezone": customer.timezone,
        }
        row = (await self.conn.execute(_FIND_OR_ADD_CUSTOMER, params)).first()
        assert row is not None
        return Customer(row.id, row.display_name, row.locale, row.timezone), bool(row.new)

    async def add(self, customer: Customer, platform: str, user_id: str) -> None:
        written = await self.conn.execute(
            _INSERT_CUSTOMERS,
            {
                "display_name": customer.display_name[:200],
                "locale": customer.locale,
                "timezone": customer.timezone,
            },
        )
        customer.id = new_id(written)
        await self.conn.execute(
            _INSERT_CUSTOMER_IDENTITIES,
            {"platform": platform, "user_id": user_id, "customer_id": customer.id},
        )

    async def update(self, customer: Customer) -> None:
        await self.conn.execute(
            update(t.customers)
            .where(t.customers.c.id == customer.id)
            .values(
                display_name=customer.display_name[:200],
                locale=customer.locale,
                timezone=customer.timezone,
            )
        )


class SqlEvents:
    def __init__(self, conn: WriteBehind) -> None:
        self.conn = conn

    async def add(self, event: TicketEvent) -> None:
        # written with the transaction's next statement: its id is not read back
        await self.conn.later(
            _INSERT_TICKET_EVENTS,
            {
                "ticket_id": event.ticket_id,
                "kind": str(event.kind),
                "actor_ref": event.actor.ref,
                "actor_name": event.actor.name,
                "at": event.at,
                "data": deepcopy(event.data),  # the caller's, and written later
            },
        )

    async def for_ticket(self, ticket_id: int) -> list[TicketEvent]:
        c = t.ticket_events.c
        rows = await self.conn.execute(
            select(t.ticket_events).where(c.ticket_id == ticket_id).order_by(c.id)
        )
        return [
            TicketEvent(
                r.ticket_id,
                EventKind(r.kind),
                person_from(r.actor_ref, r.actor_name),  # type: ignore[arg-type]
                r.at,
                dict(r.data),
                r.id,
            )
            for r in rows
        ]


class SqlMessages:
    def __init__(self, conn: WriteBehind) -> None:
        self.conn = conn

    async def add(self, message: TicketMessage) -> None:
        # written with the transaction's next statement: its id is not read back
        await self.conn.later(
            _INSERT_TICKET_MESSAGES,
            {
                "ticket_id": message.ticket_id,
                "direction": message.direction.value,
                "author_ref": message.author.ref,
                "author_name": message.author.name,
                "body": message.body,
                "attachments": attachments_json(message.attachments),
                "at": message.at,
                "anonymous": message.anonymous,
            },
        )

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
                bool(r.anonymous),
            )
            for r in rows
        ]


class SqlInbound:
    def __init__(self, conn: WriteBehind, dialect: str) -> None:
        self.conn = conn
        self._record = _RECORD_INBOUND[dialect]

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
        statement = self._record
        if (held := self.conn.take_hold()) is not None:
            statement, row = _RECORD_INBOUND_HELD, {**row, "space": CONVERSATION_LOCKS, "key": held}
        if (await self.conn.execute(statement, row)).rowcount == 1:
            return True
        COUNTS.deduplicated[platform] += 1  # for the operator's metrics
        return False

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
