"""Writes through the repositories: constraints, rollbacks, counters."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from bot.model import Customer, Priority, Source, Ticket
from storage.engine import Database
from storage.uow import SqlUnitOfWork

TOKYO = timezone(timedelta(hours=9))
AT = datetime(2026, 11, 24, 9, 30, 15, 123456, tzinfo=TOKYO)


def _ticket(number: int, customer_id: int) -> Ticket:
    return Ticket(
        id=None,
        number=number,
        subject="至急: ログインできません",
        customer_id=customer_id,
        customer_name="Ayumi",
        locale="ja",
        source=Source("slack", "T1", "D1", is_dm=True),
        created_at=AT,
        updated_at=AT + timedelta(minutes=5),
        priority=Priority.URGENT,
    )


async def _raw_rows(database: Database, table: str) -> list[dict[str, object]]:
    """Rows as the database holds them, without SQLAlchemy's result processing."""
    async with database.begin() as conn:
        result = await conn.execute(text(f"SELECT * FROM {table} ORDER BY id"))
        return [dict(row._mapping) for row in result]


async def test_a_write_that_breaks_a_constraint_raises_the_usual_error(
    database: Database,
) -> None:
    async with SqlUnitOfWork(database) as uow:
        customer_id = await _customer(uow)
        await uow.tickets.add(_ticket(7, customer_id))
        with pytest.raises(IntegrityError):  # ticket numbers are unique
            await uow.tickets.add(_ticket(7, customer_id))


async def test_a_transaction_opened_by_a_write_is_undone_by_rollback(database: Database) -> None:
    async with SqlUnitOfWork(database) as uow:
        assert await uow.inbound.record("slack", "Ev1", {"text": "hi"}, AT)
        await uow.rollback()
    async with SqlUnitOfWork(database) as uow:
        assert await uow.inbound.record("slack", "Ev1", {"text": "hi"}, AT)  # not a duplicate
        assert not await uow.inbound.record("slack", "Ev1", {"text": "hi"}, AT)


async def _customer(uow: SqlUnitOfWork) -> int:
    customer = Customer(None, "Ayumi", "ja")
    await uow.customers.add(customer, "slack", "U1")
    assert customer.id is not None
    return customer.id


async def test_ticket_numbers_count_on_from_the_stored_counter(database: Database) -> None:
    async with SqlUnitOfWork(database) as uow:
        assert [await uow.tickets.next_number() for _ in range(3)] == [1, 2, 3]
        await uow.commit()
    async with SqlUnitOfWork(database) as uow:
        assert await uow.tickets.next_number() == 4
        found = await uow.customers.find("slack", "U1")
        assert found is None
        customer_id = await _customer(uow)
        found = await uow.customers.find("slack", "U1")
        assert found is not None and (found.id, found.display_name) == (customer_id, "Ayumi")
