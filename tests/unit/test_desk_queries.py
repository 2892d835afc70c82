"""What staff read: /ticket show (card, conversation, history), lists, help, and the
ticket behind a thread."""

from __future__ import annotations

from bot import commands as c
from tests.unit.conftest import World, staff


async def test_show_prints_the_audit_trail_and_list_filters(world: World) -> None:
    await world.customer_says("one")
    await world.customer_says("two", name="dave")
    await world.staff_says("/ticket claim #1")
    await world.staff_says("/ticket priority #2 urgent", name="carol")
    shown = await world.staff_says("/ticket show #1")
    # every line of the history is a sentence, not an event's raw name and fields
    assert "· Alice opened the ticket with priority Normal.\n" in shown.text
    assert shown.text.endswith("· bob claimed the ticket.")
    assert "**Conversation (1 message)**\n• 2026-01-05 09:00 UTC · Alice: one\n" in shown.text
    mine = await world.staff_says("/ticket list mine")
    assert mine.listed == [1]
    assert mine.text.startswith("**Your open tickets (1)**")
    assert "(bob, less than a minute old)" in mine.text
    unclaimed = await world.staff_says("/ticket list unclaimed")
    assert unclaimed.listed == [2]
    assert unclaimed.text.startswith("**Unclaimed tickets (1)**")
    assert (await world.staff_says("/ticket list")).listed == [1, 2]
    nothing = await world.staff_says("/ticket list mine", "erin")
    assert nothing.text == "You have no open tickets."
    same = await world.staff_says("/ticket priority #2 urgent")
    assert not same.ok
    assert "already has priority urgent" in same.text


async def test_show_prints_the_conversation_the_terminal_all_of_it(world: World) -> None:
    await world.customer_says("message 0")
    await world.desk.handle(c.RelayAgentMessage(1, "// VIP, be quick"), staff())
    await world.desk.handle(c.RelayAgentMessage(1, "On it"), staff())
    for n in range(1, 11):
        await world.customer_says(f"message {n}")
    in_chat = (await world.staff_says("/ticket show #1")).text
    assert "**Conversation (13 messages)**" in in_chat
    assert "… 3 earlier messages: `supportbot tickets show 1` prints them all." in in_chat
    assert "· Alice: message 10\n" in in_chat
    assert "· Alice: message 0\n" not in in_chat
    whole = (await world.desk.handle(c.ShowTicket(1, whole=True), staff())).text
    assert "earlier message" not in whole
    assert "· Alice: message 0\n" in whole
    assert "· bob (internal note): VIP, be quick\n" in whole
    assert "· bob to the customer: On it\n" in whole
    assert whole.index("Alice: message 0") < whole.index("On it") < whole.index("message 10")


async def test_help_lists_every_command(world: World) -> None:
    reply = await world.staff_says("/ticket help")
    for verb in (
        "claim",
        "assign",
        "escalate",
        "close",
        "reopen",
        "note",
        "priority",
        "followup",
        "list",
        "show",
    ):
        assert f"/ticket {verb}" in reply.text


async def test_adapters_find_the_ticket_behind_a_staff_thread(world: World) -> None:
    await world.customer_says("hello")
    assert await world.desk.ticket_in_thread("test", "th1") is None  # card not delivered yet
    await world.sender.drain()
    ticket = next(iter(world.store.tickets.values()))
    assert await world.desk.ticket_in_thread("test", f"th{ticket.id}") == 1
    assert await world.desk.ticket_in_thread("other", f"th{ticket.id}") is None


async def test_an_unknown_subcommand_suggests_the_closest_one(world: World) -> None:
    typo = await world.staff_says("/ticket lsit")
    assert typo.text == "I don't know `lsit`. Did you mean `/ticket list`?"
    nonsense = await world.staff_says("/ticket zzz")
    assert nonsense.text == "I don't know `zzz`. Try `/ticket help` to see every command."


async def test_lists_of_closed_and_all_tickets_and_of_one_customer(world: World) -> None:
    await world.customer_says("one")
    await world.customer_says("two", name="dave")
    await world.staff_says("/ticket close #1")
    await world.staff_says("/ticket close #2")
    closed = await world.staff_says("/ticket list closed")
    assert closed.listed == [2, 1]  # the newest first
    assert closed.text.startswith("**Closed tickets (2)**")
    assert "Only the first" not in closed.text
    newest = await world.desk.handle(c.ListTickets("all", limit=1), staff())
    assert newest.listed == [2]
    assert newest.text.endswith(
        "Only the first 1 is shown; `supportbot tickets list --limit` shows more."
    )
    assert (await world.staff_says("/ticket list all")).listed == [2, 1]
    daves = await world.desk.handle(c.ListTickets("all", customer="test:U-dave"), staff())
    assert daves.listed == [2]
    unknown = await world.desk.handle(c.ListTickets("all", customer="test:zed"), staff())
    assert not unknown.ok
    assert unknown.text.startswith("There is no customer test:zed.")
