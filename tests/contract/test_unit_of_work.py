"""UnitOfWork: what commits, what is rolled back, and units of work side by side."""

from __future__ import annotations

import asyncio
from datetime import datetime

import pytest

from bot.model import Customer
from bot.ports import UnitOfWorkFactory
from tests.contract.conftest import AT, add_customer, add_ticket, new_ticket


async def _customers(factory: UnitOfWorkFactory, *user_ids: str) -> list[str]:
    """Which of these users are customers, as a new unit of work sees it."""
    async with factory() as uow:
        return [u for u in user_ids if await uow.customers.find("slack", u) is not None]


async def test_what_a_unit_commits_is_seen_by_the_next(uow_factory: UnitOfWorkFactory) -> None:
    async with uow_factory() as uow:
        await add_customer(uow, "U1")
        assert await uow.customers.find("slack", "U1") is not None  # its own writes
        await uow.commit()
        assert uow.handed_off == []  # no sender takes messages from this factory
    assert await _customers(uow_factory, "U1") == ["U1"]


async def test_a_unit_left_without_a_commit_keeps_nothing(uow_factory: UnitOfWorkFactory) -> None:
    async with uow_factory() as uow:
        await add_customer(uow, "U1")

    async def failing_handler() -> None:
        async with uow_factory() as uow:
            await add_customer(uow, "U2")
            raise RuntimeError("the handler failed")

    with pytest.raises(RuntimeError, match="the handler failed"):
        await failing_handler()
    assert await _customers(uow_factory, "U1", "U2") == []


async def test_a_rollback_undoes_what_came_before_it_and_the_unit_goes_on(
    uow_factory: UnitOfWorkFactory,
) -> None:
    async with uow_factory() as uow:
        await add_customer(uow, "U1")
        await uow.commit()
        await add_customer(uow, "U2")  # after a commit: a new transaction
        await uow.rollback()
        assert await uow.customers.find("slack", "U2") is None
        assert await uow.customers.find("slack", "U1") is not None
        await add_customer(uow, "U3")
        await uow.commit()
    assert await _customers(uow_factory, "U1", "U2", "U3") == ["U1", "U3"]


async def test_a_commit_with_nothing_written_is_fine(uow_factory: UnitOfWorkFactory) -> None:
    async with uow_factory() as uow:
        await uow.commit()
        await uow.rollback()
        await uow.hold_conversation("slack:customer:D1")
        await add_customer(uow, "U1")
        await uow.commit()
    assert await _customers(uow_factory, "U1") == ["U1"]


async def test_a_unit_sees_what_another_committed_since_it_was_entered(
    uow_factory: UnitOfWorkFactory,
) -> None:
    """A transaction begins with its first statement, not when the unit is entered; and a
    commit keeps what the other committed before it."""
    async with uow_factory() as first, uow_factory() as second:
        await add_customer(second, "U2")
        await second.commit()
        assert await first.customers.find("slack", "U2") is not None
        await add_customer(first, "U1")
        await first.commit()
    assert await _customers(uow_factory, "U1", "U2") == ["U1", "U2"]


async def test_units_of_work_at_once_each_keep_their_own_writes(
    uow_factory: UnitOfWorkFactory,
) -> None:
    """Several tasks, each writing its own rows with awaits in between: none undoes
    another's (SQLite and the fake run them one after the other, PostgreSQL side by side)."""

    async def customer_and_ticket(n: int) -> None:
        async with uow_factory() as uow:
            customer = Customer(None, f"C{n}", "en")
            await uow.customers.add(customer, "slack", f"U{n}")
            await asyncio.sleep(0)  # let the others run (no time passes)
            assert customer.id is not None
            await uow.tickets.add(new_ticket(n, customer.id))
            await asyncio.sleep(0)
            await uow.commit()

    await asyncio.gather(*(customer_and_ticket(n) for n in range(1, 6)))
    assert await _customers(uow_factory, *(f"U{n}" for n in range(1, 6))) == [
        f"U{n}" for n in range(1, 6)
    ]
    async with uow_factory() as uow:
        found = await uow.tickets.list(["open"])
    assert [t.number for t in found] == [1, 2, 3, 4, 5]


async def test_a_time_without_a_zone_is_refused(uow_factory: UnitOfWorkFactory) -> None:
    async with uow_factory() as uow:
        customer_id = await add_customer(uow)
        with pytest.raises(Exception, match="naive datetime"):
            await add_ticket(uow, 1, customer_id, created_at=datetime(2026, 1, 1, 9, 0))  # noqa: DTZ001
    async with uow_factory() as uow:
        with pytest.raises(Exception, match="naive datetime"):
            await uow.inbound.record("slack", "Ev1", {}, AT.replace(tzinfo=None))
