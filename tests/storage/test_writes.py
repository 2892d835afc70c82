"""Hot-path writes (`Conn.write`) store exactly what SQLAlchemy's ordinary path stores."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy import insert, text
from sqlalchemy.exc import IntegrityError

from bot.model import Action, Audience, Customer, OutboundMessage, Priority, Source, Ticket
from storage import tables as t
from storage.engine import Database
from storage.rows import outbound_values, ticket_values
from storage.tickets import _BY_NUMBER
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


async def test_a_ticket_written_on_the_hot_path_is_stored_like_any_other(
    database: Database,
) -> None:
    async with SqlUnitOfWork(database) as uow:
        customer_id = await _customer(uow)
        written, ordinary = _ticket(1, customer_id), _ticket(2, customer_id)
        await uow.tickets.add(written)
        conn = uow.tickets.conn  # type: ignore[attr-defined]
        await conn.execute(insert(t.tickets), ticket_values(ordinary) | {"version": 1})
        await uow.commit()
    first, second = await _raw_rows(database, "tickets")
    assert written.id == first["id"]
    differ = {k for k in first if first[k] != second[k]}
    assert differ == {"id", "number"}
    if database.dialect_name == "sqlite":  # the text existing desk files hold: UTC, microseconds
        assert first["created_at"] == "2026-11-24 00:30:15.123456"
        assert first["closed_at"] is None
    async with SqlUnitOfWork(database) as uow:
        back = await uow.tickets.by_number(1)
    assert back is not None and back.created_at == AT and back.created_at.tzinfo is not None
    assert back.subject == "至急: ログインできません" and back.source.is_dm


async def test_outbox_rows_written_together_are_stored_like_any_other(
    database: Database,
) -> None:
    message = OutboundMessage(
        "slack",
        Audience.STAFF,
        "card",
        "#1 ログイン",
        actions=[Action("ticket:claim:1", "担当する", "primary")],
        mentions=["@staff"],
        data={"number": 1, "note": "ü"},
    )
    async with SqlUnitOfWork(database) as uow:
        await uow.outbox.add(message, AT)
        await uow.outbox.add(message, AT)
        await uow.commit()  # two rows: one executemany on the hot path
    async with database.begin() as conn:
        row = outbound_values(message) | {
            "status": "pending",
            "attempts": 0,
            "next_attempt_at": AT,
            "created_at": AT,
            "platform_message_id": "",
            "last_error": "",
        }
        await conn.execute(insert(t.outbox), row)
    rows = await _raw_rows(database, "outbox")
    assert len(rows) == 3
    for other in rows[1:]:
        assert {k for k in rows[0] if rows[0][k] != other[k]} == {"id"}
    async with SqlUnitOfWork(database) as uow:
        due = await uow.outbox.due(AT.astimezone(UTC), 10)
    assert due[0].actions == message.actions and due[0].data == message.data


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


async def test_rows_fetched_on_the_hot_path_read_like_any_other(database: Database) -> None:
    async with SqlUnitOfWork(database) as uow:
        customer_id = await _customer(uow)
        await uow.tickets.add(_ticket(1, customer_id))
        conn = uow.tickets.conn  # type: ignore[attr-defined]
        (fetched,) = await conn.fetch(_BY_NUMBER, {"number": 1})
        ordinary = (await conn.execute(_BY_NUMBER, {"number": 1})).first()
        assert tuple(fetched) == tuple(ordinary)
        assert fetched.created_at == AT and fetched.created_at.tzinfo is UTC
        assert fetched.source_is_dm is True and fetched.closed_at is None
        assert await conn.fetch(_BY_NUMBER, {"number": 2}) == []


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
