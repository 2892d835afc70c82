"""Two real `supportbot run` processes on one PostgreSQL database post into one staff
channel, and Slack limits that channel whoever posts. They take the channel's turns from a
shared ledger, so together they keep to its rate and hardly a post is refused, where each
pacing on its own would post twice as fast as the channel allows: every refusal costs a
round trip and holds the channel for its Retry-After.

The channel's rate is raised tenfold in the fake and in the bot alike (SLACK_RATE_SCALE),
so that the test waits seconds, not minutes; the proportions are Slack's."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.adapters.fake_slack import dm_envelope, running_fake_slack
from tests.support.bot_process import BotProcess, slack_env
from tests.support.pg import required_database

CUSTOMERS = 40  # half through each process's Socket Mode connection
SCALE = 10  # the staff channel takes 4 at once, then 10 a second
STAFF_CHANNEL = "CSTAFF0001"


@pytest.fixture
async def pg_url() -> AsyncIterator[str]:
    async with required_database("pacing") as url:
        yield url


async def test_two_processes_keep_together_to_the_staff_channels_rate(
    pg_url: str, tmp_path: Path
) -> None:
    async with running_fake_slack() as fake, contextlib.AsyncExitStack() as stack:
        fake.limit_posts(burst=4, per_second=1.0 * SCALE)
        env = slack_env(fake.base_url + "api/", pg_url, STAFF_CHANNEL, SLACK_RATE_SCALE=str(SCALE))
        for number in range(2):
            folder = tmp_path / f"worker{number}"
            folder.mkdir()
            bot = await stack.enter_async_context(BotProcess(env, folder))
            await bot.start(timeout=60)
        await fake.wait_for_sockets(2)

        async def write(customer: int) -> None:
            channel, user = f"D0PACE{customer:04d}", f"UPACE{customer:04d}"
            envelope = dm_envelope(
                f"env-pace-{customer}",
                f"Ev0PACE{customer:04d}",
                channel,
                user,
                f"Order {customer} has not arrived.",
                fake.next_ts(),
            )
            assert await fake.send_envelope(envelope, connection=customer % 2) is not None

        await asyncio.gather(*(write(i) for i in range(CUSTOMERS)))

        def staff_posts() -> list[int]:
            return [
                call.status
                for call in fake.calls
                if call.method == "chat.postMessage" and call.args.get("channel") == STAFF_CHANNEL
            ]

        async with asyncio.timeout(60):  # a card and a relay per customer, 10 a second
            while staff_posts().count(200) < 2 * CUSTOMERS:
                await fake.wait_for_calls(len(fake.calls) + 1)

    refused = staff_posts().count(429)
    # each pacing on its own: 8 to 17 of 80 refused in trials; together: none
    assert refused <= 1, f"{refused} of the staff channel's posts were refused"
