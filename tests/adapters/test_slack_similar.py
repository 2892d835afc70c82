"""Similar closed tickets on a new ticket's card in Slack: each links to its thread (one
permalink asked of Slack per thread, kept for the card's later updates)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.adapters.fake_slack import running_fake_slack
from tests.adapters.slack_harness import STAFF_CHANNEL, SlackDesk, start, stop
from tests.adapters.test_slack import AGENT, posts

EARLIER = [
    "The export to PDF fails with an error",
    "Exporting to PDF shows an error",
    "How do I change my email address?",
    "My invoice shows the wrong VAT number",
    "The app crashes when I open the settings",
    "I was charged twice this month",
]


def _customer(i: int) -> tuple[str, str]:
    return f"UCUST{i:05d}", f"D0CUST{i:04d}"


@pytest.fixture
async def slack(tmp_path: Path) -> AsyncIterator[SlackDesk]:
    async with running_fake_slack() as fake:
        fake.staff = {AGENT}
        fake.users = {AGENT: {"name": "Agent One"}} | {
            _customer(i)[0]: {"name": f"Customer {i}", "locale": "en"} for i in range(10)
        }
        desk = await start(fake, tmp_path)
        try:
            yield desk
        finally:
            await stop(desk)


def _card(slack: SlackDesk, number: int) -> str:
    [card] = [
        p["text"]
        for p in posts(slack, STAFF_CHANNEL)
        if not p.get("thread_ts") and f"#{number} " in p["text"]
    ]
    return str(card)


async def test_a_new_tickets_card_links_closed_tickets_like_it(slack: SlackDesk) -> None:
    for i, text in enumerate(EARLIER):
        user, dm = _customer(i)
        await slack.message(user, text, dm, channel_type="im")
    await slack.command(AGENT, "close #1 fixed in 2.3")
    for number in range(2, len(EARLIER) + 1):
        await slack.command(AGENT, f"close #{number} done")
    similar = slack.app.desk.similar
    assert similar is not None
    await similar.catch_up()

    user, dm = _customer(9)
    await slack.message(user, "PDF export error again", dm, channel_type="im")  # #7
    card = _card(slack, 7)
    assert "Closed tickets like this one:" in card
    assert "|#1> The export to PDF fails with an error: fixed in 2.3" in card
    assert "|#2> Exporting to PDF shows an error: done" in card
    asked = len(slack.fake.called("chat.getPermalink"))
    assert len({c["message_ts"] for c in slack.fake.called("chat.getPermalink")}) == asked == 2

    # the card's update (a claim) links them as well, without asking Slack again
    await slack.command(AGENT, "claim #7")
    [update] = slack.fake.called("chat.update")[-1:]
    blocks = (
        json.dumps(update["blocks"]) if isinstance(update["blocks"], list) else update["blocks"]
    )
    assert "|#1> The export to PDF fails with an error: fixed in 2.3" in blocks
    assert len(slack.fake.called("chat.getPermalink")) == asked
