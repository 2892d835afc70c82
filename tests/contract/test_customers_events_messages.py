"""CustomerRepository, EventRepository and MessageRepository: what is kept, and how it reads
back."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest
from sqlalchemy.exc import IntegrityError

from bot import events as ev
from bot.kinds import EventKind
from bot.model import Attachment, Customer, Direction, Person, TicketEvent, TicketMessage
from bot.ports import UnitOfWork, UnitOfWorkFactory
from tests.contract.conftest import AT, BOB, CAROL, add_customer, add_ticket, in_utc


async def test_a_customer_is_found_by_platform_and_user_id(
    uow_factory: UnitOfWorkFactory,
) -> None:
    async with uow_factory() as uow:
        slack = Customer(None, "Ayumi", "ja", "Asia/Tokyo")
        await uow.customers.add(slack, "slack", "U1")
        discord = Customer(None, "Ayumi on Discord", "en")
        await uow.customers.add(discord, "discord", "U1")
        await uow.commit()
    assert slack.id is not None
    assert discord.id is not None
    assert slack.id != discord.id
    async with uow_factory() as uow:
        found = await uow.customers.find("slack", "U1")
        assert found == Customer(slack.id, "Ayumi", "ja", "Asia/Tokyo")
        assert await uow.customers.find("discord", "U1") == discord
        assert await uow.customers.find("slack", "U2") is None
        assert await uow.customers.find("teams", "U1") is None


async def test_a_customer_update_changes_name_locale_and_time_zone(
    uow_factory: UnitOfWorkFactory,
) -> None:
    async with uow_factory() as uow:
        customer_id = await add_customer(uow)
        await uow.commit()
    async with uow_factory() as uow:
        assert await uow.customers.find("slack", "U1") == Customer(customer_id, "Ayumi", "ja")
        await uow.customers.update(Customer(customer_id, "Ayumi S.", "en", "Europe/Paris"))
        await uow.commit()
    async with uow_factory() as uow:
        found = await uow.customers.find("slack", "U1")
        assert found == Customer(customer_id, "Ayumi S.", "en", "Europe/Paris")


async def test_a_long_display_name_is_kept_to_200_characters(
    uow_factory: UnitOfWorkFactory,
) -> None:
    long = "あ" * 150 + "b" * 100
    async with uow_factory() as uow:
        customer = Customer(None, long, "ja")
        await uow.customers.add(customer, "slack", "U1")
        assert customer.display_name == long  # the caller's object is not changed
        found = await uow.customers.find("slack", "U1")
        assert found is not None
        assert found.display_name == long[:200]
        await uow.customers.update(Customer(customer.id, "c" * 300, "ja"))
        found = await uow.customers.find("slack", "U1")
        assert found is not None
        assert found.display_name == "c" * 200


async def test_one_platform_identity_is_one_customer(uow_factory: UnitOfWorkFactory) -> None:
    async with uow_factory() as uow:
        await add_customer(uow, "U1")
        with pytest.raises(IntegrityError):
            await add_customer(uow, "U1", name="Someone else")


def _event(
    ticket_id: int, what: ev.Payload | ev.BareKind, actor: Person, minutes: int
) -> TicketEvent:
    return TicketEvent.of(ticket_id, what, actor, AT + timedelta(minutes=minutes))


async def test_events_read_back_in_the_order_written_for_their_ticket_only(
    uow_factory: UnitOfWorkFactory,
) -> None:
    async with uow_factory() as uow:
        customer_id = await add_customer(uow)
        one = await add_ticket(uow, 1, customer_id)
        two = await add_ticket(uow, 2, customer_id)
        assert one.id is not None
        assert two.id is not None
        written = [
            _event(one.id, ev.Opened("high", "refund"), BOB, 0),
            _event(two.id, EventKind.CLAIMED, CAROL, 1),
            _event(one.id, ev.Closed("done", 60), BOB, -5),
            _event(one.id, EventKind.NOTE, CAROL, 2),
        ]
        for event in written:
            await uow.events.add(event)
        await uow.commit()
    async with uow_factory() as uow:
        found = await uow.events.for_ticket(one.id)
        other = await uow.events.for_ticket(two.id)
        assert await uow.events.for_ticket(one.id + two.id + 1000) == []
    # written order, not time order; each read back with the id it was stored under
    assert [replace(e, id=None) for e in found] == [written[0], written[2], written[3]]
    assert [replace(e, id=None) for e in other] == [written[1]]
    ids = [e.id for e in found + other]
    assert None not in ids
    assert len(set(ids)) == 4
    assert [e.id for e in found] == sorted(e.id for e in found if e.id is not None)
    assert all(type(e.kind) is EventKind and in_utc(e.at) for e in found)


async def test_an_event_reads_back_as_stored_not_as_given(uow_factory: UnitOfWorkFactory) -> None:
    async with uow_factory() as uow:
        ticket = await add_ticket(uow, 1, await add_customer(uow))
        assert ticket.id is not None
        data = {"ids": (1, 2), "nested": {"a": [1, {"b": None}]}, "text": "lone \ud800"}
        event = TicketEvent(ticket.id, EventKind.NOTE, Person("slack", "U:9", ""), AT, data)
        await uow.events.add(event)
        event.data["later"] = True  # the caller's object is the caller's
        [found] = await uow.events.for_ticket(ticket.id)
        # a JSON document: tuples come back as lists, unstorable text replaced
        assert found.data == {"ids": [1, 2], "nested": {"a": [1, {"b": None}]}, "text": "lone �"}
        assert found.actor == Person("slack", "U:9", "U:9")  # no name: the user id
        assert found.at == AT
        assert in_utc(found.at)
        assert found.id is not None
        found.data["changed"] = 1  # so is what was read
        [again] = await uow.events.for_ticket(ticket.id)
        assert "changed" not in again.data
        assert "later" not in again.data


async def test_an_unknown_event_kind_reads_back_as_itself(uow_factory: UnitOfWorkFactory) -> None:
    async with uow_factory() as uow:
        ticket = await add_ticket(uow, 1, await add_customer(uow))
        assert ticket.id is not None
        await uow.events.add(TicketEvent(ticket.id, EventKind("from_the_future"), BOB, AT))
        [found] = await uow.events.for_ticket(ticket.id)
    assert found.kind == "from_the_future"
    assert found.kind not in list(EventKind)


async def _kept(uow: UnitOfWork, row: TicketEvent | TicketMessage) -> None:
    # PostgreSQL writes the row with the unit's next statement: the commit, here
    if isinstance(row, TicketEvent):
        await uow.events.add(row)
    else:
        await uow.messages.add(row)
    await uow.commit()


async def test_an_event_needs_its_ticket(uow_factory: UnitOfWorkFactory) -> None:
    async with uow_factory() as uow:
        with pytest.raises(IntegrityError):
            await _kept(uow, TicketEvent(99_999, EventKind.NOTE, BOB, AT))


async def test_messages_read_back_with_their_attachments_in_the_order_written(
    uow_factory: UnitOfWorkFactory,
) -> None:
    shot = Attachment("screenshot.png", "https://files.example/1")
    async with uow_factory() as uow:
        customer_id = await add_customer(uow)
        one = await add_ticket(uow, 1, customer_id)
        two = await add_ticket(uow, 2, customer_id)
        assert one.id is not None
        assert two.id is not None
        customer = Person("slack", "U1", "Ayumi")
        written = [
            TicketMessage(one.id, Direction.INBOUND, customer, "help\n?", AT, [shot]),
            TicketMessage(two.id, Direction.INBOUND, customer, "other", AT),
            TicketMessage(one.id, Direction.NOTE, BOB, "checking", AT - timedelta(hours=1)),
            TicketMessage(one.id, Direction.OUTBOUND, BOB, "fixed", AT + timedelta(minutes=9)),
        ]
        for message in written:
            await uow.messages.add(message)
        await uow.commit()
    async with uow_factory() as uow:
        found = await uow.messages.for_ticket(one.id)
        assert await uow.messages.for_ticket(one.id + two.id + 1000) == []
        [other] = await uow.messages.for_ticket(two.id)
    assert other.body == "other"
    # in the order written, each with the id it was stored under
    assert [m.body for m in found] == ["help\n?", "checking", "fixed"]
    ids = [m.id for m in [*found, other]]
    assert None not in ids
    assert len(set(ids)) == 4
    assert [m.id for m in found] == sorted(m.id for m in found if m.id is not None)
    assert replace(found[0], id=None) == written[0]
    assert found[0].attachments == [shot]
    assert [m.direction for m in found] == [Direction.INBOUND, Direction.NOTE, Direction.OUTBOUND]
    assert all(type(m.direction) is Direction and in_utc(m.at) for m in found)
    assert found[1].author == BOB
    assert found[2].at == AT + timedelta(minutes=9)


async def test_a_message_read_is_a_copy(uow_factory: UnitOfWorkFactory) -> None:
    async with uow_factory() as uow:
        ticket = await add_ticket(uow, 1, await add_customer(uow))
        assert ticket.id is not None
        message = TicketMessage(ticket.id, Direction.INBOUND, BOB, "hi", AT, [])
        await uow.messages.add(message)
        message.attachments.append(Attachment("late.png", "https://files.example/2"))
        [found] = await uow.messages.for_ticket(ticket.id)
        assert found.attachments == []
        found.body = "changed"
        [again] = await uow.messages.for_ticket(ticket.id)
    assert again.body == "hi"


async def test_a_message_needs_its_ticket(uow_factory: UnitOfWorkFactory) -> None:
    async with uow_factory() as uow:
        with pytest.raises(IntegrityError):
            await _kept(uow, TicketMessage(99_999, Direction.NOTE, BOB, "x", AT))
