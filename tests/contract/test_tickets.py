"""TicketRepository, reading: numbers, round trips, lookups and lists."""

from __future__ import annotations

import dataclasses
from datetime import timedelta
from typing import Any

import pytest

from bot.model import Priority, SimilarTicket, Source, Status
from bot.ports import UnitOfWorkFactory
from tests.contract.conftest import (
    AT,
    BOB,
    CAROL,
    add_customer,
    add_ticket,
    in_utc,
    new_ticket,
)


async def test_ticket_numbers_count_on_from_the_stored_counter(
    uow_factory: UnitOfWorkFactory,
) -> None:
    async with uow_factory() as uow:
        assert [await uow.tickets.next_number() for _ in range(3)] == [1, 2, 3]
        await uow.commit()
    async with uow_factory() as uow:
        assert await uow.tickets.next_number() == 4
        found = await uow.customers.find("slack", "U1")
        assert found is None
        customer_id = await add_customer(uow)
        found = await uow.customers.find("slack", "U1")
        assert found is not None
        assert (found.id, found.display_name) == (customer_id, "Ayumi")


async def test_a_number_taken_in_a_unit_of_work_that_did_not_commit_is_never_given_twice(
    uow_factory: UnitOfWorkFactory, request: pytest.FixtureRequest
) -> None:
    # SQLite (and the fake) hand it out again: numbers stay gapless. PostgreSQL's sequence is
    # held by no transaction, so a rolled-back number is skipped
    gapless = request.node.callspec.params["uow_factory"] != "postgresql"
    async with uow_factory() as uow:
        assert await uow.tickets.next_number() == 1
        await uow.rollback()
        assert await uow.tickets.next_number() == (1 if gapless else 2)
    async with uow_factory() as uow:  # left without a commit
        assert await uow.tickets.next_number() == (1 if gapless else 3)
        await uow.commit()
    async with uow_factory() as uow:
        assert await uow.tickets.next_number() == (2 if gapless else 4)


async def test_a_ticket_round_trips_with_every_field(uow_factory: UnitOfWorkFactory) -> None:
    async with uow_factory() as uow:
        customer_id = await add_customer(uow)
        ticket = new_ticket(
            7,
            customer_id,
            source=Source("discord", "G1", "C-help", "th-9", is_dm=False),
            priority=Priority.HIGH,
            status=Status.WAITING,
            assignee=BOB,
            team="billing",
            escalation_level=2,
            first_response_at=AT + timedelta(minutes=3),
            closed_at=AT + timedelta(hours=2),
            resolution="refunded",
            staff_channel="CSTAFF",
            staff_thread="1700.0001",
            card_message_id="1700.0001",
            sla_breached_at=AT + timedelta(hours=1),
            earlier_tickets=3,  # as the card said when it opened
            similar=(
                SimilarTicket(2, "Refund twice", "refunded", "CSTAFF", "1600.0001"),
                SimilarTicket(5, "二重請求", "deflected"),
            ),
        )
        await uow.tickets.add(ticket)
        assert ticket.id is not None
        assert ticket.version == 1
        in_same_unit = await uow.tickets.by_id(ticket.id)
        await uow.commit()
    async with uow_factory() as uow:
        loaded = await uow.tickets.by_id(ticket.id)
    assert loaded == ticket
    assert in_same_unit == ticket
    assert loaded is not None
    assert loaded is not ticket
    times = [
        loaded.created_at,
        loaded.updated_at,
        loaded.first_response_at,
        loaded.closed_at,
        loaded.sla_breached_at,
    ]
    assert all(in_utc(at) for at in times), times


async def test_a_ticket_never_updated_reads_back_updated_when_created(
    uow_factory: UnitOfWorkFactory,
) -> None:
    async with uow_factory() as uow:
        ticket = await add_ticket(uow, 1, await add_customer(uow), updated_at=None)
        assert ticket.id is not None
        loaded = await uow.tickets.by_id(ticket.id)
    assert loaded is not None
    assert loaded.updated_at == AT
    assert loaded.assignee is None
    assert loaded.first_response_at is None


async def test_a_ticket_not_committed_is_seen_by_no_one_else(
    uow_factory: UnitOfWorkFactory,
) -> None:
    async with uow_factory() as uow:
        await add_ticket(uow, 1, await add_customer(uow))
        assert await uow.tickets.by_number(1) is not None
    async with uow_factory() as uow:
        assert await uow.tickets.by_number(1) is None
        assert await uow.customers.find("slack", "U1") is None


async def test_tickets_are_found_by_number_id_and_ids(uow_factory: UnitOfWorkFactory) -> None:
    async with uow_factory() as uow:
        customer_id = await add_customer(uow)
        first = await add_ticket(uow, 1, customer_id, subject="first")
        second = await add_ticket(uow, 2, customer_id, subject="second")
        await uow.commit()
    assert first.id is not None
    assert second.id is not None
    assert first.id != second.id
    async with uow_factory() as uow:
        by_number = await uow.tickets.by_number(2)
        by_id = await uow.tickets.by_id(first.id)
        assert await uow.tickets.by_number(3) is None
        assert await uow.tickets.by_id(first.id + second.id + 1000) is None
        found = await uow.tickets.by_ids([second.id, first.id, second.id, 99_999])
        assert await uow.tickets.by_ids([]) == {}
    assert by_number is not None
    assert by_number.subject == "second"
    assert by_id is not None
    assert by_id.subject == "first"
    assert {i: t.subject for i, t in found.items()} == {first.id: "first", second.id: "second"}


async def test_a_help_thread_finds_its_newest_ticket_in_any_status(
    uow_factory: UnitOfWorkFactory,
) -> None:
    thread = Source("slack", "T1", "C-help", "1700.1", is_dm=False)
    async with uow_factory() as uow:
        customer_id = await add_customer(uow)
        await add_ticket(uow, 1, customer_id, source=thread, status=Status.CLOSED)
        await add_ticket(uow, 2, customer_id, source=thread, status=Status.CLOSED)
        await add_ticket(uow, 3, customer_id, source=dataclasses.replace(thread, thread="1700.2"))
        await uow.commit()
    async with uow_factory() as uow:
        found = await uow.tickets.by_source_thread(thread)
        # the key is platform, channel and thread; the workspace and is_dm are not in it
        other_workspace = await uow.tickets.by_source_thread(
            Source("slack", "T-other", "C-help", "1700.1", is_dm=True)
        )
        assert await uow.tickets.by_source_thread(dataclasses.replace(thread, thread="")) is None
        assert (
            await uow.tickets.by_source_thread(dataclasses.replace(thread, platform="discord"))
            is None
        )
        assert (
            await uow.tickets.by_source_thread(Source("slack", "T1", "C-other", "1700.1")) is None
        )
    assert found is not None
    assert found.number == 2
    assert other_workspace is not None
    assert other_workspace.number == 2


async def test_a_staff_thread_finds_its_ticket_on_its_platform(
    uow_factory: UnitOfWorkFactory,
) -> None:
    async with uow_factory() as uow:
        ticket = await add_ticket(uow, 1, await add_customer(uow))
        assert ticket.id is not None
        await uow.tickets.set_staff_refs(ticket.id, "CSTAFF", "1700.5", "1700.5")
        await uow.commit()
    async with uow_factory() as uow:
        found = await uow.tickets.by_staff_thread("slack", "1700.5")
        assert await uow.tickets.by_staff_thread("discord", "1700.5") is None
        assert await uow.tickets.by_staff_thread("slack", "1700.6") is None
        unplaced = await add_ticket(uow, 2, await add_customer(uow, "U2"))
        assert unplaced.staff_thread == ""  # its card is not posted yet
        assert await uow.tickets.by_staff_thread("slack", "") is None
    assert found is not None
    assert found.number == 1


async def test_a_customers_open_ticket_is_the_newest_not_closed_in_that_conversation(
    uow_factory: UnitOfWorkFactory,
) -> None:
    dm = Source("slack", "T1", "D1")
    async with uow_factory() as uow:
        alice, other = await add_customer(uow, "UA"), await add_customer(uow, "UO")
        await add_ticket(uow, 1, alice, source=dm, status=Status.WAITING)
        await add_ticket(uow, 2, alice, source=dm, status=Status.REOPENED)
        await add_ticket(uow, 3, alice, source=dm, status=Status.CLOSED)
        await add_ticket(uow, 4, other, source=dm)
        await add_ticket(uow, 5, alice, source=Source("slack", "T1", "D2"))
        await uow.commit()
    async with uow_factory() as uow:
        found = await uow.tickets.open_for_customer(alice, dm)
        in_other_dm = await uow.tickets.open_for_customer(alice, Source("slack", "T1", "D2"))
        assert await uow.tickets.open_for_customer(alice, Source("slack", "T1", "D3")) is None
        assert found is not None
        assert found.number == 2
        assert in_other_dm is not None
        assert in_other_dm.number == 5
        found.close("done", AT)
        await uow.tickets.save(found)
        then = await uow.tickets.open_for_customer(alice, dm)
        assert then is not None
        assert then.number == 1
        assert await uow.tickets.open_for_customer(other + alice + 1000, dm) is None


async def test_a_customers_latest_ticket_is_the_newest_in_any_status_in_that_conversation(
    uow_factory: UnitOfWorkFactory,
) -> None:
    dm = Source("slack", "T1", "D1")
    async with uow_factory() as uow:
        alice, other = await add_customer(uow, "UA"), await add_customer(uow, "UO")
        await add_ticket(uow, 1, alice, source=dm, status=Status.WAITING)
        await add_ticket(uow, 2, alice, source=dm, status=Status.CLOSED)
        await add_ticket(uow, 3, other, source=dm)
        await add_ticket(uow, 4, alice, source=Source("slack", "T1", "D2"))
        await uow.commit()
    async with uow_factory() as uow:
        latest = await uow.tickets.latest_for_customer(alice, dm)
        assert latest is not None
        assert latest.number == 2  # closed, and the newest
        assert await uow.tickets.latest_for_customer(alice, Source("slack", "T1", "D3")) is None
        assert await uow.tickets.latest_for_customer(other + alice + 1000, dm) is None


async def test_lists_filter_by_customer_and_by_when_a_ticket_opened(
    uow_factory: UnitOfWorkFactory,
) -> None:
    async with uow_factory() as uow:
        alice, bea = await add_customer(uow, "UA"), await add_customer(uow, "UB")
        for number, customer_id, hours_ago in [(1, alice, 30), (2, bea, 20), (3, alice, 2)]:
            created = AT - timedelta(hours=hours_ago)
            await add_ticket(uow, number, customer_id, created_at=created, updated_at=created)
        await uow.commit()
    async with uow_factory() as uow:

        async def numbers(**filters: Any) -> list[int]:
            return [t.number for t in await uow.tickets.list(["open"], **filters)]

        assert await numbers(customer_id=alice) == [1, 3]
        assert await numbers(created_since=AT - timedelta(hours=20)) == [2, 3]  # at or after
        assert await numbers(customer_id=alice, created_since=AT - timedelta(hours=20)) == [3]
        assert await numbers(customer_id=alice + bea + 1000) == []


async def test_lists_filter_by_status_and_assignee_in_number_order(
    uow_factory: UnitOfWorkFactory,
) -> None:
    async with uow_factory() as uow:
        customer_id = await add_customer(uow)
        for number, status, assignee in [
            (4, Status.CLAIMED, BOB),
            (2, Status.OPEN, None),
            (5, Status.CLOSED, BOB),
            (1, Status.WAITING, CAROL),
            (3, Status.OPEN, None),
            (6, Status.WAITING, BOB),
        ]:
            await add_ticket(uow, number, customer_id, status=status, assignee=assignee)
        await uow.commit()

    live = ("open", "claimed", "waiting")
    async with uow_factory() as uow:

        async def numbers(
            *statuses: str,
            assignee_ref: str | None = None,
            unassigned: bool = False,
            limit: int = 50,
        ) -> list[int]:
            found = await uow.tickets.list(list(statuses), assignee_ref, unassigned, limit)
            return [t.number for t in found]

        assert await numbers(*live) == [1, 2, 3, 4, 6]
        assert await numbers(Status.OPEN) == [2, 3]
        assert await numbers("closed") == [5]
        assert await numbers() == []
        assert await numbers(*live, assignee_ref=BOB.ref) == [4, 6]
        assert await numbers(*live, assignee_ref="slack:nobody") == []
        assert await numbers(*live, unassigned=True) == [2, 3]
        # an assignee asked for wins over `unassigned`
        assert await numbers(*live, assignee_ref=CAROL.ref, unassigned=True) == [1]
        assert await numbers(*live, limit=2) == [1, 2]
        assert await numbers(*live, assignee_ref=BOB.ref, limit=1) == [4]
        assert await numbers(*live, limit=0) == []
        newest = await uow.tickets.list(list(live), limit=2, newest_first=True)
        assert [t.number for t in newest] == [6, 4]
        [ticket] = await uow.tickets.list(["waiting"], assignee_ref=CAROL.ref)
    assert ticket.assignee == CAROL
    assert ticket.id is not None


async def test_earlier_tickets_of_a_customer_are_counted_by_id(
    uow_factory: UnitOfWorkFactory,
) -> None:
    async with uow_factory() as uow:
        alice, other = await add_customer(uow, "UA"), await add_customer(uow, "UO")
        tickets = [await add_ticket(uow, n, alice) for n in (1, 2, 3)]
        await add_ticket(uow, 4, other)
        ids = [t.id or 0 for t in tickets]
        assert [await uow.tickets.count_for_customer(alice, i) for i in ids] == [0, 1, 2]
        assert await uow.tickets.count_for_customer(alice, max(ids) + 1000) == 3
        assert await uow.tickets.count_for_customer(other, min(ids)) == 0


async def test_tags_are_kept_and_tickets_are_listed_by_one(uow_factory: UnitOfWorkFactory) -> None:
    statuses = [s.value for s in Status]
    async with uow_factory() as uow:
        customer_id = await add_customer(uow)
        await add_ticket(uow, 1, customer_id, tags=("billing", "vip"))
        await add_ticket(uow, 2, customer_id, tags=("billing-eu",))
        await add_ticket(uow, 3, customer_id, tags=("a_b",))
        await add_ticket(uow, 4, customer_id, tags=("axb", "請求"))
        await add_ticket(uow, 5, customer_id)
        await uow.commit()
    async with uow_factory() as uow:
        one = await uow.tickets.by_number(1)
        assert one is not None
        assert one.tags == ("billing", "vip")
        listed = {
            tag: [t.number for t in await uow.tickets.list(statuses, tag=tag)]
            for tag in ("billing", "vip", "a_b", "請求", "bill")
        }
        assert listed == {"billing": [1], "vip": [1], "a_b": [3], "請求": [4], "bill": []}
        one.tags = ("vip",)
        await uow.tickets.save(one)
        assert [t.number for t in await uow.tickets.list(statuses, tag="billing")] == []


async def test_a_tickets_category_and_answers_read_back(uow_factory: UnitOfWorkFactory) -> None:
    answers = (("請求書番号は？", "INV-42"), ("Amount?", '¥3,000 "twice"'))
    async with uow_factory() as uow:
        customer_id = await add_customer(uow)
        await add_ticket(uow, 1, customer_id, category="billing", answers=answers)
        await add_ticket(uow, 2, customer_id)
        await uow.commit()
    async with uow_factory() as uow:
        one, two = await uow.tickets.by_number(1), await uow.tickets.by_number(2)
    assert one is not None
    assert two is not None
    assert (one.category, one.answers) == ("billing", answers)
    assert (two.category, two.answers) == ("general", ())
