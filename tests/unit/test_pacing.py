"""Pacing: each route is used at its platform's rate, oldest message first, and a Retry-After
closes it; time is the test's clock, moved by the waits themselves."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest

from adapters.discord.deliver import GLOBAL
from bot.clock import FrozenClock
from bot.delivery.pacing import Pacer, Route
from tests.support.virtual_time import FollowClock, RunningClock


def pacer() -> tuple[Pacer, RunningClock]:
    time = RunningClock(FrozenClock())
    return Pacer(time), time


async def granted_at(pacer: Pacer, time: RunningClock, route: Route, count: int) -> list[float]:
    """When each of `count` calls made at once got its turn (seconds, rounded)."""
    moments: list[float] = []

    async def call(priority: int) -> None:
        async with pacer.turn(route, priority):
            moments.append(round(time.monotonic(), 3))

    await asyncio.gather(*(call(i) for i in range(count)))
    return moments


async def test_a_channel_takes_its_burst_then_one_a_second() -> None:
    paced, time = pacer()
    post = Route("slack:post:CSTAFF", 1.0, burst=3)
    assert await granted_at(paced, time, post, 6) == [0.0, 0.0, 0.0, 1.0, 2.0, 3.0]


async def test_the_oldest_message_goes_first_and_one_at_a_time() -> None:
    paced, _ = pacer()
    channel = Route("discord:42")  # no rate: discord.py paces it; one call at a time
    order: list[int] = []
    inside = 0

    async def call(priority: int) -> None:
        nonlocal inside
        async with paced.turn(channel, priority):
            inside += 1
            assert inside == 1
            await asyncio.sleep(0)
            order.append(priority)
            inside -= 1

    await asyncio.gather(*(call(p) for p in (5, 3, 9, 1)))
    assert order[1:] == [1, 3, 9]  # the first came alone; then the oldest of those waiting


async def test_a_retry_after_closes_the_route_for_that_long() -> None:
    paced, time = pacer()
    post = Route("slack:post:D1", 1.0, burst=3)
    paced.hold(post, 30)
    assert await granted_at(paced, time, post, 2) == [30.0, 30.0]


async def test_discord_gets_at_most_50_requests_a_second_in_all() -> None:
    paced, time = pacer()
    moments = await granted_at(paced, time, GLOBAL, 120)
    assert moments[:50] == [0.0] * 50
    assert moments[-1] >= (120 - 50) / 50 - 0.01
    per_second = [sum(1 for m in moments if second < m <= second + 1) for second in range(3)]
    assert max(per_second) <= 50


async def test_a_busy_channel_holds_up_no_other() -> None:
    clock = FrozenClock()
    paced = Pacer(FollowClock(clock))  # time stands still until the test moves it
    staff = Route("slack:post:CSTAFF", 1.0, burst=1)
    dm = Route("slack:post:D1", 1.0, burst=3)
    async with paced.turn(staff):
        pass

    async def next_post() -> None:
        async with paced.turn(staff):
            pass

    waiting = asyncio.ensure_future(next_post())
    await asyncio.sleep(0)
    assert paced.parked == 1  # the staff channel's next post waits for its second
    async with paced.turn(dm):  # while a customer's DM goes at once
        assert not waiting.done()
    clock.advance(timedelta(seconds=1))
    paced.catch_up()
    await asyncio.wait_for(waiting, 1)
    assert paced.parked == 0


class Ledger:
    """Other processes' turns as a shared ledger would report them: each reservation waits
    what the test scripted, and what was reserved or held is written down."""

    def __init__(self, waits: list[float] | None = None, down: bool = False) -> None:
        self.waits = waits or []
        self.down = down
        self.reserved: list[str] = []
        self.held: list[tuple[str, float]] = []

    async def reserve(self, key: str, per_second: float, burst: int) -> float:
        if self.down:
            raise ConnectionError("the database is down")
        self.reserved.append(key)
        return self.waits.pop(0) if self.waits else 0.0

    async def hold(self, key: str, seconds: float, burst: int, per_second: float) -> None:
        self.held.append((key, seconds))


async def test_a_route_other_processes_use_too_waits_for_its_turn_among_them() -> None:
    time = RunningClock(FrozenClock())
    ledger = Ledger(waits=[0.0, 2.5, 0.0])  # another process took the second's turn
    paced = Pacer(time, shared=ledger)
    staff = Route("slack:post:CSTAFF", 1.0, burst=3, shared=True)
    assert await granted_at(paced, time, staff, 3) == [0.0, 2.5, 2.5]
    assert ledger.reserved == ["slack:post:CSTAFF"] * 3


async def test_the_ledger_is_the_only_bucket_of_a_shared_route() -> None:
    # the ledger counts every process's posts; a second, local bucket would only add delays
    time = RunningClock(FrozenClock())
    paced = Pacer(time, shared=Ledger(waits=[0.0] * 5))
    staff = Route("slack:post:CSTAFF", 1.0, burst=3, shared=True)
    assert await granted_at(paced, time, staff, 5) == [0.0] * 5


async def test_a_customers_dm_never_asks_the_ledger() -> None:
    time = RunningClock(FrozenClock())
    ledger = Ledger(waits=[5.0])
    paced = Pacer(time, shared=ledger)
    dm = Route("slack:post:D1", 1.0, burst=3)
    assert await granted_at(paced, time, dm, 1) == [0.0]
    assert ledger.reserved == []


async def test_a_retry_after_is_written_to_the_ledger_for_the_other_processes() -> None:
    time = RunningClock(FrozenClock())
    ledger = Ledger()
    paced = Pacer(time, shared=ledger)
    staff = Route("slack:post:CSTAFF", 1.0, burst=3, shared=True)
    paced.hold(staff, 30)
    assert await granted_at(paced, time, staff, 1) == [30.0]
    assert ledger.held == [("slack:post:CSTAFF", 30)]


async def test_without_its_ledger_a_process_still_paces_on_its_own(
    caplog: pytest.LogCaptureFixture,
) -> None:
    time = RunningClock(FrozenClock())
    paced = Pacer(time, shared=Ledger(down=True))
    staff = Route("slack:post:CSTAFF", 1.0, burst=3, shared=True)
    assert await granted_at(paced, time, staff, 5) == [0.0, 0.0, 0.0, 1.0, 2.0]
    warnings = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    assert len(warnings) == 1  # said once, not on every post
    assert "pacing locally" in warnings[0]
