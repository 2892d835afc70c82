"""A new ticket's first messages (the customer's acknowledgement, the staff card) go from the
desk's commit straight to this process's outbox sender: written already leased to it and
marked as under way, so they are sent without a claim, and still safe if the process dies."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import timedelta

from bot import commands as c
from bot.clock import FrozenClock
from bot.delivery.sender import OutboxSender
from bot.desk import Desk
from bot.model import Audience, OutboundMessage, Person, Source, Ticket
from bot.rendering import Renderer
from storage.engine import Database
from storage.outbox import HandOff
from storage.uow import SqlUnitOfWork, SqlUnitOfWorkFactory
from tests.unit.fakes import FakeDeliverer

LEASE = timedelta(seconds=30)


async def test_a_new_tickets_first_messages_are_handed_to_the_sender_and_safe_if_it_dies(
    database: Database,
) -> None:
    clock = FrozenClock()
    factory = SqlUnitOfWorkFactory(database)
    factory.handoff = HandOff("worker-1", LEASE)
    handed: list[tuple[OutboundMessage, Ticket]] = []
    claims: list[bool] = []  # after each commit: may a claim find something now?

    def take(messages: Sequence[tuple[OutboundMessage, Ticket]], claim: bool) -> None:
        handed.extend(messages)
        claims.append(claim)

    desk = Desk(factory, Renderer(), clock=clock, on_outbox=take)
    alice = Person("slack", "UALICE", "Alice")
    source = Source("slack", "T1", "DALICE", "", True)
    await desk.handle(c.RelayCustomerMessage(alice, source, "Where is my parcel?"), c.Caller(alice))

    assert {(m.audience, m.kind if m.audience is Audience.STAFF else "") for m, _ in handed} == {
        (Audience.CUSTOMER, ""),
        (Audience.STAFF, "card"),
    }
    assert all(m.id is not None and t.number == 1 for m, t in handed)
    now = clock.now()
    async with SqlUnitOfWork(database) as uow:
        # nobody else takes them while this sender's lease runs, and the relay waits for the card
        assert await uow.outbox.claim(now, 10, "worker-2", now + LEASE, customers_only=False) == []
    assert claims == [False]  # so the sender is not woken to claim nothing

    # the process dies before it sends them: once the lease is over, another worker takes
    # them, in doubt (it looks on the platform before it sends)
    later = now + LEASE + timedelta(seconds=1)
    async with SqlUnitOfWork(database) as uow:
        taken = await uow.outbox.claim(later, 10, "worker-2", later + LEASE, customers_only=False)
        await uow.commit()
    # the same rows, each under its own id (SQLite names them from the last id written)
    assert sorted((m.id or 0, m.audience, m.kind) for m in taken) == sorted(
        (m.id or 0, m.audience, m.kind) for m, _ in handed
    )
    assert all(m.in_doubt for m in taken)

    # the ticket's next message is no new conversation: it goes by claim, in its turn
    handed.clear()
    await desk.handle(c.RelayCustomerMessage(alice, source, "It was a present."), c.Caller(alice))
    assert handed == []
    assert claims == [False, True]


async def test_the_sender_is_woken_to_claim_only_when_a_commit_left_something_to_claim(
    database: Database,
) -> None:
    """In a burst of new customers every commit would otherwise wake the sender to claim
    nothing: their first messages are its own already, the rest wait behind them."""
    clock = FrozenClock()
    out = FakeDeliverer("slack")
    factory = SqlUnitOfWorkFactory(database)
    sender = OutboxSender(factory, {"slack": out}, clock, Renderer())
    factory.handoff = HandOff(sender.worker, LEASE)  # as the app wires them
    desk = Desk(factory, Renderer(), clock=clock, on_outbox=sender.notify)
    alice = Person("slack", "UALICE", "Alice")
    source = Source("slack", "T1", "DALICE", "", True)
    says = c.RelayCustomerMessage(alice, source, "Where is my parcel?")

    await desk.handle(says, c.Caller(alice))
    assert not sender.wake.is_set()
    await sender.drain()  # the acknowledgement and the card were under way already
    assert [m.kind for m in out.delivered] == ["ack", "card", "customer_message"]

    sender.wake.clear()  # woken as each send ended: the next message may be due
    await desk.handle(replace(says, text="It was a present."), c.Caller(alice))
    assert sender.wake.is_set()  # the relay of an open ticket goes by claim
    await sender.drain()
    assert [m.kind for m in out.delivered][3:] == ["customer_message"]
