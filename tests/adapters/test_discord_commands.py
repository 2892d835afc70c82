"""The newer `/ticket` app commands through the real discord.py against the fake Discord:
saved replies (with autocomplete), replies in the team's voice, tags as forum tags within
Discord's limits, and transcripts on demand."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from bot.settings import DeskSettings
from tests.adapters.fake_discord import FORUM, STAFF_ROLE, FakeDiscord, running_fake_discord
from tests.adapters.fake_discord_forum import MAX_AVAILABLE
from tests.adapters.test_discord import (
    AGENT,
    CUSTOMER,
    DM,
    DiscordDesk,
    _answered,
    _slash,
    _starter_id,
    _thread_id,
    connected,
)

SNIPPETS = {
    "refund": {"en": "Hi {{ customer }}, your refund is on its way."},
    "shipping": {"en": "Your order ships today."},
}
STATUS_TAGS = 5  # Open, Claimed, Escalated, Waiting, Closed


@pytest.fixture
async def desk(tmp_path: Path) -> AsyncIterator[DiscordDesk]:
    settings = DeskSettings(snippets=SNIPPETS)
    async with running_fake_discord() as fake, connected(fake, tmp_path, desk=settings) as desk:
        await desk.say(CUSTOMER, "alice", "Where is my refund?", DM)  # ticket #1
        await fake.wait_for("POST", "/messages", count=2)  # the acknowledgement, the relay
        yield desk


async def _ask(desk: DiscordDesk, data: dict[str, Any], roles: list[int] | None = None) -> str:
    """Run an app command in ticket #1's forum post; what the agent is told."""
    thread = int(_thread_id(desk.fake))
    staff = [STAFF_ROLE] if roles is None else roles
    asked = await desk.fake.interact(2, data, AGENT, "bob", thread, roles=staff)
    return str((await _answered(desk.fake, asked))["data"]["content"])


async def _choices(desk: DiscordDesk, data: dict[str, Any], roles: list[int]) -> list[Any]:
    asked = await desk.fake.interact(4, data, AGENT, "bob", DM + 1, roles=roles)
    answer = await _answered(desk.fake, asked)
    assert answer["type"] == 8
    return [c["value"] for c in answer["data"]["choices"]]


def _typing(subcommand: str, option: str, typed: str) -> dict[str, Any]:
    data = _slash(subcommand, **{option: typed})
    data["options"][0]["options"][0]["focused"] = True
    return data


def _snippet(action: str, **options: str) -> dict[str, Any]:
    """`/ticket snippet <action>`: a subcommand of the group."""
    data = _slash("snippet")
    data["options"][0] = {
        "name": "snippet",
        "type": 2,
        "options": [_slash(action, **options)["options"][0]],
    }
    return data


def _size(option: dict[str, Any]) -> int:
    """What Discord counts toward a command's characters: names, descriptions, choices."""
    own = len(option["name"]) + len(option.get("description", ""))
    own += sum(len(c["name"]) + len(str(c["value"])) for c in option.get("choices") or [])
    return own + sum(_size(o) for o in option.get("options") or [])


async def test_ticket_stays_within_discords_limits_for_a_command(desk: DiscordDesk) -> None:
    (ticket,) = [c for c in desk.fake.synced if c["name"] == "ticket"]
    options = {o["name"]: o for o in ticket["options"]}
    # a command takes 25 options (subcommands and groups), a group nests one level
    assert len(options) <= 25
    assert {"send", "areply", "snippet", "tag", "untag", "transcript"} <= set(options)
    assert options["snippet"]["type"] == 2
    assert [o["name"] for o in options["snippet"]["options"]] == ["add", "list", "remove"]
    assert all(o["type"] == 1 for o in options["snippet"]["options"])
    add = {o["name"]: o for o in options["snippet"]["options"][0]["options"]}
    assert [c["value"] for c in add["locale"]["choices"]] == ["en", "ja"]
    assert _size(ticket) <= 4000  # Discord's older, stricter figure
    assert all(len(o.get("description", "")) <= 100 for o in ticket["options"])


async def test_send_autocompletes_the_saved_replies_and_sends_one(desk: DiscordDesk) -> None:
    fake = desk.fake
    assert await _choices(desk, _typing("send", "name", ""), [STAFF_ROLE]) == [
        "refund",
        "shipping",
    ]
    assert await _choices(desk, _typing("send", "name", "ship"), [STAFF_ROLE]) == ["shipping"]
    assert await _choices(desk, _typing("send", "name", ""), []) == []  # not staff: none

    told = await _ask(desk, _slash("send", name="refund"))
    assert told == "Sent to the customer of #1."
    await fake.wait_for("POST", f"channels/{DM}/messages", count=2)
    assert desk.sent_to(DM)[-1].body["content"].endswith("Hi alice, your refund is on its way.")

    refused = await _ask(desk, _slash("send", name="refund"), roles=[])
    assert "Only support staff" in refused


async def test_saved_replies_added_from_discord_and_sent_in_the_teams_voice(
    desk: DiscordDesk,
) -> None:
    fake = desk.fake
    added = await _ask(desk, _snippet("add", name="thanks", text="Thanks, {{ customer }}!"))
    assert "thanks" in added
    assert "thanks" in await _ask(desk, _snippet("list"))
    assert await _choices(desk, _typing("send", "name", "than"), [STAFF_ROLE]) == ["thanks"]

    told = await _ask(desk, _slash("areply", text="We are looking into it."))
    assert "team's voice" in told
    await fake.wait_for("POST", f"channels/{DM}/messages", count=2)
    sent = desk.sent_to(DM)[-1].body["content"]
    assert sent.endswith("We are looking into it.")
    assert "bob" not in sent

    assert "removed" in await _ask(desk, _snippet("remove", name="thanks"))
    assert await _choices(desk, _typing("send", "name", "than"), [STAFF_ROLE]) == []


def _forum_tags(fake: FakeDiscord) -> dict[str, str]:
    return {t["name"]: str(t["id"]) for t in fake.forum_tags}


async def _tagged(desk: DiscordDesk, verb: str, tags: str, updates: int) -> list[str]:
    """Tag (or untag) ticket #1; the forum tags on its post once the card is updated."""
    await _ask(desk, _slash(verb, tags=tags))
    thread = _thread_id(desk.fake)
    await desk.fake.wait_for("PATCH", f"channels/{thread}", count=updates)
    names = {i: n for n, i in _forum_tags(desk.fake).items()}
    return [names[str(i)] for i in desk.fake.threads[thread]["applied_tags"]]


def _card(fake: FakeDiscord) -> str:
    """The card's text as last edited."""
    thread = _thread_id(fake)
    edit = fake.called("PATCH", f"channels/{thread}/messages/{_starter_id(fake)}")[-1]
    return str(edit.body["embeds"][0]["description"])


async def test_tags_become_forum_tags_up_to_five_on_a_post(desk: DiscordDesk) -> None:
    fake = desk.fake
    assert await _tagged(desk, "tag", "Billing #vip", 1) == ["Open", "billing", "vip"]
    assert {"billing", "vip"} <= set(_forum_tags(fake))
    assert "Tags: #billing #vip" in _card(fake)

    # the status tag and four of the ticket's: the fifth stays on the card only
    applied = await _tagged(desk, "tag", "refund eu closed", 2)
    assert applied == ["Open", "billing", "vip", "refund", "eu"]
    assert "Tags: #billing #vip #refund #eu #closed" in _card(fake)
    # a ticket tagged "closed" does not look closed
    assert [n for n in _forum_tags(fake) if n.casefold() == "closed"] == ["Closed"]

    assert await _tagged(desk, "untag", "vip", 3) == ["Open", "billing", "refund", "eu"]


async def test_a_forum_full_of_tags_takes_no_more(desk: DiscordDesk) -> None:
    fake = desk.fake
    updates = 0

    async def tag(words: list[str]) -> list[str]:
        nonlocal updates
        updates += 1
        return await _tagged(desk, "tag", " ".join(words), updates)

    async def untag(words: list[str]) -> None:
        nonlocal updates
        updates += 1
        await _tagged(desk, "untag", " ".join(words), updates)

    too_long = "a-tag-of-twenty-one-c"  # Discord's tag names hold 20 characters
    batches = [[f"t{i:02d}" for i in range(n, n + 4)] for n in (1, 5, 9, 13)]
    assert await tag([too_long, *batches[0]]) == ["Open", *batches[0]]
    assert too_long not in _forum_tags(fake)
    assert f"#{too_long}" in _card(fake)
    await untag([too_long, *batches[0]])
    for batch in batches[1:3]:
        assert await tag(batch) == ["Open", *batch]
        await untag(batch)
    # 5 status tags and 15 of the ticket's fill the forum: the 21st is not made
    assert await tag(batches[3]) == ["Open", "t13", "t14", "t15"]
    assert len(fake.forum_tags) == MAX_AVAILABLE == STATUS_TAGS + 15
    assert "t16" not in _forum_tags(fake)
    assert "Tags: #t13 #t14 #t15 #t16" in _card(fake)


async def test_a_tag_removed_from_the_forum_meanwhile_is_made_again(desk: DiscordDesk) -> None:
    fake = desk.fake
    assert await _tagged(desk, "tag", "billing", 1) == ["Open", "billing"]

    def delete(name: str) -> None:  # someone deletes a tag on Discord; the cache still has it
        fake.forum_tags = [t for t in fake.forum_tags if t["name"] != name]

    delete("billing")  # read again before another tag is made
    assert await _tagged(desk, "tag", "vip", 2) == ["Open", "billing", "vip"]
    delete("vip")  # no tag to make: Discord refuses the post's tags, and they are read again
    await _ask(desk, _slash("priority", level="low"))
    thread = _thread_id(fake)
    await fake.wait_for("PATCH", f"channels/{thread}", count=4)
    first, again = [c.body["applied_tags"] for c in fake.called("PATCH", f"channels/{thread}")][2:]
    assert first != again  # the refused one named the deleted tag
    names = {i: n for n, i in _forum_tags(fake).items()}
    assert [names[str(i)] for i in fake.threads[thread]["applied_tags"]] == [
        "Open",
        "billing",
        "vip",
    ]


async def test_transcript_posts_files_in_the_thread(desk: DiscordDesk) -> None:
    fake = desk.fake
    told = await _ask(desk, _slash("transcript"))
    assert told == "The transcript of #1 is on its way to the ticket's thread."
    thread = _thread_id(fake)
    await fake.wait_for("POST", f"channels/{thread}/messages", count=2)  # the relay, the files
    names = sorted(f.filename for f in fake.files_in(thread))
    assert names == ["ticket-1.html", "ticket-1.txt"]
    assert "Where is my refund?" in next(
        f.text for f in fake.files_in(thread) if f.filename.endswith(".txt")
    )


async def test_the_fake_keeps_discords_forum_tag_limits() -> None:
    async with (
        running_fake_discord() as fake,
        aiohttp.ClientSession(fake.base_url + "/api/v10/") as raw,
    ):

        async def patch(path: str, body: dict[str, Any]) -> int:
            async with raw.patch(path, json=body) as answer:
                return answer.status

        forum = f"channels/{FORUM}"
        assert await patch(forum, {"available_tags": [{"name": "x" * 21}]}) == 400
        many = [{"name": f"tag{i}"} for i in range(MAX_AVAILABLE + 1)]
        assert await patch(forum, {"available_tags": many}) == 400
        assert await patch(forum, {"available_tags": many[:MAX_AVAILABLE]}) == 200
        ids = [t["id"] for t in fake.forum_tags]
        async with raw.post(f"{forum}/threads", json={"name": "#1", "message": {}}) as answer:
            post = f"channels/{(await answer.json())['id']}"
        assert await patch(post, {"applied_tags": ids[:6]}) == 400
        assert await patch(post, {"applied_tags": ["12345"]}) == 400  # not the forum's
        assert await patch(post, {"applied_tags": ids[:5]}) == 200
