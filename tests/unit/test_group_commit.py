"""Commands that arrive together share a transaction, and that never changes an outcome."""

from __future__ import annotations

import asyncio

import pytest

from bot import commands as c
from bot.desk import Reply
from bot.model import Status
from tests.unit.conftest import World, customer, dm
from tests.unit.fakes import FakeTickets, FakeUnitOfWork, FakeUnitOfWorkFactory


class _CountingFactory(FakeUnitOfWorkFactory):
    """Counts commits, which is what a group saves."""

    def __init__(self, store: object) -> None:
        super().__init__()
        self.store = store  # type: ignore[assignment]
        self.commits = 0

    def __call__(self) -> FakeUnitOfWork:
        uow = super().__call__()
        commit = uow.commit

        async def counted() -> None:
            self.commits += 1
            await commit()

        uow.commit = counted  # type: ignore[method-assign]
        return uow


@pytest.fixture
def counting(world: World) -> _CountingFactory:
    factory = _CountingFactory(world.store)
    world.desk.uow_factory = factory
    return factory


def _message(name: str, text: str, event_id: str = "") -> tuple[c.Command, c.Invocation]:
    person = customer(name)
    return c.RelayCustomerMessage(person, dm(name), text), c.Invocation(person, event_id=event_id)


async def _burst(world: World, *items: tuple[c.Command, c.Invocation]) -> list[Reply]:
    return list(await asyncio.gather(*(world.desk.handle(cmd, inv) for cmd, inv in items)))


async def test_a_burst_of_customers_gets_every_ticket_in_one_commit(
    world: World, counting: _CountingFactory
) -> None:
    names = [f"customer{i}" for i in range(10)]
    replies = await _burst(world, *(_message(n, f"help from {n}") for n in names))
    assert [r.ticket_number for r in replies] == list(range(1, 11))
    assert counting.commits == 1
    await world.sender.drain()
    acks = [m for m in world.out.delivered if m.kind == "ack"]
    assert [m.channel for m in acks] == [f"D-{n}" for n in names]


async def test_a_message_sees_the_ticket_its_neighbour_opened(
    world: World, counting: _CountingFactory
) -> None:
    replies = await _burst(
        world, _message("alice", "Printer broken"), _message("alice", "It shows error 42")
    )
    assert [r.ticket_number for r in replies] == [1, 1]
    assert len(world.store.tickets) == 1 and counting.commits == 1


async def test_a_replayed_event_in_the_same_burst_is_a_duplicate(world: World) -> None:
    replies = await _burst(world, _message("alice", "hi", "Ev1"), _message("alice", "hi", "Ev1"))
    assert [r.duplicate for r in replies] == [False, True]
    assert len(world.store.tickets) == 1


async def test_a_crash_in_a_burst_costs_only_the_crashing_message(
    world: World, counting: _CountingFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    add = FakeTickets.add

    async def broken_for_bob(self, ticket):  # type: ignore[no-untyped-def]
        if ticket.customer_name == "Bob":
            raise RuntimeError("disk on fire")
        await add(self, ticket)

    monkeypatch.setattr(FakeTickets, "add", broken_for_bob)
    replies = await _burst(
        world,
        _message("alice", "first", "Ev1"),
        _message("bob", "second", "Ev2"),
        _message("carol", "third", "Ev3"),
    )
    assert [r.ok for r in replies] == [True, False, True]
    assert "Nothing you sent is lost (reference Ev2)" in replies[1].text
    assert sorted(t.customer_name for t in world.store.tickets.values()) == ["Alice", "Carol"]
    assert world.store.inbound[("test", "failed:Ev2")]["error"] == "RuntimeError: disk on fire"
    # the group was undone and each ran alone: Alice, Bob's kept failure, Carol
    assert counting.commits == 3


async def test_two_agents_claiming_together_on_one_desk_get_one_winner(world: World) -> None:
    await world.customer_says("urgent: site down")
    replies = await asyncio.gather(
        world.staff_says("/ticket claim #1", "bob"), world.staff_says("/ticket claim #1", "carol")
    )
    assert [r.ok for r in replies] == [True, False]
    assert "held by bob" in replies[1].text
    ticket = next(iter(world.store.tickets.values()))
    assert ticket.status is Status.CLAIMED and ticket.assignee is not None
    assert ticket.assignee.name == "bob"
    claims = [e for e in world.store.events if e.kind == "claimed"]
    assert len(claims) == 1


async def test_a_usage_error_in_a_burst_leaves_the_others_alone(world: World) -> None:
    await world.customer_says("hello")
    replies = await asyncio.gather(
        world.staff_says("/ticket priority #1 sky-high"),
        world.staff_says("/ticket note #1 called the customer"),
    )
    assert not replies[0].ok and "urgent|high|normal|low" in replies[0].text
    assert replies[1].ok
    assert [e.kind for e in world.store.events][-1] == "note"


async def test_a_caller_who_stops_waiting_does_not_withdraw_the_message(world: World) -> None:
    cmd, inv = _message("alice", "are you there?")
    waiting = asyncio.ensure_future(world.desk.handle(cmd, inv))
    await asyncio.sleep(0)
    waiting.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiting
    for _ in range(5):  # the desk finishes what arrived
        await asyncio.sleep(0)
    assert [t.subject for t in world.store.tickets.values()] == ["are you there?"]


async def test_a_desk_stopped_mid_burst_leaves_nobody_waiting(world: World) -> None:
    waiting = [asyncio.ensure_future(world.desk.handle(*_message(f"c{i}", "hi"))) for i in range(3)]
    await asyncio.sleep(0)  # all three are queued; the desk has not started on them
    worker = world.desk._group._worker
    assert worker is not None
    worker.cancel()  # the process is shutting down
    done, pending = await asyncio.wait(waiting, timeout=1)
    assert not pending and all(task.cancelled() for task in done)
