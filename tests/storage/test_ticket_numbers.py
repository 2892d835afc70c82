"""Ticket numbers on PostgreSQL come from a sequence: new tickets at once, in one worker or
several, never wait for one another's commit to be numbered, and a desk upgraded from the
counter row numbers on from where it was (and back again when rolled back)."""

from __future__ import annotations

import asyncio
from pathlib import Path

from alembic import command
from sqlalchemy import select, update

from storage import tables as t
from storage.migrate import alembic_config, upgrade
from storage.uow import SqlUnitOfWork
from tests.storage.conftest import fresh_database


async def test_new_tickets_at_once_are_numbered_without_waiting_for_each_other(
    tmp_path: Path,
) -> None:
    database = await fresh_database("postgresql", tmp_path)
    try:
        async with SqlUnitOfWork(database) as first:
            assert await first.tickets.next_number() == 1
            async with SqlUnitOfWork(database) as second:
                # a counter row would keep the second waiting until the first commits
                assert await asyncio.wait_for(second.tickets.next_number(), 10) == 2
                await second.commit()
            await first.commit()
    finally:
        await database.dispose()


async def test_an_upgraded_desk_numbers_on_from_its_counter_and_rolls_back_to_it(
    tmp_path: Path,
) -> None:
    database = await fresh_database("postgresql", tmp_path, revision="0008")
    try:
        async with database.begin() as conn:
            await conn.execute(update(t.counters).values(value=41))
        assert await upgrade(database, "0009") == ["0009"]
        async with SqlUnitOfWork(database) as uow:
            assert [await uow.tickets.next_number() for _ in range(2)] == [42, 43]
            await uow.commit()
        async with database.begin() as conn:
            await conn.run_sync(lambda sync: command.downgrade(alembic_config(sync), "0008"))
            counter = (await conn.execute(select(t.counters.c.value))).scalar()
        assert counter == 43  # the older release counts on from the last number handed out
        assert await upgrade(database, "0009") == ["0009"]  # and up again
        async with SqlUnitOfWork(database) as uow:
            assert await uow.tickets.next_number() == 44
    finally:
        await database.dispose()
