"""300 customers write at once to a Slack that is slow and rate limited as Slack is: every
Web API answer takes 100 ms, and chat.postMessage is limited per channel by a token bucket
(4 at once, then 1 per second, 429 with Retry-After past it). The desk paces each channel
ahead, so hardly a call is refused; every customer is acknowledged in their own DM, and the
staff channel gets each card and relay once, in each ticket's order.

Time is the test's clock: waiting for a route's turn or for Slack's answer moves it, so ten
minutes of Slack's pace pass in seconds."""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from bot.clock import FrozenClock
from bot.delivery.pacing import Pacer
from storage.outbox import HandOff
from storage.uow import SqlUnitOfWorkFactory
from tests.adapters.fake_slack import FakeSlack, dm_envelope, running_fake_slack
from tests.adapters.slack_harness import STAFF_CHANNEL, SlackDesk, start, stop
from tests.adapters.test_slack_durability import tie_ts_to_clock
from tests.support.virtual_time import RunningClock

CUSTOMERS = 300
SECOND_MESSAGES = 100  # a third of them write again while their tickets are being opened
LATENCY = 0.1


@pytest.fixture
async def slack(tmp_path: Path) -> AsyncIterator[SlackDesk]:
    async with running_fake_slack() as fake:
        clock = FrozenClock()
        time = RunningClock(clock)
        tie_ts_to_clock(fake, clock)
        fake.clock = time.monotonic
        fake.pause = time.sleep
        fake.latency = LATENCY
        fake.limit_posts(burst=4, per_second=1.0)
        fake.users = {user(i): {"name": f"Customer {i}"} for i in range(CUSTOMERS)}
        desk = await start(fake, tmp_path, socket_mode=True, clock=clock)
        sender = desk.app.sender
        sender.pacer = Pacer(time)
        # This clock runs ahead by a whole wait whenever a route waits, even while other work
        # is under way, so ten minutes of the staff channel's pace pass while the envelopes
        # are still being stored, before the test's drain renews a lease: the leases (not
        # what this test is about) outlast the run, as in real time they are renewed.
        sender.capacity = replace(sender.capacity, lease=timedelta(hours=1))
        uow_factory = desk.app.desk.uow_factory
        assert isinstance(uow_factory, SqlUnitOfWorkFactory)
        uow_factory.handoff = HandOff(sender.worker, sender.capacity.lease)
        try:
            yield desk
        finally:
            await stop(desk)


def user(i: int) -> str:
    return f"UBURST{i:04d}"


def dm(i: int) -> str:
    return f"DBURST{i:04d}"


def envelope(fake: FakeSlack, i: int, text: str) -> dict[str, Any]:
    ts = fake.next_ts()
    return dm_envelope(f"burst-{i}-{ts}", f"EvBURST{i:04d}{ts}", dm(i), user(i), text, ts)


async def test_a_burst_of_300_customers_is_answered_and_paced_without_refusals(
    slack: SlackDesk,
) -> None:
    fake = slack.fake
    sender = slack.app.sender
    first = [fake.send_envelope(envelope(fake, i, f"Order {i} is late")) for i in range(CUSTOMERS)]
    acks = await asyncio.gather(*first)
    assert all(ack is not None for ack in acks)  # each event stored, then acknowledged
    await slack.adapter.settled()
    draining = asyncio.create_task(sender.drain())
    again = [
        fake.send_envelope(envelope(fake, i, f"Order {i}: any news?"))
        for i in range(SECOND_MESSAGES)
    ]
    assert all(ack is not None for ack in await asyncio.gather(*again))
    await slack.adapter.settled()
    await draining
    await sender.drain()

    async with slack.app.desk.uow_factory() as uow:
        assert await uow.outbox.pending_count() == 0
    for i in range(CUSTOMERS):
        (ack,) = fake.messages(dm(i))  # acknowledged once, in their own DM
        assert f"Customer {i}" in ack["text"]

    cards = fake.messages(STAFF_CHANNEL)
    assert len(cards) == CUSTOMERS
    per_customer = Counter[int]()
    for card in cards:
        blocks = json.dumps(card["blocks"])
        (i,) = [i for i in range(CUSTOMERS) if f"Order {i} is late" in blocks]
        per_customer[i] += 1
        thread = [r["text"] for r in fake.replies(STAFF_CHANNEL, card["ts"])]
        expected = [f"*Customer {i}:* Order {i} is late"]
        if i < SECOND_MESSAGES:
            expected.append(f"*Customer {i}:* Order {i}: any news?")
        assert thread == expected  # the first message under its card, then the next
    assert set(per_customer.values()) == {1}  # one card each

    posts = [c for c in fake.calls if c.method == "chat.postMessage"]
    refused = len(fake.refused) / len(fake.calls)
    assert refused < 0.05, f"{len(fake.refused)} of {len(fake.calls)} calls refused"
    # nothing was posted twice: two posts per ticket and one per second message
    staff_posts = sum(1 for c in posts if c.args["channel"] == STAFF_CHANNEL and c.status == 200)
    assert staff_posts == CUSTOMERS * 2 + SECOND_MESSAGES
