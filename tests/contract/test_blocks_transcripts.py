"""BlockRepository: a block is in force until it runs out or is lifted, and the customer is
told of it once. TranscriptRepository: the latest transcript of a ticket reads back."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy.exc import IntegrityError

from bot.model import Block, Customer
from bot.ports import UnitOfWorkFactory
from tests.contract.conftest import AT, BOB, CAROL, SECOND, add_customer, add_ticket, in_utc

DAY = timedelta(days=1)


async def test_a_block_is_in_force_until_it_runs_out(uow_factory: UnitOfWorkFactory) -> None:
    async with uow_factory() as uow:
        customer_id = await add_customer(uow)
        block = Block(customer_id, BOB, AT, until=AT + DAY, reason="spam links")
        await uow.blocks.add(block)
        await uow.commit()
    assert block.id is not None
    async with uow_factory() as uow:
        found = await uow.blocks.active(customer_id, AT + SECOND)
        assert found is not None
        assert (found.id, found.customer_id, found.reason) == (block.id, customer_id, "spam links")
        assert found.by == BOB
        assert found.customer_name == "Ayumi"
        assert found.at == AT
        assert in_utc(found.at)
        assert found.until == AT + DAY
        assert in_utc(found.until)
        assert not found.noticed
        assert await uow.blocks.active(customer_id, AT + DAY) is None
        assert await uow.blocks.in_force(AT + DAY) == []


async def test_a_block_without_an_end_lasts_until_lifted(uow_factory: UnitOfWorkFactory) -> None:
    async with uow_factory() as uow:
        customer_id = await add_customer(uow)
        other_id = await add_customer(uow, "U2", "Ben")
        await uow.blocks.add(Block(customer_id, BOB, AT))
        await uow.blocks.add(Block(other_id, BOB, AT))
        await uow.commit()
    later = AT + 1000 * DAY
    async with uow_factory() as uow:
        assert await uow.blocks.active(customer_id, later) is not None
        assert await uow.blocks.lift(customer_id, CAROL, later) == 1
        await uow.commit()
    async with uow_factory() as uow:
        assert await uow.blocks.active(customer_id, later) is None
        assert await uow.blocks.lift(customer_id, CAROL, later) == 0
        still = await uow.blocks.active(other_id, later)
        assert still is not None  # lifting one customer's block leaves the others
        assert still.customer_name == "Ben"


async def test_blocks_in_force_are_listed_newest_first(uow_factory: UnitOfWorkFactory) -> None:
    async with uow_factory() as uow:
        first = await add_customer(uow, "U1", "Ayumi")
        second = await add_customer(uow, "U2", "Ben")
        ran_out = await add_customer(uow, "U3", "Chika")
        await uow.blocks.add(Block(first, BOB, AT))
        await uow.blocks.add(Block(ran_out, BOB, AT, until=AT + SECOND))
        await uow.blocks.add(Block(second, CAROL, AT + SECOND, until=AT + DAY))
        await uow.commit()
    async with uow_factory() as uow:
        listed = await uow.blocks.in_force(AT + 2 * SECOND)
    assert [(b.customer_name, b.by.name) for b in listed] == [("Ben", "Carol"), ("Ayumi", "Bob")]


async def test_the_customer_is_told_once_per_block(uow_factory: UnitOfWorkFactory) -> None:
    async with uow_factory() as uow:
        customer_id = await add_customer(uow)
        block = Block(customer_id, BOB, AT)
        await uow.blocks.add(block)
        await uow.commit()
    assert block.id is not None
    async with uow_factory() as uow:
        assert await uow.blocks.mark_noticed(block.id, AT + SECOND)
        await uow.commit()
    async with uow_factory() as uow:
        assert not await uow.blocks.mark_noticed(block.id, AT + 2 * SECOND)
        found = await uow.blocks.active(customer_id, AT + 2 * SECOND)
        assert found is not None
        assert found.noticed
        # a new block is a new notice
        await uow.blocks.lift(customer_id, BOB, AT + 3 * SECOND)
        again = Block(customer_id, BOB, AT + 3 * SECOND)
        await uow.blocks.add(again)
        assert again.id is not None
        assert await uow.blocks.mark_noticed(again.id, AT + 4 * SECOND)


async def test_a_rolled_back_block_is_not_kept(uow_factory: UnitOfWorkFactory) -> None:
    async with uow_factory() as uow:
        customer_id = await add_customer(uow)
        await uow.commit()
    async with uow_factory() as uow:
        await uow.blocks.add(Block(customer_id, BOB, AT))
        await uow.rollback()
    async with uow_factory() as uow:
        assert await uow.blocks.active(customer_id, AT) is None


async def test_a_block_needs_a_customer(uow_factory: UnitOfWorkFactory) -> None:
    async with uow_factory() as uow:
        await uow.customers.add(Customer(None, "Ayumi", "ja"), "slack", "U1")
        with pytest.raises(IntegrityError):
            await uow.blocks.add(Block(999_999, BOB, AT))


async def test_the_latest_transcript_of_a_ticket_reads_back(uow_factory: UnitOfWorkFactory) -> None:
    async with uow_factory() as uow:
        customer_id = await add_customer(uow)
        ticket = await add_ticket(uow, 1, customer_id)
        other = await add_ticket(uow, 2, customer_id)
        assert ticket.id is not None
        assert other.id is not None
        assert await uow.transcripts.latest(ticket.id) is None
        await uow.transcripts.add(ticket.id, AT, {"conversation": [{"text": "最初"}]})
        await uow.transcripts.add(ticket.id, AT + DAY, {"conversation": [{"text": "二回目"}]})
        await uow.commit()
    async with uow_factory() as uow:
        found = await uow.transcripts.latest(ticket.id)
        assert found is not None
        made_at, document = found
        assert made_at == AT + DAY
        assert in_utc(made_at)
        assert document == {"conversation": [{"text": "二回目"}]}
        assert await uow.transcripts.latest(other.id) is None
        with pytest.raises(IntegrityError):
            await uow.transcripts.add(999_999, AT, {})
