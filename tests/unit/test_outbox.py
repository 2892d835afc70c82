"""The outbox sender: order per conversation, retries, retry-after, permanent failures."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from bot.kinds import MessageKind
from bot.model import Audience, OutboundMessage, Ticket
from bot.ports import DeliveryError, DeliveryReceipt
from tests.unit.conftest import PLATFORM, World
from tests.unit.fakes import FakeDeliverer


async def test_a_transient_failure_holds_back_later_messages_of_the_same_conversation(
    world: World,
) -> None:
    await world.customer_says("first", name="alice")
    await world.customer_says("other customer", name="dave")
    world.out.failures = {"card": [DeliveryError("timeout")]}  # alice's card fails once
    await world.sender.drain()
    delivered = [(m.ticket_number, m.kind) for m in world.out.delivered]
    assert (1, "card") not in delivered
    assert (1, "customer_message") not in delivered
    assert (1, "ack") in delivered  # the customer conversation is separate
    assert (2, "card") in delivered
    assert (2, "customer_message") in delivered
    world.clock.advance(timedelta(seconds=1))
    await world.sender.drain()
    staff_1 = [
        m.kind for m in world.out.delivered if m.ticket_number == 1 and m.audience.value == "staff"
    ]
    assert staff_1 == ["card", "customer_message"]


async def test_retry_after_from_the_platform_is_honoured(world: World) -> None:
    await world.customer_says("hello")
    world.out.failures = {"card": [DeliveryError("rate limited", retry_after=30)]}
    await world.sender.drain()
    assert "card" not in [m.kind for m in world.out.delivered]
    world.clock.advance(timedelta(seconds=29))
    await world.sender.drain()
    assert "card" not in [m.kind for m in world.out.delivered]
    world.clock.advance(timedelta(seconds=1))
    await world.sender.drain()
    assert [m.kind for m in world.out.delivered if m.audience.value == "staff"] == [
        "card",
        "customer_message",
    ]


async def test_backoff_grows_between_attempts(world: World) -> None:
    await world.customer_says("hello")
    world.out.failures = {"card": [DeliveryError("down")] * 3}
    await world.sender.drain()  # attempt 1 fails -> wait 1s
    world.clock.advance(timedelta(seconds=1))
    await world.sender.drain()  # attempt 2 fails -> wait 2s
    world.clock.advance(timedelta(seconds=1))
    await world.sender.drain()
    assert "card" not in [m.kind for m in world.out.delivered]
    world.clock.advance(timedelta(seconds=1))
    await world.sender.drain()  # attempt 3 fails -> wait 4s
    world.clock.advance(timedelta(seconds=4))
    await world.sender.drain()
    assert next(m.kind for m in world.out.delivered if m.audience.value == "staff") == "card"


async def test_a_permanent_customer_failure_is_reported_in_the_staff_thread(world: World) -> None:
    await world.customer_says("hello")
    await world.sender.drain()
    await world.staff_says("/ticket claim #1")
    from bot import commands as c
    from tests.unit.conftest import staff

    await world.desk.handle(c.RelayAgentMessage(1, "Answer"), staff())
    world.out.failures = {
        "agent_reply": [DeliveryError("cannot send messages to this user", permanent=True)]
    }
    await world.sender.drain()
    rows = [r for r in world.store.outbox.values() if r["message"].kind == "agent_reply"]
    assert rows[0]["status"] == "failed"
    notice = world.out.delivered[-1]
    assert notice.kind == "delivery_failed"
    assert "cannot send messages" in notice.body
    assert notice.audience.value == "staff"
    assert world.store.events[-1].kind == "delivery_failed"


async def test_rate_limits_are_waited_out_however_long_and_staff_hear_once(world: World) -> None:
    await world.customer_says("hello")
    refusals = [DeliveryError("rate limited by Slack", retry_after=60) for _ in range(12)]
    world.out.failures = {"ack": refusals}
    await world.sender.drain()
    for _ in range(12):  # twelve minutes of refusals
        world.clock.advance(timedelta(seconds=60))
        await world.sender.drain()
    acks = [r for r in world.store.outbox.values() if r["message"].kind == "ack"]
    assert [r["status"] for r in acks] == ["sent"]
    assert [m.kind for m in world.out.delivered].count(MessageKind.ACK) == 1
    waiting = [m for m in world.out.delivered if m.kind == "delivery_waiting"]
    assert len(waiting) == 1
    assert waiting[0].audience.value == "staff"
    assert "#1" in waiting[0].body
    assert "rate limited by Slack" in waiting[0].body
    assert "waited 5 minutes" in waiting[0].body
    assert not [r for r in world.store.outbox.values() if r["status"] == "failed"]


async def test_transient_trouble_fails_a_message_only_when_patience_runs_out(
    world: World,
) -> None:
    world.sender.results.patience.patience = timedelta(hours=1)
    await world.customer_says("hello")
    world.out.failures = {"ack": [DeliveryError("Slack said internal_error")] * 100}
    for _ in range(14):  # the backoff stops growing at five minutes
        await world.sender.drain()
        world.clock.advance(timedelta(minutes=5))
    ack = next(r for r in world.store.outbox.values() if r["message"].kind == "ack")
    assert ack["status"] == "failed"
    assert ack["error"] == "Slack said internal_error, still failing after 1 hour"
    notice = world.out.delivered[-1]
    assert notice.kind == "delivery_failed"
    assert "still failing after 1 hour" in notice.body
    # the thread's later messages went out all along, in order
    staff_kinds = [m.kind for m in world.out.delivered if m.audience.value == "staff"]
    assert staff_kinds[:2] == ["card", "customer_message"]


async def test_a_send_without_an_answer_is_in_doubt_at_the_next_attempt(world: World) -> None:
    await world.customer_says("hello")
    world.out.failures = {
        "card": [DeliveryError("network: ServerDisconnectedError", in_doubt=True)]
    }
    await world.sender.drain()
    world.clock.advance(timedelta(seconds=1))
    await world.sender.drain()
    (card,) = [m for m in world.out.delivered if m.kind == "card"]
    assert card.in_doubt  # the adapter looks before it sends again
    (ack,) = [m for m in world.out.delivered if m.kind == "ack"]
    assert not ack.in_doubt  # answered the first time: nothing to look for


async def test_a_refusal_is_not_in_doubt(world: World) -> None:
    await world.customer_says("hello")
    world.out.failures = {"card": [DeliveryError("rate limited", retry_after=1)]}
    await world.sender.drain()
    world.clock.advance(timedelta(seconds=1))
    await world.sender.drain()
    (card,) = [m for m in world.out.delivered if m.kind == "card"]
    assert not card.in_doubt


async def test_the_delivered_card_tells_where_the_ticket_thread_is(world: World) -> None:
    await world.customer_says("hello")
    await world.sender.drain()
    ticket = next(iter(world.store.tickets.values()))
    assert (ticket.staff_channel, ticket.staff_thread, ticket.card_message_id) == (
        "staff-chan",
        f"th{ticket.id}",
        f"pm{[m.kind for m in world.out.delivered].index(MessageKind.CARD) + 1}",
    )


async def test_an_adapter_bug_is_retried_not_lost(world: World) -> None:
    class Broken:
        platform = "test"

        def route(self, message, ticket):  # type: ignore[no-untyped-def]
            return None

        async def deliver(self, message, ticket):  # type: ignore[no-untyped-def]
            raise KeyError("bug")

    world.sender.deliverers["test"] = Broken()  # type: ignore[assignment]
    await world.customer_says("hello")
    await world.sender.drain()
    assert all(r["status"] == "pending" for r in world.store.outbox.values())
    world.sender.deliverers["test"] = world.out
    world.clock.advance(timedelta(seconds=5))
    await world.sender.drain()
    assert len(world.out.delivered) == 3


class _RoundTrips(FakeDeliverer):
    """Each send is a round trip that the platform answers when `answer` is set."""

    def __init__(self) -> None:
        super().__init__(PLATFORM)
        self.answer = asyncio.Event()
        self.acks_under_way = 0

    async def deliver(self, message: OutboundMessage, ticket: Ticket | None) -> DeliveryReceipt:
        acknowledgement = message.audience is Audience.CUSTOMER
        self.acks_under_way += acknowledgement
        await self.answer.wait()
        self.acks_under_way -= acknowledgement
        return await super().deliver(message, ticket)


async def test_a_burst_of_acknowledgements_goes_out_at_once(world: World) -> None:
    """200 customers write at once: none of their acknowledgements waits for another's round
    trip (at 100 ms each, 64 at a time would keep the last customer waiting 0.3 s more)."""
    for n in range(200):
        await world.customer_says("Where is my parcel?", name=f"customer{n}")
    platform = world.sender.deliverers[PLATFORM] = _RoundTrips()
    draining = asyncio.create_task(world.sender.drain())
    for _ in range(1000):
        if platform.acks_under_way == 200:
            break
        await asyncio.sleep(0)
    assert platform.acks_under_way == 200
    platform.answer.set()
    await draining
    assert len(platform.bodies("customer")) == 200
