"""Outbox messages that carry files (ticket transcripts), through the real Slack adapter and
slack_sdk's external upload against the fake Slack: shared once, where they belong, even when
Slack refuses or loses an answer. Time is the desk's manual clock; no test sleeps."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import aiohttp
import pytest
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.delivery.pacing import Pacer
from bot.model import Audience, FileToSend
from tests.adapters.fake_slack import running_fake_slack
from tests.adapters.slack_harness import STAFF_CHANNEL, SlackDesk, start, stop
from tests.adapters.test_slack import AGENT, CUSTOMER, DM, _card_ts
from tests.adapters.transcript_outbox import BODY, FILES
from tests.adapters.transcript_outbox import write_transcript as written
from tests.support.virtual_time import RunningClock

RETRY = timedelta(seconds=1)  # the sender's first backoff after a lost answer


@pytest.fixture
async def slack(tmp_path: Path) -> AsyncIterator[SlackDesk]:
    async with running_fake_slack() as fake:
        fake.staff = {AGENT}
        fake.users = {AGENT: {"name": "Agent One"}, CUSTOMER: {"name": "Alice"}}
        desk = await start(fake, tmp_path)
        try:
            await desk.message(CUSTOMER, "Printer on fire", DM, channel_type="im")  # ticket #1
            yield desk
        finally:
            await stop(desk)


async def write_transcript(
    slack: SlackDesk, audience: Audience = Audience.STAFF, files: list[FileToSend] = FILES
) -> None:
    await written(slack.app.desk.uow_factory, "slack", slack.clock.now(), audience, files)


async def retry_until_idle(slack: SlackDesk, rounds: int = 10) -> None:
    for _ in range(rounds):
        slack.clock.advance(RETRY)
        await slack.app.sender.drain()
    async with slack.app.desk.uow_factory() as uow:
        assert await uow.outbox.pending_count() == 0


def contents(slack: SlackDesk, channel: str) -> dict[str, str]:
    return {f.name: f.text for f in slack.fake.shared_files(channel)}


async def test_a_transcript_is_shared_in_the_staff_thread_once(slack: SlackDesk) -> None:
    await write_transcript(slack)
    await slack.app.sender.drain()
    card_ts = _card_ts(slack)
    shared = slack.fake.shared_files(STAFF_CHANNEL)
    assert contents(slack, STAFF_CHANNEL) == {f.name: f.text for f in FILES}
    assert {(f.thread_ts, f.comment) for f in shared} == {(card_ts, BODY)}
    assert len({f.ts for f in shared}) == 1  # one message with both files
    # the thread shows it as Slack would: the comment with the files on it
    reply = slack.fake.replies(STAFF_CHANNEL, card_ts)[-1]
    assert reply["text"] == BODY
    assert [f["name"] for f in reply["files"]] == ["ticket-1.html", "ticket-1.txt"]
    assert len(slack.fake.called("files.getUploadURLExternal")) == 2
    assert len(slack.fake.called("files.completeUploadExternal")) == 1
    assert not slack.fake.shared_files(DM)


async def test_a_customers_copy_is_shared_in_their_dm(slack: SlackDesk) -> None:
    await write_transcript(slack, Audience.CUSTOMER)
    await slack.app.sender.drain()
    assert contents(slack, DM) == {f.name: f.text for f in FILES}
    assert {(f.thread_ts, f.comment) for f in slack.fake.shared_files(DM)} == {("", BODY)}
    assert not slack.fake.shared_files(STAFF_CHANNEL)


async def test_a_refused_upload_waits_out_the_retry_after_and_is_shared_once(
    slack: SlackDesk,
) -> None:
    slack.fake.fail(
        "files.completeUploadExternal",
        429,
        {"ok": False, "error": "ratelimited"},
        {"Retry-After": "30"},
    )
    await write_transcript(slack)
    await slack.app.sender.drain()
    assert not slack.fake.shared_files()
    slack.clock.advance(timedelta(seconds=29))
    await slack.app.sender.drain()
    assert len(slack.fake.called("files.completeUploadExternal")) == 1  # not tried again yet
    slack.clock.advance(timedelta(seconds=1))
    await slack.app.sender.drain()
    assert contents(slack, STAFF_CHANNEL) == {f.name: f.text for f in FILES}
    assert len(slack.fake.shared_files()) == 2  # the first attempt's uploads were never shared


@pytest.mark.parametrize("after_effect", [True, False], ids=["shared", "not-shared"])
async def test_a_share_whose_answer_was_lost_is_made_once(
    slack: SlackDesk, after_effect: bool
) -> None:
    slack.fake.drop("files.completeUploadExternal", after_effect=after_effect)
    await write_transcript(slack)
    await slack.app.sender.drain()
    assert len(slack.fake.shared_files()) == (2 if after_effect else 0)
    await retry_until_idle(slack)
    assert contents(slack, STAFF_CHANNEL) == {f.name: f.text for f in FILES}
    assert len(slack.fake.shared_files()) == 2
    # in doubt, the thread was read first; what was shared already was not shared again
    assert slack.fake.called("conversations.replies")
    completions = len(slack.fake.accepted("files.completeUploadExternal"))
    assert completions == 1


async def test_a_rush_of_transcripts_keeps_to_slacks_tier_for_upload_urls(
    slack: SlackDesk,
) -> None:
    # the adapter's own pacer (the upload URLs' turns) runs on the test's clock too
    slack.adapter.client.pacer = Pacer(RunningClock(slack.clock))
    began = slack.clock.now()
    for _ in range(10):  # 20 upload URLs: Tier 4's burst (16), then 100 a minute
        await write_transcript(slack)
    await slack.app.sender.drain()
    waited = (slack.clock.now() - began).total_seconds()
    assert waited >= (20 - 16) * 60 / 100 - 0.01
    assert len(slack.fake.shared_files(STAFF_CHANNEL)) == 20
    assert not slack.fake.refused


async def test_the_fake_refuses_uploads_as_slack_does() -> None:
    async with running_fake_slack() as fake:
        client = AsyncWebClient(token="xoxb-t", base_url=fake.base_url + "api/")
        unknown: list[dict[str, str | None]] = [{"id": "F404", "title": "x"}]
        with pytest.raises(SlackApiError) as caught:
            await client.files_completeUploadExternal(files=unknown, channel_id=DM)
        assert caught.value.response["error"] == "file_not_found"
        opened = await client.files_getUploadURLExternal(filename="a.txt", length=2)
        mine: list[dict[str, str | None]] = [{"id": opened["file_id"], "title": "a"}]
        with pytest.raises(SlackApiError) as caught:  # no bytes came: nothing to share
            await client.files_completeUploadExternal(files=mine, channel_id=DM)
        assert caught.value.response["error"] == "file_not_found"
        async with aiohttp.ClientSession() as http:
            async with http.post(str(opened["upload_url"]), data=b"hi") as answer:
                assert answer.status == 200
            async with http.post(fake.base_url + "upload/F404", data=b"hi") as answer:
                assert answer.status == 404
        done = await client.files_completeUploadExternal(files=mine)  # no channel: private
        assert done["files"][0]["id"] == opened["file_id"]
        assert not fake.shared_files()
        with pytest.raises(SlackApiError) as caught:  # an upload completes once
            await client.files_completeUploadExternal(files=mine, channel_id=DM)
        assert caught.value.response["error"] == "file_not_found"
