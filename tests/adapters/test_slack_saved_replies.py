"""The card's "Saved reply" button through the real Slack adapter against the fake Slack: a
form lists the saved replies, and the one picked goes to the customer in their language."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from bot.settings import DeskSettings
from tests.adapters.fake_slack import running_fake_slack
from tests.adapters.slack_harness import STAFF_CHANNEL, SlackDesk, start, stop
from tests.adapters.test_slack import AGENT, CUSTOMER, DM, posts

KENJI, KENJI_DM = "UJAPAN0001", "D0JAPAN001"
SNIPPETS = {
    "refund": {
        "en": "Hi {{ customer }}, your refund is on its way.",
        "ja": "{{ customer }}様、返金の手続きをいたしました。",
    },
    "shipping": {"en": "Your order ships today."},
}


@pytest.fixture(params=["http", "socket"])
async def slack(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[SlackDesk]:
    async with running_fake_slack() as fake:
        fake.staff = {AGENT}
        fake.users = {
            AGENT: {"name": "Agent One"},
            CUSTOMER: {"name": "Alice", "locale": "en-US"},
            KENJI: {"name": "Kenji", "locale": "ja-JP"},
        }
        settings = DeskSettings(snippets=SNIPPETS)
        desk = await start(fake, tmp_path, socket_mode=request.param == "socket", desk=settings)
        try:
            yield desk
        finally:
            await stop(desk)


def _buttons(message: dict[str, Any]) -> list[str]:
    return [
        e["action_id"] for b in message["blocks"] if b["type"] == "actions" for e in b["elements"]
    ]


def _opened(slack: SlackDesk) -> dict[str, Any]:
    view = slack.fake.called("views.open")[-1]["view"]
    return dict(json.loads(view) if isinstance(view, str) else view)


def _picked(name: str) -> dict[str, dict[str, Any]]:
    selected = {"text": {"type": "plain_text", "text": name}, "value": name}
    return {"snippet": {"value": {"type": "static_select", "selected_option": selected}}}


async def test_the_picked_reply_reaches_the_customer_in_their_language(slack: SlackDesk) -> None:
    await slack.message(KENJI, "返金をお願いします", KENJI_DM, channel_type="im")
    card = posts(slack, STAFF_CHANNEL)[0]
    assert _buttons(card) == [
        "ticket:claim:1",
        "ticket:escalate:1",
        "snippet:pick:1",
        "ticket:close:1",
    ]

    await slack.press(AGENT, "snippet:pick:1", STAFF_CHANNEL)
    form = _opened(slack)
    assert form["callback_id"] == "ticket_snippet"
    (field,) = [b for b in form["blocks"] if b["type"] == "input"]
    assert [o["value"] for o in field["element"]["options"]] == ["refund", "shipping"]

    await slack.submit(AGENT, "ticket_snippet", 1, _picked("refund"), form["private_metadata"])
    sent = posts(slack, KENJI_DM)[-1]["text"]
    assert "Kenji様、返金の手続きをいたしました。" in sent
    told = slack.fake.called("chat.postEphemeral")[-1]
    assert (told["user"], told["channel"]) == (AGENT, STAFF_CHANNEL)
    assert told["text"] == "Sent to the customer of #1."
    # the thread shows what went, as for `/ticket send`
    assert any("refund" in p["text"] for p in posts(slack, STAFF_CHANNEL)[1:])


async def test_an_english_customer_gets_the_english_text(slack: SlackDesk) -> None:
    await slack.message(CUSTOMER, "Where is my refund?", DM, channel_type="im")
    await slack.press(AGENT, "snippet:pick:1", STAFF_CHANNEL)
    await slack.submit(
        AGENT, "ticket_snippet", 1, _picked("refund"), _opened(slack)["private_metadata"]
    )
    assert "Hi Alice, your refund is on its way." in posts(slack, DM)[-1]["text"]


async def test_someone_not_on_staff_is_refused_and_no_form_opens(slack: SlackDesk) -> None:
    await slack.message(CUSTOMER, "Where is my refund?", DM, channel_type="im")
    await slack.press(CUSTOMER, "snippet:pick:1", STAFF_CHANNEL)
    assert not slack.fake.called("views.open")
    assert "Only support staff" in str(slack.fake.responses[-1]["text"])
    # a submission made up without the form is refused by the desk all the same
    dm_posts = len(posts(slack, DM))
    await slack.submit(CUSTOMER, "ticket_snippet", 1, _picked("refund"))
    assert len(posts(slack, DM)) == dm_posts
    assert "Only support staff" in slack.fake.called("chat.postEphemeral")[-1]["text"]


async def test_a_closed_tickets_card_has_no_saved_reply_button(slack: SlackDesk) -> None:
    await slack.message(CUSTOMER, "Never mind", DM, channel_type="im")
    await slack.command(AGENT, "close #1 solved")
    update = slack.fake.called("chat.update")[-1]
    blocks = json.loads(update["blocks"]) if isinstance(update["blocks"], str) else update["blocks"]
    assert _buttons({"blocks": blocks}) == ["ticket:reopen:1"]


@pytest.mark.parametrize("count", [0, 120])
async def test_the_form_says_how_to_add_one_and_lists_at_most_100(
    tmp_path: Path, count: int
) -> None:
    async with running_fake_slack() as fake:
        fake.staff = {AGENT}
        fake.users = {CUSTOMER: {"name": "Alice", "locale": "en-US"}}
        snippets = {f"reply-{i:03d}": {"en": f"Text {i}"} for i in range(count)}
        slack = await start(fake, tmp_path, desk=DeskSettings(snippets=snippets))
        try:
            await slack.message(CUSTOMER, "Hello", DM, channel_type="im")
            await slack.press(AGENT, "snippet:pick:1", STAFF_CHANNEL)
            form = _opened(slack)
        finally:
            await stop(slack)
    inputs = [b for b in form["blocks"] if b["type"] == "input"]
    if not count:
        assert not inputs
        assert "submit" not in form
        assert "/ticket snippet add" in form["blocks"][0]["text"]["text"]
        return
    options = [o["value"] for o in inputs[0]["element"]["options"]]
    assert options == [f"reply-{i:03d}" for i in range(100)]
    assert "The first 100 of 120" in str(form["blocks"])
