"""`kill -9` of the real `supportbot run` at random points of a burst of Slack DMs, over and
over, on SQLite and on PostgreSQL: afterwards Slack shows nothing lost and nothing twice.

One fake Slack (Socket Mode) for the whole test; about a hundred customer messages from 80
customers; the process is killed 21 times at seeded random moments (once while it starts,
then after a few acks, right after a post reached Slack, or after a random short delay),
started again on the same database each time, and at last left to settle and stopped with
SIGTERM. Every envelope not
acknowledged is delivered again with the same event_id, as Slack does. Then, from what the
fake saw: one acknowledgement DM per ticket, one card per ticket in the staff channel, each
message relayed once into its ticket's thread in the order written, no outbox row posted
twice, the outbox empty, and no traceback. The seed is fixed (set
SUPPORTBOT_TEST_CRASH_SEED to explore others); where the kills land still varies by timing.
"""

from __future__ import annotations

import asyncio
import os
import random
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.adapters.fake_slack import running_fake_slack
from tests.conftest import IN_CI
from tests.e2e.crash_driver import (
    NOTHING_WAITING,
    STAFF_CHANNEL,
    CrashRun,
    audit,
    make_customers,
    outbox_waiting,
)
from tests.support.bot_process import slack_env
from tests.support.pg import postgres_available, temporary_database

KILLS = 21
CUSTOMERS = 80
SEED = int(os.environ.get("SUPPORTBOT_TEST_CRASH_SEED", "20250117"))


@pytest.fixture(params=["sqlite", "postgresql"])
async def desk_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'desk.db'}"
        return
    reason = await postgres_available()
    if reason is not None:
        if IN_CI:
            pytest.fail(reason)
        pytest.skip(reason)
    async with temporary_database("crash") as url:
        yield url


async def test_kill_9_during_a_burst_loses_nothing_and_says_nothing_twice(
    desk_url: str, tmp_path: Path
) -> None:
    backend = desk_url.split(":", 1)[0]
    seed = SEED + (0 if backend == "sqlite" else 1)
    rng = random.Random(seed)
    customers = make_customers(rng, CUSTOMERS)
    began = time.monotonic()
    async with running_fake_slack() as fake:
        fake.staff = {"UAGENT0001"}
        fake.latency = 0.005  # a post in flight when the kill comes still lands
        # the fake has no rate limits; Slack's would make this test slow
        env = slack_env(fake.base_url + "api/", desk_url, STAFF_CHANNEL, SLACK_RATE_SCALE="100")
        run = CrashRun(fake, env, tmp_path, customers, rng)
        try:
            async with asyncio.timeout(240):
                await run.crash_repeatedly(KILLS)
                code = await run.finish(timeout=90)
        finally:
            await run.close()
        stderr = run.stderr()
        burst = run.burst
        in_doubt_found = stderr.count("was already in Slack")
        summary = (
            f"{backend}, seed {seed}: {len(run.runs) - 1} kills {dict(run.crash_points)}, "
            f"{burst.total} messages in {burst.envelopes} envelopes "
            f"({burst.redeliveries} redelivered), "
            f"{len(fake.accepted('chat.postMessage'))} posts, "
            f"{in_doubt_found} sends in doubt found already in Slack, "
            f"{time.monotonic() - began:.1f}s"
        )
        problems = audit(fake, customers)
        assert not problems, summary + "\n" + "\n".join(problems[:60])
        # finish() stopped the bot once its outbox was empty: the stop undid nothing (asked
        # while the fake Slack still answers, which `check` tries to reach)
        left = await outbox_waiting(env, tmp_path)
    assert code == 0, stderr[-5000:]
    at = stderr.find("Traceback")
    assert at < 0, stderr[max(0, at - 1000) : at + 4000]
    assert len(run.runs) == KILLS + 1
    # the kills did what they are for: envelopes caught in flight, posts left in doubt (the
    # bot reads history only to look for a post in doubt before it sends again)
    assert burst.redeliveries > 0, summary
    lookups = fake.called("conversations.history") + fake.called("conversations.replies")
    assert lookups, summary
    assert left == NOTHING_WAITING
