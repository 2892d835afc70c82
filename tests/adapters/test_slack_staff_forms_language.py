"""The card's buttons and the Escalate, Close and Saved reply forms speak the staff's language
(the desk's locale), whatever language the agent's own Slack is set to: through the real Bolt
app against the fake Slack, which refuses a view Slack would refuse (titles and buttons over
24 characters among them)."""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest

from bot.settings import DeskSettings
from tests.adapters.fake_slack import running_fake_slack
from tests.adapters.slack_harness import STAFF_CHANNEL, SlackDesk, start, stop
from tests.adapters.test_slack import AGENT, CUSTOMER, DM, posts

SNIPPETS = {"refund": {"en": "Your refund is on its way.", "ja": "返金の手続きをいたしました。"}}
# what is not prose: a ticket's number, and what an agent types (`/ticket send <name>`)
_NOT_PROSE = re.compile(r"#\d+|`[^`]*`")
_ENGLISH = re.compile(r"[A-Za-z]{2,}")
_HALF_WIDTH = re.compile(r"[?!():]")

ENGLISH = {
    "card": ["Claim", "Escalate", "Saved reply", "Close"],
    "escalate": ("Escalate #1", "Escalate", "Cancel", ["Team", "Reason"], "Choose a team"),
    "close": ("Close #1", "Close ticket", "Cancel", ["Resolution", "Follow up in (e.g. 3d)"]),
    "snippet": (
        "Saved reply #1",
        "Send",
        "Cancel",
        ["Send to the customer, in their language"],
        "Choose a saved reply",
    ),
    "bad_followup": "Write a duration like 30m, 4h, 3d or 1w.",
    "no_snippets": ("Close", "There are no saved replies yet."),
    "first_100": "The first 100 of 120 are shown",
}
JAPANESE = {
    "card": ["担当する", "エスカレーション", "定型文", "クローズ"],
    "escalate": (
        "#1 をエスカレーション",
        "エスカレーションする",
        "キャンセル",
        ["エスカレーション先のチーム", "理由"],
        "チームを選択",
    ),
    "close": (
        "#1 をクローズ",
        "クローズする",
        "キャンセル",
        ["解決内容", "フォローアップまでの期間（例：3d）"],
    ),
    "snippet": (
        "#1 に定型文を送信",
        "送信",
        "キャンセル",
        ["送信する定型文（お客様の言語で送ります）"],
        "定型文を選択",
    ),
    "bad_followup": "期間は 30m、4h、3d、1w のように指定してください。",
    "no_snippets": ("閉じる", "定型文はまだありません。"),
    "first_100": "120 件のうち最初の 100 件を表示しています。",
}
EXPECTED = {"en": ENGLISH, "ja": JAPANESE}


@asynccontextmanager
async def _running(
    tmp_path: Path, locale: str, snippets: dict[str, Any]
) -> AsyncIterator[SlackDesk]:
    """A desk whose staff locale is `locale`; the agent's own Slack is in English."""
    async with running_fake_slack() as fake:
        fake.staff = {AGENT}
        fake.users = {
            AGENT: {"name": "Agent One", "locale": "en-US"},
            CUSTOMER: {"name": "Alice", "locale": "en-US"},
        }
        slack = await start(fake, tmp_path, desk=DeskSettings(locale=locale, snippets=snippets))
        try:
            yield slack
        finally:
            await stop(slack)


@pytest.fixture(params=["en", "ja"])
def locale(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
async def slack(tmp_path: Path, locale: str) -> AsyncIterator[SlackDesk]:
    async with _running(tmp_path, locale, SNIPPETS) as desk:
        yield desk


def _opened(slack: SlackDesk) -> dict[str, Any]:
    """The form Slack accepted and shows (a view Slack would refuse is not among them)."""
    return dict(slack.fake.views.opened()[-1].definition)


def _chrome(form: dict[str, Any]) -> tuple[str, str, str, list[str]]:
    submit = form.get("submit", {}).get("text", "")
    labels = [b["label"]["text"] for b in form["blocks"] if b["type"] == "input"]
    return form["title"]["text"], submit, form["close"]["text"], labels


def _placeholder(form: dict[str, Any]) -> str:
    (pick,) = [b for b in form["blocks"] if b["type"] == "input" and b["block_id"] != "reason"]
    return str(pick["element"]["placeholder"]["text"])


def _texts(form: dict[str, Any]) -> list[str]:
    """Every text the form writes itself (the options are team and reply names)."""
    title, submit, close, labels = _chrome(form)
    written = [title, submit, close, *labels]
    for block in form["blocks"]:
        if block["type"] == "input" and "placeholder" in block["element"]:
            written.append(block["element"]["placeholder"]["text"])
        written.extend(element["text"] for element in block.get("elements", []))
        if block["type"] == "section":
            written.append(block["text"]["text"])
    return [t for t in written if t]


def _assert_japanese(texts: list[str]) -> None:
    for text in texts:
        prose = _NOT_PROSE.sub(" ", text)
        assert _ENGLISH.findall(prose) == [], text
        assert _HALF_WIDTH.findall(prose) == [], text


def _buttons(message: dict[str, Any]) -> list[str]:
    blocks = message["blocks"]
    blocks = json.loads(blocks) if isinstance(blocks, str) else blocks
    return [e["text"]["text"] for b in blocks if b["type"] == "actions" for e in b["elements"]]


async def test_the_cards_buttons_are_in_the_staff_language(slack: SlackDesk, locale: str) -> None:
    await slack.message(CUSTOMER, "Where is my refund?", DM, channel_type="im")
    shown = _buttons(posts(slack, STAFF_CHANNEL)[0])
    assert shown == EXPECTED[locale]["card"]
    if locale == "ja":
        _assert_japanese(shown)


async def test_the_escalate_form_is_in_the_staff_language(slack: SlackDesk, locale: str) -> None:
    await slack.message(CUSTOMER, "Invoice wrong", DM, channel_type="im")
    await slack.press(AGENT, "ticket:escalate:1", STAFF_CHANNEL)
    form = _opened(slack)
    title, submit, close, labels, placeholder = EXPECTED[locale]["escalate"]
    assert _chrome(form) == (title, submit, close, labels)
    assert _placeholder(form) == placeholder
    if locale == "ja":
        _assert_japanese(_texts(form))


async def test_the_close_form_and_its_refusal_are_in_the_staff_language(
    slack: SlackDesk, locale: str
) -> None:
    await slack.message(CUSTOMER, "Never mind", DM, channel_type="im")
    await slack.press(AGENT, "ticket:close:1", STAFF_CHANNEL)
    form = _opened(slack)
    assert _chrome(form) == EXPECTED[locale]["close"]
    if locale == "ja":
        _assert_japanese(_texts(form))

    typed = {
        "resolution": {"value": {"type": "plain_text_input", "value": "done"}},
        "followup": {"value": {"type": "plain_text_input", "value": "soon"}},
    }
    status, body = await slack.submit(AGENT, "ticket_close", 1, typed)
    assert status == 200
    said = json.loads(body)
    assert said == {
        "response_action": "errors",
        "errors": {"followup": EXPECTED[locale]["bad_followup"]},
    }


async def test_the_saved_reply_form_is_in_the_staff_language(slack: SlackDesk, locale: str) -> None:
    await slack.message(CUSTOMER, "Where is my refund?", DM, channel_type="im")
    await slack.press(AGENT, "snippet:pick:1", STAFF_CHANNEL)
    form = _opened(slack)
    title, submit, close, labels, placeholder = EXPECTED[locale]["snippet"]
    assert _chrome(form) == (title, submit, close, labels)
    assert _placeholder(form) == placeholder
    if locale == "ja":
        _assert_japanese(_texts(form))


@pytest.mark.parametrize("locale", ["en", "ja"])
@pytest.mark.parametrize("count", [0, 120])
async def test_the_saved_reply_forms_notes_are_in_the_staff_language(
    tmp_path: Path, locale: str, count: int
) -> None:
    snippets = {f"reply-{i:03d}": {"en": f"Text {i}", "ja": f"本文 {i}"} for i in range(count)}
    async with _running(tmp_path, locale, snippets) as slack:
        await slack.message(CUSTOMER, "Hello", DM, channel_type="im")
        await slack.press(AGENT, "snippet:pick:1", STAFF_CHANNEL)
        form = _opened(slack)
    if count:
        (note,) = [b for b in form["blocks"] if b["type"] == "context"]
        assert note["elements"][0]["text"].startswith(EXPECTED[locale]["first_100"])
        assert "/ticket send &lt;name&gt;" in note["elements"][0]["text"]
    else:
        close, note = EXPECTED[locale]["no_snippets"]
        assert "submit" not in form
        assert form["close"]["text"] == close
        assert form["blocks"][0]["text"]["text"].startswith(note)
    if locale == "ja":
        _assert_japanese(_texts(form))
