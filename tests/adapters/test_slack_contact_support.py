"""Contact support on Slack: the App Home button, the form that swaps in the picked category's
questions, and the ticket it opens in the customer's DM, through the real Bolt app against
the fake Slack (which keeps the views and what the customer types in them)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from bot.categories import Category
from bot.settings import DeskSettings
from tests.adapters.fake_slack import FakeSlack, running_fake_slack
from tests.adapters.slack_harness import STAFF_CHANNEL, SlackDesk, start, stop

AGENT, CUSTOMER, KENJI = "UAGENT0001", "UCUST00001", "UJAPAN0001"
CATEGORIES = {
    "billing": Category(
        "billing",
        {"en": "Billing", "ja": "請求"},
        "💳",
        ({"en": "Invoice number?", "ja": "請求書番号は？"},),
    ),
    "bug": Category(
        "bug",
        {"en": "Bug report"},
        "🐞",
        ({"en": "Which app version?"}, {"en": "What did you expect?"}),
    ),
}


def _people(fake: FakeSlack) -> None:
    fake.staff = {AGENT}
    fake.users = {
        AGENT: {"name": "Agent One"},
        CUSTOMER: {"name": "Alice", "locale": "en-US"},
        KENJI: {"name": "Kenji", "locale": "ja-JP"},
    }


@pytest.fixture(params=["http", "socket"])
async def slack(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[SlackDesk]:
    async with running_fake_slack() as fake:
        _people(fake)
        desk = await start(
            fake,
            tmp_path,
            socket_mode=request.param == "socket",
            desk=DeskSettings(categories=CATEGORIES),
        )
        try:
            yield desk
        finally:
            await stop(desk)


def _home_opened(user: str, view: dict[str, Any] | None = None) -> dict[str, Any]:
    event: dict[str, Any] = {
        "type": "app_home_opened",
        "user": user,
        "channel": f"D{user[1:]}",
        "tab": "home",
        "event_ts": "1700000000.000100",
    }
    if view is not None:
        event["view"] = view
    return event


async def _form_from_home(slack: SlackDesk, user: str) -> str:
    """The customer opens the App Home and presses its button: the form's view id."""
    await slack.event(_home_opened(user))
    home = slack.fake.views.home(user)
    await slack.send("interactive", slack.fake.views.press(home.id, "contact:open"))
    return slack.fake.views.opened()[-1].id


def _posts(slack: SlackDesk, channel: str) -> list[dict[str, Any]]:
    return [c for c in slack.fake.called("chat.postMessage") if c["channel"] == channel]


def _options(slack: SlackDesk, view_id: str) -> list[str]:
    block = slack.fake.views.views[view_id].definition["blocks"][0]
    return [o["text"]["text"] for o in block["element"]["options"]]


async def test_app_home_shows_the_button_and_is_not_published_twice(slack: SlackDesk) -> None:
    await slack.event(_home_opened(CUSTOMER))
    home = slack.fake.views.home(CUSTOMER)
    buttons = [
        e["action_id"]
        for b in home.definition["blocks"]
        if b["type"] == "actions"
        for e in b["elements"]
    ]
    assert buttons == ["contact:open"]
    await slack.event(_home_opened(CUSTOMER, home.payload()))  # it shows the tab already
    await slack.event({**_home_opened(CUSTOMER), "tab": "messages"})
    assert len(slack.fake.called("views.publish")) == 1


async def test_the_form_swaps_in_the_category_and_opens_the_ticket_in_the_dm(
    slack: SlackDesk,
) -> None:
    views = slack.fake.views
    form = await _form_from_home(slack, CUSTOMER)
    assert views.views[form].block_ids() == ["contact:category", "description"]
    assert _options(slack, form) == ["💳 Billing", "🐞 Bug report", "Something else"]
    views.type_in(form, "description", "I was charged twice\nfor the same month")

    picked = views.pick(form, "contact:category", "bug")
    assert picked is not None  # the select dispatches its action
    await slack.send("interactive", picked)
    assert views.views[form].labels()[1:3] == ["Which app version?", "What did you expect?"]
    picked = views.pick(form, "contact:category", "billing")
    assert picked is not None
    await slack.send("interactive", picked)
    assert views.views[form].block_ids() == ["contact:category", "q:billing:0", "description"]
    assert views.views[form].labels()[1] == "Invoice number?"
    updates = slack.fake.called("views.update")
    assert len(updates) == 2
    assert all(u["view_id"] == form and u["hash"] for u in updates)
    # what was typed stays through the updates
    assert views.views[form].state["description"]["value"]["value"].startswith("I was charged")

    views.type_in(form, "q:billing:0", "INV-42")
    assert await slack.submit_view(form) == {}  # the form closes
    assert views.views[form].closed

    card = str(_posts(slack, STAFF_CHANNEL)[0]["blocks"])
    assert "#1 I was charged twice" in card
    assert "Category: 💳 Billing" in card
    assert "*Invoice number?* INV-42" in card
    dm = slack.fake.workspace.dms[CUSTOMER]
    ack = _posts(slack, dm)[0]["text"]
    assert "Hi Alice" in ack
    assert "ticket #1" in ack

    # the conversation goes on in that DM, on the same ticket
    await slack.message(CUSTOMER, "It was in March", dm, channel_type="im")
    relayed = [p["text"] for p in _posts(slack, STAFF_CHANNEL) if p.get("thread_ts")]
    assert any("It was in March" in text for text in relayed)
    assert len([p for p in _posts(slack, STAFF_CHANNEL) if not p.get("thread_ts")]) == 1


async def test_a_japanese_customer_reads_the_form_and_the_answer_in_japanese(
    slack: SlackDesk,
) -> None:
    views = slack.fake.views
    form = await _form_from_home(slack, KENJI)
    assert _options(slack, form)[0] == "💳 請求"
    picked = views.pick(form, "contact:category", "billing")
    assert picked is not None
    await slack.send("interactive", picked)
    assert views.views[form].labels()[1] == "請求書番号は？"
    views.type_in(form, "q:billing:0", "INV-7")
    views.type_in(form, "description", "二重に請求されました")
    await slack.submit_view(form)
    card = str(_posts(slack, STAFF_CHANNEL)[0]["blocks"])
    assert "*請求書番号は？* INV-7" in card  # the question as the customer was asked it
    ack = _posts(slack, slack.fake.workspace.dms[KENJI])[0]["text"]
    assert "お問い合わせありがとうございます" in ack


async def test_a_form_sent_before_it_showed_the_questions_asks_them_first(
    slack: SlackDesk,
) -> None:
    views = slack.fake.views
    form = await _form_from_home(slack, CUSTOMER)
    views.pick(form, "contact:category", "billing")  # its update never reached the form
    views.type_in(form, "description", "Refund please")
    answer = await slack.submit_view(form)
    assert answer["response_action"] == "update"
    assert not _posts(slack, STAFF_CHANNEL)
    assert views.views[form].block_ids() == ["contact:category", "q:billing:0", "description"]
    views.type_in(form, "q:billing:0", "INV-9")
    assert await slack.submit_view(form) == {}
    assert "*Invoice number?* INV-9" in str(_posts(slack, STAFF_CHANNEL)[0]["blocks"])


async def test_the_shortcut_gives_a_customer_the_form_with_the_message(slack: SlackDesk) -> None:
    ts = slack.fake.next_ts()
    shortcut = {
        "type": "message_action",
        "callback_id": "create_ticket",
        "trigger_id": slack.fake.views.trigger(CUSTOMER),
        "response_url": "http://127.0.0.1:9/unused",
        "team": {"id": "T0001"},
        "channel": {"id": "CGENERAL01", "name": "general"},
        "user": {"id": CUSTOMER},
        "message_ts": ts,
        "message": {"type": "message", "user": "UOTHER0001", "ts": ts, "text": "Export fails"},
    }
    await slack.send("interactive", shortcut)
    form = slack.fake.views.opened()[-1]
    assert form.state["description"]["value"]["value"] == "Export fails"
    picked = slack.fake.views.pick(form.id, "contact:category", "-")  # something else
    assert picked is not None
    await slack.send("interactive", picked)
    assert form.block_ids() == ["contact:category", "description"]
    await slack.submit_view(form.id)
    card = str(_posts(slack, STAFF_CHANNEL)[0]["blocks"])
    assert "#1 Export fails" in card
    assert "Alice" in card
    assert "Category:" not in card  # general
    assert "ticket #1" in _posts(slack, slack.fake.workspace.dms[CUSTOMER])[0]["text"]
    # staff still turn the message into a ticket for its author at once
    await slack.send("interactive", shortcut | {"user": {"id": AGENT}})
    assert len(slack.fake.views.opened()) == 1
    assert "Opened ticket #2" in slack.fake.called("chat.postEphemeral")[-1]["text"]


async def test_without_categories_the_form_is_the_description(tmp_path: Path) -> None:
    async with running_fake_slack() as fake:
        _people(fake)
        slack = await start(fake, tmp_path)
        try:
            form = await _form_from_home(slack, CUSTOMER)
            assert fake.views.views[form].block_ids() == ["description"]
            fake.views.type_in(form, "description", "Printer jam")
            await slack.submit_view(form)
            card = str(_posts(slack, STAFF_CHANNEL)[0]["blocks"])
            assert "#1 Printer jam" in card
            assert "Category:" not in card
            assert "ticket #1" in _posts(slack, fake.workspace.dms[CUSTOMER])[0]["text"]
        finally:
            await stop(slack)
