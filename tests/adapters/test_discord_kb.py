"""`/ticket kb search|send` through the real discord.py against the fake Discord: the group
keeps `/ticket` within Discord's 25 options, and runs the same command language."""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from tests.adapters.fake_discord import running_fake_discord
from tests.adapters.test_discord import CUSTOMER, DM, DiscordDesk, _answered, _slash, connected
from tests.adapters.test_discord_commands import _ask, _size

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "kb"


@pytest.fixture
async def desk(tmp_path: Path) -> AsyncIterator[DiscordDesk]:
    shutil.copytree(FIXTURE, tmp_path / "kb")  # beside the database: the default place
    async with running_fake_discord() as fake, connected(fake, tmp_path) as desk:
        await desk.say(CUSTOMER, "alice", "I was charged twice this month", DM)  # ticket #1
        await fake.wait_for("POST", "/messages", count=2)
        yield desk


def _kb(action: str, **options: str) -> dict[str, Any]:
    data = _slash("kb")
    data["options"][0] = {
        "name": "kb",
        "type": 2,
        "options": [_slash(action, **options)["options"][0]],
    }
    return data


async def test_kb_is_one_group_of_the_ticket_command(desk: DiscordDesk) -> None:
    (ticket,) = [c for c in desk.fake.synced if c["name"] == "ticket"]
    options = {o["name"]: o for o in ticket["options"]}
    assert len(options) == 25
    assert options["kb"]["type"] == 2
    assert [o["name"] for o in options["kb"]["options"]] == ["search", "send", "similar"]
    assert _size(ticket) <= 4000
    assert all(len(o.get("description", "")) <= 100 for o in options["kb"]["options"])


async def test_agents_search_and_send_articles_from_discord(desk: DiscordDesk) -> None:
    acknowledgement = desk.sent_to(DM)[0].body
    assert "Charged twice" in acknowledgement["content"]
    ids = [c["custom_id"] for row in acknowledgement["components"] for c in row["components"]]
    assert ids == ["kb:solved:1", "kb:help:1"]

    found = await _ask(desk, _kb("search", question="money back"))
    assert found.startswith("Articles for “money back” in English, the language of")
    assert "`refund-policy`" in found
    told = await _ask(desk, _kb("send", article="refund-policy"))
    assert told == "Sent to the customer of #1."
    await desk.fake.wait_for("POST", f"channels/{DM}/messages", count=2)
    assert (
        desk.sent_to(DM)[-1]
        .body["content"]
        .endswith("**Refunds**\nhttps://help.kumonotes.example/en/refund-policy")
    )


async def test_the_offers_buttons_answer_the_customer_once_in_their_dm(desk: DiscordDesk) -> None:
    fake = desk.fake
    # pressed twice each, then "I still need help" after the self-served close, which
    # reopens the ticket: its answer comes last, after whatever the presses before it said
    presses = ("kb:help:1", "kb:help:1", "kb:solved:1", "kb:solved:1", "csat:0:1", "kb:help:1")
    for button in presses:
        pressed = await fake.interact(
            3, {"custom_id": button, "component_type": 2}, CUSTOMER, "alice", DM
        )
        assert (await _answered(fake, pressed))["type"] == 6  # deferred: the answer is a DM
    await fake.wait_for("POST", f"channels/{DM}/messages", count=4)
    answers = [m.body["content"] for m in desk.sent_to(DM)[1:]]
    assert answers[:2] == [
        "Thanks for letting us know. An agent will be with you soon.",
        "Glad the article helped! If anything else comes up, just write here.",
    ]
    assert answers[2].startswith("Hi alice, we have reopened ticket #1.")
