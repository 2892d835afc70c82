"""The Slack adapter's deliveries when Slack's answers are lost or refused: every card, relay
and acknowledgement reaches Slack exactly once, in order. Time is a manual clock shared by
the desk, the outbox sender and the fake Slack's rate limits; no test sleeps."""

from __future__ import annotations

import json
import math
from collections import Counter
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from bot.delivery.pacing import Pacer
from storage.tables import outbox
from tests.adapters.slack_harness import STAFF_CHANNEL, SlackDesk
from tests.adapters.test_slack_durability import AGENT, CUSTOMER, DM, slack_desk
from tests.support.virtual_time import FollowClock

RETRY = timedelta(seconds=1)  # the sender's first backoff after a lost answer


@pytest.fixture
async def slack(tmp_path: Path) -> AsyncIterator[SlackDesk]:
    async with slack_desk(tmp_path) as desk:
        desk.fake.clock = lambda: desk.clock.now().timestamp()
        yield desk


async def retry_until_idle(slack: SlackDesk, step: timedelta = RETRY, rounds: int = 10) -> None:
    for _ in range(rounds):
        slack.clock.advance(step)
        await slack.app.sender.drain()
    async with slack.app.desk.uow_factory() as uow:
        assert await uow.outbox.pending_count() == 0


def metadata(post: dict[str, Any]) -> dict[str, Any]:
    meta = post.get("metadata") or {}
    meta = json.loads(meta) if isinstance(meta, str) else meta
    return dict(meta.get("event_payload") or {})


@pytest.mark.parametrize("after_effect", [True, False], ids=["posted", "not-posted"])
async def test_a_card_whose_answer_was_lost_is_in_the_channel_once(
    slack: SlackDesk, after_effect: bool
) -> None:
    fake = slack.fake
    fake.drop("chat.postMessage", after_effect=after_effect, channel=STAFF_CHANNEL)  # the card
    await slack.message(CUSTOMER, "Where is my parcel?", DM, channel_type="im")
    await retry_until_idle(slack)

    (card,) = fake.messages(STAFF_CHANNEL)
    assert "Where is my parcel?" in json.dumps(card["blocks"])
    relays = fake.replies(STAFF_CHANNEL, card["ts"])
    assert [r["text"] for r in relays] == ["*Alice:* Where is my parcel?"]
    assert len(fake.messages(DM)) == 1
    if after_effect:  # the card's ts came from history, by the outbox id in its metadata
        assert fake.called("conversations.history")
    # the staff thread is the card's, so an agent's answer there reaches the customer
    await slack.message(AGENT, "It left the depot today.", STAFF_CHANNEL, thread_ts=card["ts"])
    assert fake.messages(DM)[-1]["text"] == "*Agent One:* It left the depot today."


async def test_an_agent_answering_under_a_card_the_desk_has_not_placed_yet_reaches_the_customer(
    slack: SlackDesk,
) -> None:
    fake = slack.fake
    fake.drop("chat.postMessage", channel=STAFF_CHANNEL)  # the card is in Slack, not its answer
    await slack.message(CUSTOMER, "Where is my parcel?", DM, channel_type="im")
    (card,) = fake.messages(STAFF_CHANNEL)
    assert await slack.app.desk.ticket_in_thread("slack", card["ts"]) is None  # not yet known
    # the agent sees the card and answers at once, before the outbox looks for it again
    await slack.message(AGENT, "It left the depot today.", STAFF_CHANNEL, thread_ts=card["ts"])
    assert fake.messages(DM)[-1]["text"] == "*Agent One:* It left the depot today."
    await retry_until_idle(slack)
    assert await slack.app.desk.ticket_in_thread("slack", card["ts"]) == 1
    assert len(fake.messages(STAFF_CHANNEL)) == 1  # the card once
    # a thread under anything else is staff talking among themselves: nothing is relayed
    standup = fake.next_ts()
    fake.store.post(STAFF_CHANNEL, standup, {"channel": STAFF_CHANNEL, "text": "Standup at ten"})
    await slack.message(AGENT, "On my way", STAFF_CHANNEL, thread_ts=standup)
    assert fake.messages(DM)[-1]["text"] == "*Agent One:* It left the depot today."
    assert len(fake.messages(DM)) == 2  # the acknowledgement and the answer


def long_text(words: int) -> str:
    return " ".join(f"word{i}" for i in range(words))


async def test_a_long_message_whose_first_answer_was_lost_arrives_whole_once(
    slack: SlackDesk,
) -> None:
    fake = slack.fake
    await slack.message(CUSTOMER, "short start", DM, channel_type="im")
    (card,) = fake.messages(STAFF_CHANNEL)
    words = long_text(2500)  # over 22,000 characters: several posts
    fake.drop("chat.postMessage", channel=STAFF_CHANNEL)  # part one posted, its answer lost
    await slack.message(CUSTOMER, words, DM, channel_type="im")
    await retry_until_idle(slack)

    relays = [r["text"] for r in fake.replies(STAFF_CHANNEL, card["ts"])]
    assert relays[0] == "*Alice:* short start"
    parts = relays[1:]
    assert len(parts) > 3
    assert all(len(p) <= 3000 for p in parts)
    assert " ".join(parts).removeprefix("*Alice:* ").split() == words.split()
    assert [metadata(p)["part"] for p in fake.replies(STAFF_CHANNEL, card["ts"])[1:]] == list(
        range(len(parts))
    )


async def test_a_long_message_refused_half_way_posts_no_part_twice(slack: SlackDesk) -> None:
    fake = slack.fake
    await slack.message(CUSTOMER, "short start", DM, channel_type="im")
    (card,) = fake.messages(STAFF_CHANNEL)
    words = long_text(2500)
    fake.limit_posts(burst=2, per_second=1.0)  # Slack's pace: two parts, then 429
    await slack.message(CUSTOMER, words, DM, channel_type="im")
    await retry_until_idle(slack, rounds=30)

    parts = [r["text"] for r in fake.replies(STAFF_CHANNEL, card["ts"])][1:]
    assert " ".join(parts).removeprefix("*Alice:* ").split() == words.split()


STORM = 600  # seconds of 429s
STORM_RETRY_AFTER = 30
STEP = 10


async def test_a_ten_minute_429_storm_is_waited_out_and_nothing_is_lost_or_doubled(
    slack: SlackDesk,
) -> None:
    fake = slack.fake
    # the test moves the clock itself: a channel closed by a Retry-After opens when it does
    slack.app.sender.pacer = Pacer(FollowClock(slack.clock))
    people = {f"USTORM{i:04d}": f"DSTORM{i:04d}" for i in range(20)}
    fake.users.update({user: {"name": f"Storm {i}"} for i, user in enumerate(people)})
    # ten write early (their acks wait over five minutes), ten late (theirs do not); the clock
    # moves a third of a Retry-After at a time, so a sender that did not wait it out would show
    writes_at = [*range(0, 100, STEP), *range(400, 500, STEP)]
    schedule = dict(zip(writes_at, people, strict=True))
    start = slack.clock.now()
    fake.storm(STORM, retry_after=STORM_RETRY_AFTER)
    for second in range(0, STORM + STORM_RETRY_AFTER, STEP):
        slack.clock.advance(timedelta(seconds=second) - (slack.clock.now() - start))
        if user := schedule.get(second):
            await slack.message(user, f"{user} needs help", people[user], channel_type="im")
        await slack.app.sender.drain()
    # after the storm the staff channel is paced at Slack's rate: a second at a time
    for _ in range(4 * len(people)):
        async with slack.app.desk.uow_factory() as uow:
            if await uow.outbox.pending_count() == 0:
                break
        slack.clock.advance(timedelta(seconds=1))
        await slack.app.sender.drain()
    finished = (slack.clock.now() - start).total_seconds()

    async with slack.app.database.begin() as conn:
        rows = (await conn.execute(select(outbox.c.id, outbox.c.status, outbox.c.created_at))).all()
    assert {row.status for row in rows} == {"sent"}  # nothing failed, nothing left behind
    cards = fake.messages(STAFF_CHANNEL)
    assert len(cards) == len(people)
    notices = Counter[str]()
    for i, (user, dm) in enumerate(people.items()):
        (card,) = [c for c in cards if f"{user} needs help" in json.dumps(c["blocks"])]
        thread = [r["text"] for r in fake.replies(STAFF_CHANNEL, card["ts"])]
        assert thread[0] == f"*Storm {i}:* {user} needs help"  # after the card, in its thread
        notices[user] = sum(t.startswith("A message to the customer of #") for t in thread)
        assert len(thread) == 1 + notices[user]
        (ack,) = fake.messages(dm)
        assert f"Hi Storm {i}" in ack["text"]
    early = list(people)[:10]
    assert notices == Counter(dict.fromkeys(early, 1))  # one notice each, early acks only

    # Slack's pace was kept: a customer's DM is its own channel, so each waiting ack was
    # tried once per Retry-After; the staff channel, shared by every card, was tried once per
    # Retry-After in all, not once per waiting card
    written = {row.id: row.created_at for row in rows}
    channel_of = {int(metadata(c.args)["outbox_id"]): c.args["channel"] for c in fake.refused}
    tries = Counter(int(metadata(c.args)["outbox_id"]) for c in fake.refused)
    acks = {i: n for i, n in tries.items() if channel_of[i] != STAFF_CHANNEL}
    assert len(acks) == len(people)
    for outbox_id, count in acks.items():
        windows = (STORM - (written[outbox_id] - start).total_seconds()) / STORM_RETRY_AFTER
        assert windows - 1 <= count <= math.ceil(windows), (outbox_id, count, windows)
    staff_tries = sum(n for i, n in tries.items() if channel_of[i] == STAFF_CHANNEL)
    assert staff_tries <= STORM / STORM_RETRY_AFTER + 1
    # and once the storm ended, the staff channel filled at Slack's rate, not slower:
    # 20 cards, 20 first messages and 10 notices at 1/s after a burst
    staff_posts = 2 * len(people) + len(early)
    assert finished <= STORM + STORM_RETRY_AFTER + staff_posts
