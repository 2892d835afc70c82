"""The block list: a blocked customer's messages open no ticket and reach no one, they are
told once per block in their language, and staff see who is blocked, by whom, until when."""

from __future__ import annotations

from datetime import timedelta

import pytest

from bot import commands as c
from bot.model import Person
from bot.parser import UsageError, parse
from tests.unit.conftest import PLATFORM, World, customer, dm, staff

MALLORY = customer("mallory")


def _with_mention(name: str, person: Person, *, is_staff: bool = False) -> c.Caller:
    token = f"@{person.name}"
    return staff(
        name,
        mentions={token: person},
        mentioned_staff=frozenset({person.ref}) if is_staff else frozenset(),
    )


async def _block_mallory(world: World, text: str = "/ticket block @Mallory spam links") -> str:
    outcome = await world.desk.handle_text(text, _with_mention("bob", MALLORY))
    assert outcome.ok, outcome.text
    return outcome.text


async def test_a_blocked_customer_opens_nothing_and_is_told_once(world: World) -> None:
    reply = await _block_mallory(world)
    assert reply.startswith("Mallory is blocked until someone unblocks them (spam links).")
    await world.customer_says("buy cheap watches", name="mallory")
    sent = await world.delivered()
    assert len(sent) == 1
    assert "cannot take your messages here for now" in sent[0]
    [notice] = world.out.delivered
    assert notice.channel == "D-mallory"  # to her alone, where she wrote
    await world.customer_says("hello??", name="mallory")
    assert await world.delivered() == []  # told once per block, not per message
    assert world.store.tickets == {}
    assert world.store.messages == []


async def test_staff_see_who_is_blocked_by_whom_and_until_when(world: World) -> None:
    await _block_mallory(world, "/ticket block @Mallory 7d spam links")
    listed = await world.staff_says("/ticket blocked")
    assert listed.text.splitlines()[0] == "**Blocked customers (1)**"
    line = listed.text.splitlines()[1]
    assert line.startswith("• Mallory: blocked by bob on ")
    assert "until " in line
    assert line.endswith("(spam links)")
    await world.desk.handle_text("/ticket unblock @Mallory", _with_mention("bob", MALLORY))
    assert (await world.staff_says("/ticket blocked")).text == "Nobody is blocked."


async def test_a_block_runs_out_after_its_duration(world: World) -> None:
    reply = await _block_mallory(world, "/ticket block @Mallory 2h")
    assert "until " in reply
    await world.customer_says("still spamming", name="mallory")
    assert world.store.tickets == {}
    world.clock.advance(timedelta(hours=2))
    await world.customer_says("I need help with my order", name="mallory")
    assert len(world.store.tickets) == 1
    sent = await world.delivered()
    assert any("I need help with my order" in body for body in sent)


async def test_unblocking_lets_messages_open_tickets_again(world: World) -> None:
    await _block_mallory(world)
    lifted = await world.desk.handle_text("/ticket unblock @Mallory", _with_mention("bob", MALLORY))
    assert lifted.text == "Mallory is no longer blocked; their messages open tickets again."
    await world.customer_says("Sorry about before, my order is late", name="mallory")
    assert len(world.store.tickets) == 1
    again = await world.desk.handle_text("/ticket unblock @Mallory", _with_mention("bob", MALLORY))
    assert not again.ok
    assert again.text == "Mallory is not blocked, so there is nothing to lift."


async def test_a_block_from_the_ticket_thread_is_noted_there(world: World) -> None:
    await world.customer_says("You are all useless", name="mallory")
    await world.sender.drain()
    outcome = await world.staff_says("/ticket block 1d abusive", in_ticket=1)
    assert outcome.ok
    assert outcome.ticket_number == 1
    sent = await world.delivered()
    assert any(
        body.startswith("bob blocked this customer until ")
        and body.endswith(": abusive. Their messages open no ticket and reach no one.")
        for body in sent
    )
    await world.customer_says("answer me!", name="mallory")
    relayed = await world.delivered()
    assert not any("answer me!" in body for body in relayed)  # the thread does not hear it
    assert len(relayed) == 1  # only her one notice
    assert [m.body for m in world.store.messages] == ["You are all useless"]


async def test_a_block_made_longer_does_not_tell_the_customer_twice(world: World) -> None:
    await _block_mallory(world, "/ticket block @Mallory 1d")
    await world.customer_says("spam", name="mallory")
    assert len(await world.delivered()) == 1
    await _block_mallory(world, "/ticket block @Mallory 30d")
    await world.customer_says("more spam", name="mallory")
    assert await world.delivered() == []


async def test_the_notice_is_in_the_customers_language(world: World) -> None:
    await _block_mallory(world)
    await world.customer_says("こんにちは", name="mallory", locale="ja")
    [notice] = await world.delivered()
    assert notice.startswith("申し訳ありませんが、現在、こちらでのお問い合わせを")


async def test_staff_and_strangers_cannot_be_blocked(world: World) -> None:
    carol = Person(PLATFORM, "S-carol", "carol")
    refused = await world.desk.handle_text(
        "/ticket block @carol", _with_mention("bob", carol, is_staff=True)
    )
    assert not refused.ok
    assert refused.text == "carol is on the support staff, and staff cannot be blocked."
    unknown = await world.staff_says("/ticket block @nobody")
    assert not unknown.ok
    assert unknown.text.startswith('I don\'t know who "@nobody" is.')
    assert world.store.blocks == {}


async def test_a_blocked_customers_buttons_and_forms_change_nothing(world: World) -> None:
    await world.customer_says("Broken", name="mallory")
    await world.desk.handle(c.RelayAgentMessage(1, "Try again"), staff())
    await world.staff_says("/ticket close #1")
    await world.sender.drain()
    await _block_mallory(world)
    pressed = await world.desk.handle(c.RateTicket(1, None), c.Caller(MALLORY))
    assert not pressed.ok
    assert "cannot take your messages here" in pressed.text
    assert world.store.tickets[next(iter(world.store.tickets))].is_closed  # not reopened
    form = await world.desk.handle(
        c.OpenTicket(MALLORY, dm("mallory"), "Let me in"), c.Caller(MALLORY)
    )
    assert not form.ok
    assert len(world.store.tickets) == 1
    # staff may still open a ticket for a blocked customer on purpose
    by_staff = await world.desk.handle(
        c.OpenTicket(MALLORY, dm("mallory"), "Fraud report"), staff()
    )
    assert by_staff.ok
    assert len(world.store.tickets) == 2


def test_block_commands_parse() -> None:
    assert parse("/ticket block @mallory 7d spam links") == c.BlockCustomer(
        "@mallory", None, timedelta(days=7), "spam links"
    )
    assert parse("/ticket block #4 being rude") == c.BlockCustomer("", 4, None, "being rude")
    assert parse("/ticket block <@U123>") == c.BlockCustomer("<@U123>")
    assert parse("/ticket unblock <@U123>") == c.UnblockCustomer("<@U123>")
    assert parse("/ticket unblock #4") == c.UnblockCustomer("", 4)
    assert parse("/ticket blocked") == c.ListBlocked()
    for bad in ("/ticket block @m 7x spam", "/ticket block #4 @m", "/ticket unblock @m now"):
        with pytest.raises(UsageError, match=r"bad_duration|unexpected_argument"):
            parse(bad)


async def test_unblocking_a_stranger_knows_nobody_new(world: World) -> None:
    stranger = customer("trent")
    refused = await world.desk.handle_text("/ticket unblock @Trent", _with_mention("bob", stranger))
    assert not refused.ok
    assert refused.text == "Trent is not blocked, so there is nothing to lift."
    assert world.store.customers == {}
