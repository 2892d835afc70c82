"""The desk's use cases against in-memory fakes, as customers and agents would see them."""

from __future__ import annotations

from datetime import timedelta

from bot import commands as c
from bot.model import Direction, Person, Priority, Source, Status
from tests.unit.conftest import World, customer, staff


async def test_a_customer_message_opens_a_ticket_with_card_and_acknowledgement(
    world: World,
) -> None:
    reply = await world.customer_says("Refund please\nI was charged twice for March.")
    assert reply.ok
    assert reply.ticket_number == 1
    await world.sender.drain()
    kinds = [(m.audience.value, m.kind) for m in world.out.delivered]
    # the customer hears first: an acknowledgement never queues behind the staff channel
    assert kinds == [("customer", "ack"), ("staff", "card"), ("staff", "customer_message")]
    ack, card, relay = world.out.delivered
    assert "#1 Refund please" in card.body
    assert "Alice" in card.body
    assert "Priority: High" in card.body  # "refund" raised it
    assert [a.id for a in card.actions] == ["ticket:claim:1", "ticket:escalate:1", "ticket:close:1"]
    assert "Hi Alice" in ack.body
    assert "#1" in ack.body
    assert "within 1 hour" in ack.body
    assert ack.channel == "D-alice"
    assert relay.body.startswith("Refund please\nI was charged twice")
    assert relay.author_name == "Alice"


async def test_further_messages_continue_the_open_ticket(world: World) -> None:
    await world.customer_says("Printer broken")
    reply = await world.customer_says("It shows error 42")
    assert reply.ticket_number == 1
    await world.sender.drain()
    assert world.out.bodies("staff")[-1] == "It shows error 42"
    assert len(world.store.tickets) == 1


async def test_japanese_customer_is_acknowledged_in_japanese(world: World) -> None:
    await world.customer_says("至急: ログインできません", locale="ja-JP")
    await world.sender.drain()
    ack = next(m for m in world.out.delivered if m.kind == "ack")
    assert "お問い合わせありがとうございます" in ack.body
    assert "15分以内にご返信いたします" in ack.body
    await world.desk.handle(c.RelayAgentMessage(1, "確認します"), staff())
    await world.staff_says("/ticket close #1")
    await world.sender.drain()
    csat = next(m for m in world.out.delivered if m.kind == "csat")
    assert "ご満足" in csat.body
    assert csat.actions[-1].label == "まだ解決していません"
    ticket = world.store.tickets[next(iter(world.store.tickets))]
    assert ticket.locale == "ja"
    assert ticket.priority is Priority.URGENT


async def test_conversation_both_ways_moves_status(world: World) -> None:
    await world.customer_says("Where is my order?")
    world.clock.advance(timedelta(minutes=20))
    reply = await world.staff_says("/ticket claim", in_ticket=1)
    assert reply.ok
    assert "claimed" in reply.text
    sent = await world.desk.handle(
        c.RelayAgentMessage(1, "It ships tomorrow."), staff("bob", in_ticket=1)
    )
    assert sent.ok
    ticket = await _ticket(world, 1)
    assert ticket.status is Status.WAITING
    assert ticket.first_response_at == world.clock.now()
    await world.sender.drain()
    to_customer = [m for m in world.out.delivered if m.kind == "agent_reply"]
    assert to_customer[0].body == "It ships tomorrow."
    assert to_customer[0].author_name == "bob"
    await world.customer_says("Thanks!")
    assert (await _ticket(world, 1)).status is Status.CLAIMED
    kinds = [e.kind for e in world.store.events]
    assert kinds[:3] == ["opened", "claimed", "first_response"]
    first = next(e for e in world.store.events if e.kind == "first_response")
    assert first.data["seconds"] == 20 * 60


async def test_a_reply_to_an_unclaimed_ticket_claims_it(world: World) -> None:
    await world.customer_says("Hello?")
    await world.desk.handle(c.RelayAgentMessage(1, "Hi!"), staff("carol"))
    ticket = await _ticket(world, 1)
    assert ticket.assignee is not None
    assert ticket.assignee.name == "carol"


async def test_internal_notes_never_reach_the_customer(world: World) -> None:
    await world.customer_says("My password reset mail never arrives")
    await world.sender.drain()
    before = len(world.out.bodies("customer"))
    await world.desk.handle(
        c.RelayAgentMessage(1, "// mail server queue is stuck"), staff(in_ticket=1)
    )
    await world.desk.handle(c.RelayAgentMessage(1, "NOTE: check spam filter"), staff())
    reply = await world.staff_says("/ticket note #1 customer is on the legacy plan")
    assert reply.ok
    await world.sender.drain()
    assert len(world.out.bodies("customer")) == before
    notes = [m for m in world.out.delivered if m.kind == "note"]
    assert [n.body for n in notes] == [
        "mail server queue is stuck",
        "check spam filter",
        "customer is on the legacy plan",
    ]
    stored = [m for m in world.store.messages if m.direction is Direction.NOTE]
    assert len(stored) == 3
    assert (await _ticket(world, 1)).status is Status.OPEN  # a note is not a reply


async def test_claim_race_loser_is_told_who_holds_it(world: World) -> None:
    await world.customer_says("Help")
    assert (await world.staff_says("/ticket claim #1", "bob")).ok
    refused = await world.staff_says("/ticket claim #1", "carol")
    assert not refused.ok
    assert "held by bob" in refused.text
    assert "/ticket assign" in refused.text
    again = await world.staff_says("/ticket claim #1", "bob")
    assert not again.ok
    assert "already hold" in again.text


async def test_assign_hands_the_ticket_to_the_mentioned_agent(world: World) -> None:
    await world.customer_says("Help")
    carol = Person("test", "S-carol", "carol")
    mallory = Person("test", "C-mallory", "mallory")
    not_staff = await world.staff_says("/ticket assign #1 @mallory", mentions={"@mallory": mallory})
    assert not not_staff.ok
    assert not_staff.text == (
        "mallory is not on the support staff, so ticket #1 stays as it is. "
        "Assign it to a member of the staff."
    )
    assert (await _ticket(world, 1)).assignee is None
    reply = await world.staff_says(
        "/ticket assign #1 @carol",
        mentions={"@carol": carol},
        mentioned_staff=frozenset({carol.ref}),
    )
    assert reply.ok
    assert (await _ticket(world, 1)).assignee == carol
    unknown = await world.staff_says("/ticket assign #1 @nobody")
    assert not unknown.ok
    assert "@nobody" in unknown.text


async def test_escalation_goes_to_a_configured_team(world: World) -> None:
    await world.customer_says("API returns 500")
    await world.staff_says("/ticket claim #1")
    bad = await world.staff_says("/ticket escalate #1 marketing")
    assert not bad.ok
    assert "tier2, billing, engineering" in bad.text
    ok = await world.staff_says("/ticket escalate #1 engineering stack trace attached")
    assert ok.ok
    ticket = await _ticket(world, 1)
    assert (ticket.status, ticket.team, ticket.escalation_level, ticket.assignee) == (
        Status.ESCALATED,
        "engineering",
        1,
        None,
    )
    event = next(e for e in world.store.events if e.kind == "escalated")
    assert event.actor.name == "bob"
    assert event.data["reason"] == "stack trace attached"
    assert event.data["previous_assignee"] == "bob"
    await world.staff_says("/ticket escalate #1 tier2")
    assert (await _ticket(world, 1)).escalation_level == 2


async def test_close_farewell_rating_and_reopen(world: World) -> None:
    await world.customer_says("Broken")
    await world.desk.handle(c.RelayAgentMessage(1, "On it"), staff())
    world.clock.advance(timedelta(hours=3))
    closed = await world.staff_says("/ticket close #1 replaced the part")
    assert closed.ok
    assert "The customer was asked for a rating." in closed.text
    await world.sender.drain()
    farewell, csat = [m for m in world.out.delivered if m.kind in ("farewell", "csat")]
    assert "replaced the part" in farewell.body
    assert "anything else" in farewell.body
    assert [(a.id, a.label) for a in csat.actions][-1] == ("csat:help:1", "I still need help")
    event = next(e for e in world.store.events if e.kind == "closed")
    assert event.data["resolution_seconds"] == 3 * 3600
    again = await world.staff_says("/ticket close #1")
    assert not again.ok
    assert "already closed" in again.text
    assert "reopen" in again.text

    alice = customer()
    rated = await world.desk.handle(c.RateTicket(1, 4), c.Caller(alice))
    assert rated.ok
    await world.sender.drain()
    assert "rated this ticket 4/5" in world.out.bodies("staff")[-1]
    stranger = await world.desk.handle(c.RateTicket(1, 1), c.Caller(customer("mallory")))
    assert not stranger.ok
    assert stranger.text.startswith("That button belongs to a ticket that is not yours")
    assert "/ticket" not in stranger.text  # never a staff command to a customer

    await world.desk.handle(c.RateTicket(1, None), c.Caller(alice))
    assert (await _ticket(world, 1)).status is Status.REOPENED
    await world.sender.drain()
    assert world.out.bodies("staff")[-2] == (  # before the card's update
        "The customer says they still need help. "
        "The ticket is open again, and its after-care follow-up is cancelled."
    )
    not_closed = await world.staff_says("/ticket reopen #1")
    assert not not_closed.ok
    assert "not closed" in not_closed.text


async def test_no_rating_is_asked_for_support_nobody_gave(world: World) -> None:
    await world.customer_says("Never mind, found it")
    closed = await world.staff_says("/ticket close #1 solved by the customer")
    assert closed.text == (
        "Ticket #1 closed. No rating was asked for, since nobody had answered the customer. "
        "Follow-up in 3 days."
    )
    await world.sender.drain()
    assert [m.kind for m in world.out.delivered if m.audience.value == "customer"] == [
        "ack",
        "farewell",
    ]


async def test_a_reopen_says_its_follow_up_is_cancelled(world: World) -> None:
    await world.customer_says("Broken")
    await world.staff_says("/ticket close #1")
    reopened = await world.staff_says("/ticket reopen #1 not fixed after all")
    assert reopened.text == "Ticket #1 reopened. Its after-care follow-up is cancelled."
    await world.sender.drain()
    notice = world.out.bodies("staff")[-2]  # the card's update comes last
    assert notice.endswith("not fixed after all. Its after-care follow-up is cancelled.")


async def test_a_reply_to_a_closed_ticket_is_kept_but_not_sent(world: World) -> None:
    await world.customer_says("Broken")
    await world.staff_says("/ticket close #1")
    await world.sender.drain()
    sent_before = len(world.out.bodies("customer"))
    reply = await world.desk.handle(c.RelayAgentMessage(1, "One more thing"), staff())
    assert not reply.ok
    assert "was not sent" in reply.text
    await world.sender.drain()
    assert len(world.out.bodies("customer")) == sent_before
    assert world.store.messages[-1].body == "One more thing"


async def test_a_returning_customer_gets_a_new_ticket_linked_to_earlier_ones(world: World) -> None:
    await world.customer_says("First problem")
    await world.staff_says("/ticket close #1")
    reply = await world.customer_says("Second problem")
    assert reply.ticket_number == 2
    await world.sender.drain()
    card = next(m for m in world.out.delivered if m.kind == "card" and m.ticket_number == 2)
    assert "1 earlier ticket" in card.body
    assert card.data["earlier_tickets"] == 1


async def test_help_thread_of_a_closed_ticket_reopens_it(world: World) -> None:
    thread = Source("test", "W1", "C-help", "1700000000.0001", is_dm=False)
    await world.customer_says("VPN fails", source=thread)
    await world.staff_says("/ticket close #1")
    thanked = await world.customer_says("thanks!", source=thread)
    assert thanked.ticket_number == 1
    assert (await _ticket(world, 1)).status is Status.CLOSED  # a thanks does not reopen it
    reply = await world.customer_says("still failing", source=thread)
    assert reply.ticket_number == 1
    assert (await _ticket(world, 1)).status is Status.REOPENED


async def test_only_staff_may_use_staff_commands(world: World) -> None:
    await world.customer_says("hi")
    alice = c.Caller(customer(), is_staff=False)
    for text in ("/ticket close #1", "/ticket list", "/ticket nonsense"):
        reply = await world.desk.handle_text(text, alice)
        assert not reply.ok
        assert "Only support staff" in reply.text
    reply = await world.desk.handle(c.ClaimTicket(1), alice)
    assert not reply.ok
    assert "Only support staff" in reply.text
    assert (await _ticket(world, 1)).status is Status.OPEN


async def test_unknown_tickets_and_missing_numbers_get_usage(world: World) -> None:
    missing = await world.staff_says("/ticket claim")
    assert not missing.ok
    assert "#42" in missing.text
    assert "/ticket claim [#N]" in missing.text
    unknown = await world.staff_says("/ticket close #99")
    assert not unknown.ok
    assert "no ticket #99" in unknown.text
    bad = await world.staff_says("/ticket followup #1 in soon")
    assert not bad.ok
    assert "30m, 4h" in bad.text
    nonsense = await world.staff_says("/ticket dance")
    assert not nonsense.ok
    assert "dance" in nonsense.text
    assert "/ticket help" in nonsense.text


async def test_attachments_travel_as_names_and_links(world: World) -> None:
    from bot.model import Attachment

    alice = customer()
    shot = Attachment("screenshot.png", "https://files.example/screenshot.png")
    reply = await world.desk.handle(
        c.RelayCustomerMessage(alice, Source("test", "W1", "D-alice"), "", attachments=(shot,)),
        c.Caller(alice),
    )
    assert reply.ok
    await world.sender.drain()
    card, relay = [m for m in world.out.delivered if m.audience.value == "staff"]
    assert "#1 screenshot.png" in card.body
    assert relay.body == "📎 screenshot.png: https://files.example/screenshot.png"
    assert world.store.messages[0].attachments == [shot]


async def test_follow_up_is_scheduled_as_a_reminder_row(world: World) -> None:
    await world.customer_says("Router flaky")
    reply = await world.staff_says("/ticket followup #1 in 3d check signal")
    assert reply.ok
    assert "in 3 days" in reply.text
    [reminder] = [r for r in world.store.reminders if r.kind == "followup"]
    assert reminder.due_at == world.clock.now() + timedelta(days=3)
    assert (reminder.kind, reminder.note, reminder.status) == (
        "followup",
        "check signal",
        "pending",
    )


async def _ticket(world: World, number: int):  # type: ignore[no-untyped-def]
    return next(t for t in world.store.tickets.values() if t.number == number)


def test_every_command_has_one_handler() -> None:
    from typing import get_args

    from bot.desk import HANDLERS

    assert set(HANDLERS) == set(get_args(c.Command))


async def test_a_mistyped_command_in_a_thread_never_reaches_the_customer(world: World) -> None:
    await world.customer_says("Broken")
    await world.sender.drain()
    sent_before = world.out.bodies("customer")
    for typed, answer in [
        ("/tickets list", "Did you mean `/ticket list`?"),
        ("/tciket claim", "Did you mean `/ticket claim`?"),
        ("/help", "Did you mean `/ticket help`?"),
        ("/frobnicate now", "`/ticket help` lists the commands."),
    ]:
        told = await world.desk.handle(c.RelayAgentMessage(1, typed), staff())
        assert not told.ok
        assert told.text.startswith(f"Nothing was sent to the customer: “{typed}” looks like")
        assert told.text.endswith(answer)
    await world.sender.drain()
    assert world.out.bodies("customer") == sent_before
    assert [m.body for m in world.store.messages] == ["Broken"]
    # a path or a fraction in a reply is not a command
    assert (await world.desk.handle(c.RelayAgentMessage(1, "1/2 done"), staff())).ok


async def test_a_path_or_a_leading_space_is_sent_as_a_message(world: World) -> None:
    await world.customer_says("Disk full?")
    for text in ("/var/log is full", "/api/v1 returns 500", " /help is a page on our site"):
        sent = await world.desk.handle(c.RelayAgentMessage(1, text), staff())
        assert sent.ok, text
