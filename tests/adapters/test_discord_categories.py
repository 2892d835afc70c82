"""The Discord panel with intake categories: a pick of the categories, the picked one's form,
and the ticket it opens, through the real discord.py against the fake Discord (which refuses
forms and menus past Discord's limits)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from bot.categories import Category
from bot.settings import DeskSettings
from tests.adapters.fake_discord import FORUM, STAFF_ROLE, FakeDiscord, running_fake_discord
from tests.adapters.test_discord import (
    AGENT,
    DM,
    DiscordDesk,
    _answered,
    _form_submit,
    _slash,
    connected,
)

PUBLIC, KENJI = DM + 7, 4400
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
        ":bug:",  # a Slack shortcode: no emoji Discord takes, so the menu leaves it out
        tuple({"en": f"Question {n}?"} for n in range(1, 6)),  # a full form: no description
    ),
}


async def _press(fake: FakeDiscord, data: dict[str, Any], kind: int = 3) -> dict[str, Any]:
    """Kenji, a member with no roles, in the panel's channel, with Discord in Japanese."""
    interaction = await fake.interact(kind, data, KENJI, "kenji", PUBLIC, roles=[], locale="ja")
    answer = await _answered(fake, interaction)
    callbacks = [c for c in fake.calls if c.path.startswith(f"interactions/{interaction}/")]
    assert len(callbacks) == 1  # answered once, by the adapter alone
    return answer


def _inputs(form: dict[str, Any]) -> list[tuple[str, str]]:
    """(custom_id, label) of a form's text inputs, in order."""
    return [
        (item["custom_id"], item["label"])
        for row in form["components"]
        for item in row.get("components") or [row.get("component")]
    ]


async def _pick(fake: FakeDiscord, value: str) -> dict[str, Any]:
    return await _press(
        fake, {"custom_id": "panel:category", "component_type": 3, "values": [value]}
    )


async def test_the_panel_offers_the_categories_and_opens_the_picked_ones_ticket(
    tmp_path: Path,
) -> None:
    async with (
        running_fake_discord() as fake,
        connected(fake, tmp_path, desk=DeskSettings(categories=CATEGORIES)) as desk,
    ):
        await fake.interact(2, _slash("panel"), AGENT, "bob", PUBLIC, roles=[STAFF_ROLE])
        picker = await _press(fake, {"custom_id": "panel:open", "component_type": 2})
        assert picker["type"] == 4
        assert picker["data"]["flags"] & 64  # only the presser sees it
        select = picker["data"]["components"][0]["components"][0]
        assert select["custom_id"] == "panel:category"
        options = [(o["label"], o["value"], o.get("emoji")) for o in select["options"]]
        assert options[0] == ("請求", "billing", {"id": None, "name": "💳"})
        assert options[1] == ("Bug report", "bug", None)
        assert options[2][1] == "-"  # something else: the general form

        form = await _pick(fake, "billing")
        assert form["type"] == 9
        assert form["data"]["custom_id"] == "panel_form:billing"
        assert form["data"]["title"] == "💳 請求"
        assert [i[0] for i in _inputs(form["data"])] == ["q0", "description"]
        assert _inputs(form["data"])[0][1] == "請求書番号は？"

        done = await _press(
            fake,
            _form_submit("panel_form:billing", q0="INV-42", description="二重に請求されました"),
            kind=5,
        )
        assert "チケット #1 を作成しました" in done["data"]["content"]
        await fake.wait_for("POST", f"channels/{FORUM}/threads")
        post = fake.called("POST", f"channels/{FORUM}/threads")[0].body
        assert post["name"] == "#1 二重に請求されました"
        card = post["message"]["embeds"][0]["description"]
        assert "Category: 💳 Billing" in card  # in the staff's language
        assert "**請求書番号は？** INV-42" in card  # the question as the customer was asked
        await _acknowledged_in_japanese(fake, desk)


async def _acknowledged_in_japanese(fake: FakeDiscord, desk: DiscordDesk) -> None:
    dm = fake.dm_channels[str(KENJI)]
    await fake.wait_for("POST", f"channels/{dm}/messages")
    ack = desk.sent_to(dm)[0].body["content"]
    assert "お問い合わせありがとうございます" in ack
    assert "#1" in ack


async def test_a_full_form_and_something_else(tmp_path: Path) -> None:
    async with (
        running_fake_discord() as fake,
        connected(fake, tmp_path, desk=DeskSettings(categories=CATEGORIES)),
    ):
        form = await _pick(fake, "bug")
        assert [i[0] for i in _inputs(form["data"])] == ["q0", "q1", "q2", "q3", "q4"]
        answers = {f"q{n}": f"answer {n}" for n in range(5)}
        await _press(fake, _form_submit("panel_form:bug", **answers), kind=5)
        await fake.wait_for("POST", f"channels/{FORUM}/threads")
        post = fake.called("POST", f"channels/{FORUM}/threads")[0].body
        assert post["name"] == "#1 answer 0"  # the first answer, with no description
        assert "**Question 5?** answer 4" in post["message"]["embeds"][0]["description"]

        general = await _pick(fake, "-")
        assert general["data"]["custom_id"] == "panel_form"
        assert [i[0] for i in _inputs(general["data"])] == ["subject", "description"]


async def test_a_pick_made_after_a_restart_still_opens_its_form(tmp_path: Path) -> None:
    settings = DeskSettings(categories=CATEGORIES)
    async with running_fake_discord() as fake:
        async with connected(fake, tmp_path, desk=settings):
            await _press(fake, {"custom_id": "panel:open", "component_type": 2})
        async with connected(fake, tmp_path, desk=settings):  # a new process
            form = await _pick(fake, "billing")
            assert form["data"]["custom_id"] == "panel_form:billing"
            done = await _press(
                fake, _form_submit("panel_form:billing", q0="INV-1", description="hi"), kind=5
            )
            assert "#1" in done["data"]["content"]


async def test_without_categories_the_panel_opens_the_form_at_once(tmp_path: Path) -> None:
    async with running_fake_discord() as fake, connected(fake, tmp_path):
        form = await _press(fake, {"custom_id": "panel:open", "component_type": 2})
        assert form["type"] == 9
        assert form["data"]["custom_id"] == "panel_form"
        assert [i[0] for i in _inputs(form["data"])] == ["subject", "description"]
