"""TicketRepository, writing: versions and conflicts, rollbacks, where a card went, constraints,
and people as stored."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy.exc import IntegrityError

from bot.model import Person, Priority, Status
from bot.ports import ConcurrencyConflict, UnitOfWorkFactory
from tests.contract.conftest import (
    AT,
    BOB,
    CAROL,
    add_customer,
    add_ticket,
    new_ticket,
)


async def test_a_save_bumps_the_version_and_a_stale_copy_conflicts(
    uow_factory: UnitOfWorkFactory,
) -> None:
    async with uow_factory() as uow:
        ticket = await add_ticket(uow, 1, await add_customer(uow))
        await uow.commit()
    assert ticket.id is not None
    async with uow_factory() as uow:
        stale = await uow.tickets.by_id(ticket.id)
    async with uow_factory() as uow:
        fresh = await uow.tickets.by_id(ticket.id)
        assert fresh is not None
        fresh.claim(BOB)
        fresh.updated_at = AT + timedelta(hours=1)
        await uow.tickets.save(fresh)
        assert fresh.version == 2
        await uow.commit()
    async with uow_factory() as uow:
        assert stale is not None
        assert stale.version == 1
        stale.claim(CAROL)
        with pytest.raises(ConcurrencyConflict):
            await uow.tickets.save(stale)
        assert stale.version == 1
        await uow.commit()
    async with uow_factory() as uow:
        stored = await uow.tickets.by_id(ticket.id)
        assert stored is not None
        assert stored.assignee == BOB
        assert stored.version == 2
        assert stored.status is Status.CLAIMED
        assert stored.updated_at == AT + timedelta(hours=1)
        # two saves in one unit of work: the second goes from the first's version
        stored.set_priority(Priority.LOW)
        await uow.tickets.save(stored)
        stored.team = "billing"
        await uow.tickets.save(stored)
        assert stored.version == 4
        await uow.commit()
    async with uow_factory() as uow:
        stored = await uow.tickets.by_id(ticket.id)
    assert stored is not None
    assert (stored.priority, stored.team) == (Priority.LOW, "billing")
    assert stored.version == 4


async def test_saving_a_ticket_that_was_never_added_conflicts(
    uow_factory: UnitOfWorkFactory,
) -> None:
    async with uow_factory() as uow:
        ticket = new_ticket(1, await add_customer(uow))
        ticket.id, ticket.version = 99_999, 1
        with pytest.raises(ConcurrencyConflict):
            await uow.tickets.save(ticket)


async def test_a_save_rolled_back_leaves_the_ticket_as_it_was(
    uow_factory: UnitOfWorkFactory,
) -> None:
    async with uow_factory() as uow:
        ticket = await add_ticket(uow, 1, await add_customer(uow))
        await uow.commit()
    assert ticket.id is not None
    async with uow_factory() as uow:
        loaded = await uow.tickets.by_id(ticket.id)
        assert loaded is not None
        loaded.escalate("billing")
        await uow.tickets.save(loaded)
        await uow.rollback()
        again = await uow.tickets.by_id(ticket.id)
    assert again is not None
    assert again.status is Status.OPEN
    assert again.version == 1


async def test_a_ticket_saved_after_its_card_was_placed_keeps_where_the_card_went(
    uow_factory: UnitOfWorkFactory,
) -> None:
    async with uow_factory() as uow:
        ticket = new_ticket(1, await add_customer(uow))
        await uow.tickets.add(ticket)
        await uow.commit()
    assert ticket.id is not None
    # the desk works on the ticket as it was before its card was posted...
    async with uow_factory() as desk:
        loaded = await desk.tickets.by_id(ticket.id)
    assert loaded is not None
    assert loaded.staff_thread == ""
    # ...while the outbox sender (another process, maybe) records where the card went
    async with uow_factory() as sender:
        await sender.tickets.set_staff_refs(ticket.id, "CSTAFF", "1700.0001", "1700.0001")
        await sender.commit()
    async with uow_factory() as desk:
        loaded.subject = "ログインできません（解決済み）"
        await desk.tickets.save(loaded)  # no conflict: where the card went is no change
        await desk.commit()
    async with uow_factory() as uow:
        stored = await uow.tickets.by_id(ticket.id)
    assert stored is not None
    assert stored.subject == "ログインできません（解決済み）"
    assert (stored.staff_channel, stored.staff_thread) == ("CSTAFF", "1700.0001")
    assert stored.card_message_id == "1700.0001"
    assert stored.version == 2


async def test_staff_refs_of_a_ticket_that_does_not_exist_change_nothing(
    uow_factory: UnitOfWorkFactory,
) -> None:
    async with uow_factory() as uow:
        ticket = await add_ticket(uow, 1, await add_customer(uow))
        assert ticket.id is not None
        await uow.tickets.set_staff_refs(ticket.id + 1000, "CSTAFF", "1700.1", "1700.1")
        assert await uow.tickets.by_staff_thread("slack", "1700.1") is None


async def test_a_write_that_breaks_a_constraint_raises_the_usual_error(
    uow_factory: UnitOfWorkFactory,
) -> None:
    async with uow_factory() as uow:
        customer_id = await add_customer(uow)
        await uow.tickets.add(new_ticket(7, customer_id))
        with pytest.raises(IntegrityError):  # ticket numbers are unique
            await uow.tickets.add(new_ticket(7, customer_id))


async def test_a_ticket_needs_its_customer(uow_factory: UnitOfWorkFactory) -> None:
    async with uow_factory() as uow:
        with pytest.raises(IntegrityError):
            await uow.tickets.add(new_ticket(1, 99_999))
    async with uow_factory() as uow:
        assert await uow.tickets.by_number(1) is None


async def test_a_ticket_keeps_a_person_as_its_ref_and_name(
    uow_factory: UnitOfWorkFactory,
) -> None:
    """A person is stored as "platform:user_id" and a name; an empty name reads back as the
    user id."""
    async with uow_factory() as uow:
        customer_id = await add_customer(uow)
        await add_ticket(uow, 1, customer_id, assignee=Person("slack", "U:7", "Dee"))
        await add_ticket(uow, 2, customer_id, assignee=Person("slack", "U8", ""))
        first, second = await uow.tickets.by_number(1), await uow.tickets.by_number(2)
    assert first is not None
    assert first.assignee == Person("slack", "U:7", "Dee")
    assert second is not None
    assert second.assignee == Person("slack", "U8", "U8")
