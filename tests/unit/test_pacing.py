"""Pacing: each route is used at its platform's rate, oldest message first, and a Retry-After
closes it; time is the test's clock, moved by the waits themselves."""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime, timedelta

import pytest
from slack_sdk.web.async_client import AsyncWebClient

from adapters.discord.deliver import GLOBAL
from adapters.slack.deliver import SlackDeliverer
from adapters.slack.pacing import PacedWebClient, paced_ahead, post_route
from adapters.slack.settings import SlackSettings
from bot.clock import FrozenClock
from bot.delivery.pacing import LEDGER_RETRY, Pacer, Route
from bot.kinds import MessageKind
from bot.model import Audience, OutboundMessage, Source, Ticket
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
        self.asked = 0
        self.reserved: list[str] = []
        self.held: list[tuple[str, float]] = []

    async def reserve(self, key: str, per_second: float, burst: int) -> float:
        self.asked += 1
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


async def test_a_customers_dm_never_asks_the_ledger_and_the_staff_channel_does() -> None:
    time = RunningClock(FrozenClock())
    ledger = Ledger(waits=[5.0])
    paced = Pacer(time, shared=ledger)
    assert await granted_at(paced, time, post_route("D1"), 1) == [0.0]
    assert ledger.reserved == []
    assert await granted_at(paced, time, post_route("CSTAFF"), 1) == [5.0]
    assert ledger.reserved == ["slack:post:CSTAFF"]


async def test_discords_global_limit_is_shared_too() -> None:
    time = RunningClock(FrozenClock())
    ledger = Ledger(waits=[0.0, 0.0, 0.5])
    paced = Pacer(time, shared=ledger)
    assert await granted_at(paced, time, GLOBAL, 3) == [0.0, 0.0, 0.5]
    assert ledger.reserved == ["discord:global"] * 3


async def test_a_card_update_waits_for_its_turn_before_it_takes_a_sending_slot(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # the outbox paces the edit (shared), before a sending slot; the client then does not
    # pace it a second time (a wait there would hold the slot, and count twice)
    client = PacedWebClient(token="xoxb-1", pacer=Pacer(shared=(ledger := Ledger())))
    deliverer = SlackDeliverer(client, SlackSettings(bot_token="xoxb-1", staff_channel="CS"))
    ticket = Ticket(1, 1, "Parcel", 1, "Alice", "en", Source("slack", "T", "D1"), datetime.now(UTC))
    update = OutboundMessage("slack", Audience.STAFF, MessageKind.CARD_UPDATE, "", ticket_id=1)
    route = deliverer.route(update, ticket)
    assert route is not None
    assert route.shared
    assert route.key == "slack:chat.update"
    calls: list[str] = []

    async def answered(self: AsyncWebClient, api_method: str, **kwargs: object) -> None:
        calls.append(api_method)

    monkeypatch.setattr(AsyncWebClient, "api_call", answered)
    with paced_ahead("chat.update"):
        await client.api_call("chat.update")
    assert ledger.reserved == []
    await client.api_call("chat.update")  # anyone else's edit: the client paces it
    assert calls == ["chat.update", "chat.update"]
    assert ledger.reserved == ["slack:chat.update"]


async def test_a_failed_ledger_is_left_alone_for_a_while_then_asked_again(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="bot.outbox")
    time = RunningClock(FrozenClock())
    ledger = Ledger(down=True)
    paced = Pacer(time, shared=ledger)
    staff = Route("slack:post:CSTAFF", 1.0, burst=3, shared=True)
    await granted_at(paced, time, staff, 2)
    assert ledger.asked == 1  # the second post did not wait for a ledger known to be down
    ledger.down = False
    time.clock.advance(timedelta(seconds=LEDGER_RETRY))
    await granted_at(paced, time, staff, 1)
    assert ledger.reserved == ["slack:post:CSTAFF"]  # asked again, and it answered
    assert [r.levelname for r in caplog.records] == ["WARNING", "INFO"]


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
    assert "pacing alone" in warnings[0]
