"""The Discord adapter's deliveries when Discord's answers are lost, refused or slow: every card,
relay and acknowledgement shows once. Time is the desk's manual clock, shared by the outbox
sender and the fake Discord's nonce window and rate limits; the sender's retries are driven
by moving it, never by sleeping."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from bot.clock import FrozenClock
from storage.tables import outbox
from tests.adapters.fake_discord import FORUM, STAFF_ROLE, running_fake_discord
from tests.adapters.test_discord import AGENT, CUSTOMER, DM, DiscordDesk, connected
from tests.adapters.test_discord_durability import said_by_bot, staff_thread, until

STEP = timedelta(seconds=1)  # the sender's first backoff, and Retry-After rounded up


def shared_clock(desk: DiscordDesk) -> FrozenClock:
    clock = desk.app.desk.clock
    assert isinstance(clock, FrozenClock)
    desk.fake.clock = lambda: clock.now().timestamp()
    return clock


async def retry_until_idle(desk: DiscordDesk, rounds: int = 10) -> None:
    """Move time on and deliver until nothing is waiting; nothing may have failed."""
    clock = shared_clock(desk)
    for _ in range(rounds):
        clock.advance(STEP)
        await desk.app.sender.drain()
        async with desk.app.desk.uow_factory() as uow:
            if await uow.outbox.pending_count() == 0:
                break
    async with desk.app.database.begin() as conn:
        statuses = {row.status for row in await conn.execute(select(outbox.c.status))}
    assert statuses == {"sent"}  # nothing failed, nothing left behind


@pytest.fixture
async def desk(tmp_path: Path) -> AsyncIterator[DiscordDesk]:
    async with running_fake_discord() as fake, connected(fake, tmp_path) as desk:
        shared_clock(desk)
        yield desk


@pytest.mark.parametrize("after_effect", [True, False], ids=["posted", "not_posted"])
async def test_an_acknowledgement_whose_answer_was_lost_reaches_the_customer_once(
    desk: DiscordDesk, after_effect: bool
) -> None:
    fake = desk.fake
    fake.drop(f"channels/{DM}/messages", after_effect=after_effect)  # no answer came
    await desk.say(CUSTOMER, "alice", "Where is my parcel?", DM)
    await until(lambda: fake.dropped == 1)
    await retry_until_idle(desk)
    (ack,) = said_by_bot(fake, DM)
    assert "ticket #1" in ack
    sends = fake.called("POST", f"channels/{DM}/messages")  # any resend names the same row
    assert len({s.body["nonce"] for s in sends}) == 1
    assert sends[-1].body["enforce_nonce"]
    assert said_by_bot(fake, staff_thread(fake, 1)) == ["**alice:** Where is my parcel?"]


async def test_a_long_answer_whose_first_part_was_lost_arrives_whole_once(
    desk: DiscordDesk,
) -> None:
    fake = desk.fake
    await desk.say(CUSTOMER, "alice", "Tell me everything.", DM)
    await until(lambda: len(fake.threads) == 1)
    await retry_until_idle(desk)
    words = " ".join(f"w{i}" for i in range(1000))  # about 5,000 characters: three parts
    fake.drop(f"channels/{DM}/messages")
    thread = int(staff_thread(fake, 1))
    await desk.say(AGENT, "bob", words, thread, roles=[STAFF_ROLE])
    await until(lambda: fake.dropped == 1)
    await retry_until_idle(desk)
    parts = said_by_bot(fake, DM)[1:]
    assert len(parts) == 3
    assert all(len(p) <= 2000 for p in parts)
    assert " ".join(parts).removeprefix("**bob:** ").split() == words.split()


@pytest.mark.parametrize("when", ["same_process", "after_a_restart"])
async def test_a_forum_post_whose_answer_was_lost_is_made_once(tmp_path: Path, when: str) -> None:
    # GUILD_CREATE lists the active threads, as Discord's does: a new process sees the post
    async with running_fake_discord(threads_in_guild_create=True) as fake:
        async with connected(fake, tmp_path) as desk:
            shared_clock(desk)
            fake.drop(f"channels/{FORUM}/threads")
            await desk.say(CUSTOMER, "alice", "Printer on fire", DM)
            await until(lambda: fake.dropped == 1)
            thread = staff_thread(fake, 1)
            if when == "same_process":  # THREAD_CREATE told the bot about the post
                await until(lambda: desk.adapter.client.get_channel(int(thread)) is not None)
                await retry_until_idle(desk)
        if when == "after_a_restart":
            async with connected(fake, tmp_path) as desk:
                await retry_until_idle(desk)
                assert said_by_bot(fake, thread) == ["**alice:** Printer on fire"]
        else:
            assert said_by_bot(fake, thread) == ["**alice:** Printer on fire"]
        assert len(fake.called("POST", f"channels/{FORUM}/threads")) == 1
        assert len(fake.threads) == 1
        assert len(said_by_bot(fake, DM)) == 1


async def test_a_server_error_on_a_send_is_retried_and_the_message_arrives_once(
    desk: DiscordDesk,
) -> None:
    fake = desk.fake
    fake.fail(f"channels/{DM}/messages", 503, {"message": "Service Unavailable", "code": 0})
    await desk.say(CUSTOMER, "alice", "Where is my parcel?", DM)
    await fake.wait_for("POST", f"channels/{DM}/messages")
    await retry_until_idle(desk)
    assert len(fake.called("POST", f"channels/{DM}/messages")) == 2
    (ack,) = said_by_bot(fake, DM)
    assert "ticket #1" in ack


async def test_a_storm_of_429s_is_waited_out_and_nothing_fails(desk: DiscordDesk) -> None:
    fake = desk.fake
    # one message a second for every send, on the shared clock: most sends are refused
    fake.limit_route("/messages", per_window=1, window=0.01, method="POST")
    customers = [(CUSTOMER + i, f"customer{i}", DM + 10 + i) for i in range(3)]
    for uid, name, dm in customers:
        await desk.say(uid, name, f"help {name}", dm)
        await desk.say(uid, name, f"more from {name}", dm)
    await fake.wait_for("POST", f"channels/{FORUM}/threads", count=3)
    await retry_until_idle(desk, rounds=40)
    assert fake.refused("/messages") > 0
    numbers = set()
    for _, name, dm in customers:
        (ack,) = said_by_bot(fake, dm)
        numbers.add(number := int(ack.split("ticket #")[1].split()[0]))
        relays = said_by_bot(fake, staff_thread(fake, number))
        assert relays == [f"**{name}:** help {name}", f"**{name}:** more from {name}"]
    assert numbers == {1, 2, 3}


async def test_a_send_in_doubt_when_the_process_died_is_not_repeated_minutes_later(
    tmp_path: Path,
) -> None:
    async with running_fake_discord() as fake:
        async with connected(fake, tmp_path) as desk:
            shared_clock(desk)
            fake.drop(f"channels/{DM}/messages")
            await desk.say(CUSTOMER, "alice", "Where is my parcel?", DM)
            await until(lambda: fake.dropped == 1)
        async with connected(fake, tmp_path) as desk:  # back three minutes later
            shared_clock(desk).advance(timedelta(seconds=fake.nonce_window + 60))
            await retry_until_idle(desk)
            assert len(said_by_bot(fake, DM)) == 1
