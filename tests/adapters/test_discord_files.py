"""Outbox messages that carry files (ticket transcripts), through the real Discord adapter and
discord.py's multipart sends against the fake Discord: attached once, where they belong, in
as many messages as Discord's limits need. Time is the desk's manual clock, shared with the
fake's nonce window; the sender's retries are driven by moving it, never by sleeping."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from adapters.discord.deliver import MAX_BYTES
from bot.delivery.pacing import Pacer
from bot.model import Audience, FileToSend
from tests.adapters.fake_discord import running_fake_discord
from tests.adapters.test_discord import CUSTOMER, DM, DiscordDesk, connected
from tests.adapters.test_discord_durability import said_by_bot, staff_thread, until
from tests.adapters.test_discord_durability_delivery import retry_until_idle, shared_clock
from tests.adapters.transcript_outbox import BODY, FILES
from tests.adapters.transcript_outbox import write_transcript as written
from tests.support.virtual_time import RunningClock


@pytest.fixture
async def desk(tmp_path: Path) -> AsyncIterator[DiscordDesk]:
    async with running_fake_discord() as fake, connected(fake, tmp_path) as desk:
        # a Retry-After closes the route on the test's clock: waiting it out moves the clock
        desk.app.sender.pacer = Pacer(RunningClock(shared_clock(desk)))
        await desk.say(CUSTOMER, "alice", "Printer on fire", DM)  # ticket #1
        await until(lambda: len(fake.threads) == 1)
        await retry_until_idle(desk)
        yield desk


async def write_transcript(
    desk: DiscordDesk, audience: Audience = Audience.STAFF, files: list[FileToSend] = FILES
) -> None:
    await written(desk.app.desk.uow_factory, "discord", desk.app.desk.clock.now(), audience, files)


def contents(desk: DiscordDesk, channel: int | str) -> dict[str, str]:
    return {f.filename: f.text for f in desk.fake.files_in(channel)}


async def test_a_transcript_is_attached_in_the_staff_thread_once(desk: DiscordDesk) -> None:
    fake = desk.fake
    thread = staff_thread(fake, 1)
    await write_transcript(desk)
    await retry_until_idle(desk)
    assert contents(desk, thread) == {f.name: f.text for f in FILES}
    assert said_by_bot(fake, thread)[-1] == BODY
    (sent,) = [m for m in fake.messages(thread) if m["attachments"]]  # one message, both files
    assert [(a["filename"], a["size"]) for a in sent["attachments"]] == [
        (f.name, len(f.text.encode())) for f in FILES
    ]
    assert all(a["id"] and a["url"].endswith(a["filename"]) for a in sent["attachments"])
    (call,) = [c for c in desk.sent_to(thread) if c.files]
    assert call.body["allowed_mentions"]["parse"] == []  # pings nobody, as every send
    assert call.body["nonce"]
    assert not fake.files_in(DM)


async def test_a_customers_copy_is_attached_in_their_dm(desk: DiscordDesk) -> None:
    await write_transcript(desk, Audience.CUSTOMER)
    await retry_until_idle(desk)
    assert contents(desk, DM) == {f.name: f.text for f in FILES}
    assert said_by_bot(desk.fake, DM)[-1] == BODY
    assert not desk.fake.files_in(staff_thread(desk.fake, 1))


async def test_a_send_refused_with_429s_is_repeated_with_its_files_and_arrives_once(
    desk: DiscordDesk,
) -> None:
    fake, thread = desk.fake, staff_thread(desk.fake, 1)
    refusal = {"message": "You are being rate limited.", "retry_after": 0, "global": False}
    for _ in range(5):  # discord.py's own tries, then the outbox's retry after Retry-After
        fake.fail(f"channels/{thread}/messages", 429, refusal)
    await write_transcript(desk)
    await retry_until_idle(desk)
    sends = [c for c in desk.sent_to(thread) if c.body.get("content") == BODY]
    assert len(sends) == 6
    assert all([f.text for f in s.files] == [f.text for f in FILES] for s in sends)
    assert contents(desk, thread) == {f.name: f.text for f in FILES}
    assert len(fake.files_in(thread)) == 2


async def test_a_send_whose_answer_was_lost_is_found_not_repeated(desk: DiscordDesk) -> None:
    fake, thread = desk.fake, staff_thread(desk.fake, 1)
    fake.drop(f"channels/{thread}/messages")  # attached, but no answer came
    await write_transcript(desk)
    await desk.app.sender.drain()
    assert fake.dropped == 1
    # past Discord's nonce window: the thread's history tells it was sent
    shared_clock(desk).advance(timedelta(seconds=fake.nonce_window + 60))
    await retry_until_idle(desk)
    assert len([c for c in desk.sent_to(thread) if c.files]) == 1
    assert len(fake.files_in(thread)) == 2


async def test_files_over_a_messages_limit_go_in_further_messages(desk: DiscordDesk) -> None:
    fake, thread = desk.fake, staff_thread(desk.fake, 1)
    big = [FileToSend(f"part-{i}.txt", "text/plain", str(i) * (MAX_BYTES // 2 + 1)) for i in (1, 2)]
    await write_transcript(desk, files=big)
    await retry_until_idle(desk)
    sent = [m for m in fake.messages(thread) if m["attachments"]]
    assert [(m["content"], [a["filename"] for a in m["attachments"]]) for m in sent] == [
        (BODY, ["part-1.txt"]),
        ("", ["part-2.txt"]),
    ]
    assert contents(desk, thread) == {f.name: f.text for f in big}


async def test_a_file_too_large_for_discord_is_named_not_attached(desk: DiscordDesk) -> None:
    fake, thread = desk.fake, staff_thread(desk.fake, 1)
    huge = FileToSend("ticket-1.html", "text/html", "x" * (MAX_BYTES + 1))
    await write_transcript(desk, files=[huge, FILES[1]])
    await retry_until_idle(desk)
    assert contents(desk, thread) == {"ticket-1.txt": FILES[1].text}
    text = said_by_bot(fake, thread)[-1]
    assert text.startswith(BODY)
    assert "ticket-1.html (10.0 MiB) is over Discord's 10 MiB limit" in text
    assert not fake.refused()


async def test_the_fake_refuses_files_past_discords_limits() -> None:
    async with running_fake_discord(upload_limit=4) as fake, aiohttp.ClientSession() as http:
        url = f"{fake.base_url}/api/v10/channels/{DM}/messages"

        async def send(*files: bytes) -> tuple[int, dict[str, Any]]:
            form = aiohttp.FormData(quote_fields=False)
            form.add_field("payload_json", json.dumps({"content": "x"}))
            for index, content in enumerate(files):
                form.add_field(f"files[{index}]", content, filename=f"f{index}.txt")
            async with http.post(url, data=form) as answer:
                return answer.status, await answer.json()

        assert (await send(b"12345"))[1]["code"] == 40005  # over the upload limit
        status, refused = await send(*[b"1"] * 11)
        assert (status, refused["code"]) == (400, 50035)  # more than 10 files
        status, sent = await send(b"1234", b"")
        assert status == 200
        assert [(a["filename"], a["size"]) for a in sent["attachments"]] == [
            ("f0.txt", 4),
            ("f1.txt", 0),
        ]
        assert [f.content for f in fake.files_in(DM)] == [b"1234", b""]
