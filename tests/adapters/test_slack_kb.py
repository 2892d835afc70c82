"""The knowledge base on Slack, through the real slack_bolt against the fake Slack: the
offered article's buttons, "This solved it", and `/ticket kb` as on every platform."""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.adapters.fake_slack import running_fake_slack
from tests.adapters.slack_harness import STAFF_CHANNEL, SlackDesk, start, stop
from tests.adapters.test_slack import AGENT, CUSTOMER, DM, posts

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "kb"


@pytest.fixture
async def slack(tmp_path: Path) -> AsyncIterator[SlackDesk]:
    shutil.copytree(FIXTURE, tmp_path / "kb")  # beside the database: the default place
    async with running_fake_slack() as fake:
        fake.staff = {AGENT}
        fake.users = {AGENT: {"name": "Agent One"}, CUSTOMER: {"name": "Alice", "locale": "en"}}
        desk = await start(fake, tmp_path)
        try:
            yield desk
        finally:
            await stop(desk)


async def test_an_offered_article_solves_the_ticket_from_slack(slack: SlackDesk) -> None:
    await slack.message(CUSTOMER, "I was charged twice this month", DM, channel_type="im")
    ack = posts(slack, DM)[0]
    assert "Charged twice" in ack["text"]
    buttons = [
        e["action_id"] for b in ack["blocks"] if b["type"] == "actions" for e in b["elements"]
    ]
    assert buttons == ["kb:solved:1", "kb:help:1"]

    found = await slack.command(AGENT, "kb #1 money back")
    assert "`refund-policy`" in found

    await slack.press(CUSTOMER, "kb:solved:1", DM)
    assert "Glad the article helped!" in posts(slack, DM)[-1]["text"]
    told = [str(p.get("text", "")) for p in posts(slack, STAFF_CHANNEL)]
    assert any("closed as self-served" in text for text in told)
    sent = len(posts(slack, DM))
    await slack.press(CUSTOMER, "kb:solved:1", DM)  # again: nothing more
    await slack.press(CUSTOMER, "csat:0:1", DM)  # an offer's button from before its own route
    assert len(posts(slack, DM)) == sent


async def test_still_need_help_from_slack_answers_the_customer_once(slack: SlackDesk) -> None:
    await slack.message(CUSTOMER, "I was charged twice this month", DM, channel_type="im")
    await slack.press(CUSTOMER, "kb:help:1", DM)
    await slack.press(CUSTOMER, "kb:help:1", DM)
    answers = [p["text"] for p in posts(slack, DM)[1:]]
    assert answers == ["Thanks for letting us know. An agent will be with you soon."]
    told = [str(p.get("text", "")) for p in posts(slack, STAFF_CHANNEL)]
    assert sum("still need help" in text for text in told) == 1
