"""Tags: added and removed by staff, shown on the card and in the history, listed by tag."""

from __future__ import annotations

from datetime import timedelta

import pytest

from bot import commands as c
from bot.parser import UsageError, parse
from tests.unit.conftest import World, staff


async def test_tags_are_added_shown_on_the_card_and_removed(world: World) -> None:
    await world.customer_says("I was charged twice")
    await world.sender.drain()
    tagged = await world.staff_says("/ticket tag #Billing refund ＶＩＰ", in_ticket=1)
    assert tagged.text == "Ticket #1 is tagged #billing #refund #vip."
    await world.sender.drain()
    [card] = [m for m in world.out.delivered if m.kind == "card_update"]
    assert "Tags: #billing #refund #vip" in card.body
    assert card.data["tags"] == ["billing", "refund", "vip"]
    again = await world.staff_says("/ticket tag billing", in_ticket=1)
    assert not again.ok
    assert again.text == "Ticket #1 is already tagged #billing."
    untagged = await world.staff_says("/ticket untag #1 refund", in_ticket=None)
    assert untagged.text == "Ticket #1 is now tagged #billing #vip."
    shown = await world.staff_says("/ticket show #1")
    assert "bob tagged the ticket #billing #refund #vip." in shown.text
    assert "bob removed the tag #refund." in shown.text
    missing = await world.staff_says("/ticket untag #1 refund")
    assert missing.text == "Ticket #1 is not tagged #refund, so there is nothing to remove."


async def test_tickets_are_listed_by_tag(world: World) -> None:
    for name in ("alice", "ben", "chika"):
        await world.customer_says("Help", name=name)
    await world.staff_says("/ticket tag #1 billing")
    await world.staff_says("/ticket tag #3 billing vip")
    await world.staff_says("/ticket tag #2 billing-eu")  # a longer tag is another tag
    listed = await world.desk.handle(c.ListTickets("all", tag="billing"), staff())
    assert listed.listed == [3, 1]


async def test_a_ticket_holds_at_most_ten_tags(world: World) -> None:
    await world.customer_says("Help")
    words = " ".join(f"t{i}" for i in range(10))
    assert (await world.staff_says(f"/ticket tag #1 {words}")).ok
    refused = await world.staff_says("/ticket tag #1 eleventh")
    assert refused.text.startswith("Ticket #1 can hold at most 10 tags.")


def test_bad_tags_are_refused_saying_why() -> None:
    assert parse("/ticket tag #4 請求 billing_eu") == c.TagTicket(("請求", "billing_eu"), 4)
    with pytest.raises(UsageError) as too_long:
        parse("/ticket tag " + "x" * 51)
    assert too_long.value.key == "tag_too_long"
    with pytest.raises(UsageError) as bad:
        parse("/ticket tag <script>")
    assert bad.value.key == "tag_bad_characters"
    with pytest.raises(UsageError) as empty:
        parse("/ticket untag #3")
    assert empty.value.key == "missing_argument"


async def test_the_digest_counts_tickets_and_first_responses_per_tag(world: World) -> None:
    for name in ("alice", "ben", "chika"):
        await world.customer_says("Help", name=name)
    await world.staff_says("/ticket tag #1 billing")
    await world.staff_says("/ticket tag #2 billing vip")
    world.clock.advance(timedelta(minutes=20))
    await world.desk.handle(c.RelayAgentMessage(1, "On it"), staff())
    world.clock.advance(timedelta(minutes=20))
    await world.desk.handle(c.RelayAgentMessage(2, "On it"), staff())
    world.clock.advance(timedelta(minutes=1))
    digest = await world.desk.handle(c.ShowDigest(), staff(is_lead=True))
    tags = digest.text.split("**Tags**\n", 1)[1].split("\n\n", 1)[0].splitlines()
    assert tags == [
        "• #billing: 2 tickets, median first response 30 minutes",
        "• #vip: 1 ticket, median first response 40 minutes",
    ]
