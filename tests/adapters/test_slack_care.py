"""Care over time in Slack: follow-up reminders with buttons, the customer's check-in,
response-target alerts and the digest in the leads channel, with links to the threads."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest

from tests.adapters.fake_slack import PERMALINK, running_fake_slack
from tests.adapters.slack_harness import LEADS_CHANNEL, STAFF_CHANNEL, SlackDesk, start, stop
from tests.adapters.test_slack import AGENT, AGENT2, CUSTOMER, DM, _card_ts, posts


@pytest.fixture(params=["http", "socket"])
async def slack(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[SlackDesk]:
    async with running_fake_slack() as fake:
        fake.staff = {AGENT, AGENT2}
        fake.channel_members = {LEADS_CHANNEL: {AGENT2}}
        fake.users = {
            AGENT: {"name": "Agent One"},
            AGENT2: {"name": "Lead Two"},
            CUSTOMER: {"name": "Alice", "locale": "en-US"},
        }
        desk = await start(
            fake, tmp_path, socket_mode=request.param == "socket", leads_channel=LEADS_CHANNEL
        )
        try:
            yield desk
        finally:
            await stop(desk)


async def _later(slack: SlackDesk, delta: timedelta) -> None:
    slack.clock.advance(delta)
    await slack.app.runner.fire_due()
    await slack.app.sender.drain()


def _buttons(post: dict) -> list[str]:  # type: ignore[type-arg]
    rows = [b for b in post.get("blocks", []) if b["type"] == "actions"]
    return [e["action_id"] for row in rows for e in row["elements"]]


async def test_a_due_follow_up_leads_to_a_check_in_the_customer_answers(slack: SlackDesk) -> None:
    await slack.message(CUSTOMER, "VPN drops every hour", DM, channel_type="im")
    thread = _card_ts(slack)
    await slack.press(AGENT, "ticket:claim:1", STAFF_CHANNEL)
    await slack.command(AGENT, "close #1 new router firmware")
    await _later(slack, timedelta(days=3))
    reminder = posts(slack, STAFF_CHANNEL, thread)[-1]
    assert reminder["text"].startswith(f"<@{AGENT}> Follow-up due for #1")
    checkin, snooze, done = _buttons(reminder)
    assert snooze.startswith("followup:snooze:")
    assert done.startswith("followup:done:")

    await slack.press(AGENT, checkin, STAFF_CHANNEL)
    question = posts(slack, DM)[-1]
    assert "Is everything still working?" in question["text"]
    assert _buttons(question) == ["checkin:good:1", "checkin:trouble:1"]
    assert (
        "sent the customer the after-care check-in"
        in posts(slack, STAFF_CHANNEL, thread)[-1]["text"]
    )

    await slack.press(CUSTOMER, "checkin:trouble:1", DM)
    notice = posts(slack, STAFF_CHANNEL, thread)[-1]["text"]
    assert notice.startswith(f"<@{AGENT}> ")
    assert "still having trouble" in notice
    assert "Reopened" in str(slack.fake.called("chat.update")[-1]["blocks"])
    assert "reopened ticket #1" in posts(slack, DM)[-1]["text"]


async def test_nudge_in_the_thread_and_breach_in_the_leads_channel(slack: SlackDesk) -> None:
    await slack.message(CUSTOMER, "Export is slow", DM, channel_type="im")
    thread = _card_ts(slack)
    await _later(slack, timedelta(hours=3))
    nudge = posts(slack, STAFF_CHANNEL, thread)[-1]["text"]
    assert nudge.startswith("<!here> Heads-up: 75%")  # no staff user group configured
    await _later(slack, timedelta(hours=1))
    [alert] = posts(slack, LEADS_CHANNEL)
    link = f"<{PERMALINK}{STAFF_CHANNEL}/p{thread.replace('.', '')}|#1>"
    assert alert["text"] == (
        f'Response target missed: {link} "Export is slow" (Normal, target 4 hours) '
        "has no answer yet and nobody holds it."
    )
    assert "First-response target missed" in str(slack.fake.called("chat.update")[-1]["blocks"])


async def test_the_digest_reaches_the_leads_and_leads_only(slack: SlackDesk) -> None:
    await slack.message(CUSTOMER, "Password reset?", DM, channel_type="im")
    thread = _card_ts(slack)
    await slack.app.runner.start()
    await _later(slack, timedelta(days=1))  # the next 09:00
    digest = next(p for p in posts(slack, LEADS_CHANNEL) if "Daily digest" in p["text"])
    assert "New 1 · Closed 0" in digest["text"]
    assert (
        f"<{PERMALINK}{STAFF_CHANNEL}/p{thread.replace('.', '')}|#1> Password reset?"
        in digest["text"]
    )
    assert "Daily digest" in await slack.command(AGENT2, "digest")
    assert "Only leads can see the digest" in await slack.command(AGENT, "digest")
    assert "No open follow-ups" in await slack.command(AGENT, "followups")
