"""Round-robin on real storage: fair over a thousand tickets with agents coming and going,
and never past the cap when two workers assign at once."""

from __future__ import annotations

import asyncio
import random

from bot import commands as c
from bot.clock import FrozenClock
from bot.desk import Desk
from bot.model import Person, Source
from bot.settings import DeskSettings, RoutingPolicy
from storage.engine import Database
from storage.uow import SqlUnitOfWorkFactory

PLATFORM = "test"


def _desk(database: Database, max_open: int) -> Desk:
    settings = DeskSettings(routing=RoutingPolicy(max_open=max_open))
    return Desk(SqlUnitOfWorkFactory(database), settings=settings, clock=FrozenClock())


def _agent(name: str) -> c.Caller:
    return c.Caller(Person(PLATFORM, f"S-{name}", name), is_staff=True)


async def _customer_writes(desk: Desk, i: int) -> None:
    person = Person(PLATFORM, f"U{i}", f"Customer {i}")
    outcome = await desk.handle(
        c.RelayCustomerMessage(person, Source(PLATFORM, "W", f"D{i}"), "Help"),
        c.Caller(person, event_id=f"m{i}"),
    )
    assert outcome.ok, outcome.text


async def _held(database: Database, names: set[str]) -> dict[str, int]:
    async with SqlUnitOfWorkFactory(database)() as uow:
        counts = await uow.tickets.open_counts([f"{PLATFORM}:S-{n}" for n in names])
    return {n: counts.get(f"{PLATFORM}:S-{n}", 0) for n in names}


async def test_round_robin_is_fair_over_a_thousand_tickets(database: Database) -> None:
    desk = _desk(database, max_open=1000)
    on = {"ann", "bob", "cat"}
    for name in sorted(on):
        await desk.handle(c.SetDuty(True), _agent(name))
    chance = random.Random(7)
    for i in range(1000):
        if i == 250:  # dan joins and takes tickets until he holds as many as the others
            await desk.handle(c.SetDuty(True), _agent("dan"))
            on.add("dan")
        if i == 600:  # bob leaves; what he holds stays his
            await desk.handle(c.SetDuty(False), _agent("bob"))
            on.discard("bob")
        if i % 3 == 0 and i:  # the desk works tickets off as it goes
            number = chance.randint(1, i)
            await desk.handle(c.CloseTicket(number=number), _agent("lead"))
        before = await _held(database, on)
        await _customer_writes(desk, i)
        after = await _held(database, on)
        [chosen] = [name for name in on if after[name] == before[name] + 1]
        assert before[chosen] == min(before.values())  # the fewest open tickets, always
    final = await _held(database, on)
    assert max(final.values()) - min(final.values()) <= 1


async def test_two_workers_assigning_at_once_never_pass_the_cap(database: Database) -> None:
    workers = [_desk(database, max_open=3), _desk(database, max_open=3)]
    agents = {"ann", "bob", "cat", "dan"}
    for name in sorted(agents):
        await workers[0].handle(c.SetDuty(True), _agent(name))
    await asyncio.gather(*(_customer_writes(workers[i % 2], i) for i in range(40)))
    held = await _held(database, agents)
    assert held == dict.fromkeys(agents, 3)  # twelve assigned, each agent at the cap
    async with SqlUnitOfWorkFactory(database)() as uow:
        unclaimed = await uow.tickets.list(["open"], unassigned=True, limit=100)
    assert len(unclaimed) == 40 - 12
