"""Writes through the repositories: constraints, rollbacks, counters."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from bot.model import Audience, Customer, OutboundMessage, Priority, Source, Ticket
from storage.engine import Database
from storage.migrate import upgrade
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


async def test_a_ticket_saved_after_its_card_was_placed_keeps_where_the_card_went(
    database: Database,
) -> None:
    async with SqlUnitOfWork(database) as uow:
        ticket = _ticket(1, await _customer(uow))
        await uow.tickets.add(ticket)
        await uow.commit()
    assert ticket.id is not None
    # the desk works on the ticket as it was before its card was posted...
    async with SqlUnitOfWork(database) as desk:
        loaded = await desk.tickets.by_id(ticket.id)
    assert loaded is not None and loaded.staff_thread == ""
    # ...while the outbox sender (another process, maybe) records where the card went
    async with SqlUnitOfWork(database) as sender:
        await sender.tickets.set_staff_refs(ticket.id, "CSTAFF", "1700.0001", "1700.0001")
        await sender.commit()
    async with SqlUnitOfWork(database) as desk:
        loaded.subject = "ログインできません（解決済み）"
        await desk.tickets.save(loaded)
        await desk.commit()
    async with SqlUnitOfWork(database) as uow:
        stored = await uow.tickets.by_id(ticket.id)
    assert stored is not None and stored.subject == "ログインできません（解決済み）"
    assert (stored.staff_channel, stored.staff_thread) == ("CSTAFF", "1700.0001")
    assert stored.card_message_id == "1700.0001"


def _message(n: int) -> OutboundMessage:
    return OutboundMessage("slack", Audience.CUSTOMER, "ack", f"reply {n}", channel="D1")


async def test_a_send_under_way_when_the_process_died_is_in_doubt_after_it(
    database: Database,
) -> None:
    async with SqlUnitOfWork(database) as uow:
        await uow.outbox.add(_message(1), AT)
        await uow.commit()
    async with SqlUnitOfWork(database) as uow:
        (due,) = await uow.outbox.claim(AT, 10, "w", AT, customers_only=False)
        assert not due.in_doubt and due.created_at == AT
        assert due.id is not None
        await uow.outbox.start_attempts([due.id], AT)
        await uow.commit()
    # the process is killed here, before the platform's answer is recorded
    async with SqlUnitOfWork(database) as uow:
        later = AT + timedelta(seconds=1)  # after the dead worker's lease
        (again,) = await uow.outbox.claim(later, 10, "w2", later, customers_only=False)
        assert again.id == due.id and again.in_doubt
        await uow.outbox.mark_retry(due.id, AT, "429", in_doubt=False)  # refused: not sent
        await uow.outbox.mark_warned(due.id, AT)
        await uow.commit()
    async with SqlUnitOfWork(database) as uow:
        (third,) = await uow.outbox.claim(AT, 10, "w2", AT, customers_only=False)
        assert not third.in_doubt and third.warned and third.attempts == 1


async def test_channel_cursors_only_move_forward(database: Database) -> None:
    async with SqlUnitOfWork(database) as uow:
        assert await uow.cursors.get("discord", "42") is None
        await uow.cursors.advance("discord", "42", "900000000000000009", AT)
        await uow.cursors.advance("discord", "42", "1000000000000000001", AT)
        await uow.cursors.advance("discord", "42", "900000000000000010", AT)  # older: kept
        await uow.cursors.advance("discord", "43", "5", AT)
        await uow.commit()
    async with SqlUnitOfWork(database) as uow:
        assert await uow.cursors.channels("discord", AT + timedelta(seconds=1)) == {}
        assert await uow.cursors.channels("discord", AT) == {
            "42": "1000000000000000001",
            "43": "5",
        }


async def test_a_unit_of_work_cancelled_while_it_ends_leaves_sqlite_to_the_next(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """SQLite's writer turn and pooled connection are ours to give back (PostgreSQL's pool
    is SQLAlchemy's own)."""
    database = Database(f"sqlite:///{tmp_path / 'desk.db'}")
    await upgrade(database)

    async def cancelled_work() -> None:
        async with SqlUnitOfWork(database) as uow:
            await uow.inbound.record("slack", "Ev1", {"text": "hi"}, AT)
            conn = uow.tickets.conn  # type: ignore[attr-defined]

            async def cancelled_before_the_rollback() -> None:
                raise asyncio.CancelledError  # shutdown, or a caller that stopped waiting

            monkeypatch.setattr(conn, "rollback", cancelled_before_the_rollback)
            raise RuntimeError("the handler failed")

    with pytest.raises(asyncio.CancelledError):
        await cancelled_work()
    async with asyncio.timeout(10):  # not waiting forever for a turn or a pooled connection
        for _ in range(20):  # more than the pool holds
            async with SqlUnitOfWork(database) as uow:
                assert await uow.inbound.record("slack", "Ev1", {"text": "hi"}, AT)
                await uow.rollback()
    await database.dispose()
