"""The Discord adapter through the real discord.py against a fake Discord on loopback."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from adapters.discord.app import DiscordAdapter
from adapters.discord.settings import DiscordSettings
from bot.app.bootstrap import App, build
from bot.clock import FrozenClock
from bot.config import Config
from bot.settings import DeskSettings
from tests.adapters.fake_discord import (
    FORUM,
    GUILD,
    STAFF_ROLE,
    Call,
    FakeDiscord,
    member,
    running_fake_discord,
)

CUSTOMER, AGENT, DM = 4200, 4300, 8800


@dataclass
class DiscordDesk:
    fake: FakeDiscord
    adapter: DiscordAdapter
    app: App

    async def say(
        self, author: int, name: str, text: str, channel: int, roles: list[int] | None = None
    ) -> int:
        data = self.fake.message_event(author, name, text, channel, roles)
        await self.fake.dispatch("MESSAGE_CREATE", data)
        return int(data["id"])

    def sent_to(self, channel: int | str) -> list[Call]:
        return list(self.fake.called("POST", f"channels/{channel}/messages"))


def _thread_id(fake: FakeDiscord) -> str:
    """The first ticket's staff thread."""
    return next(iter(fake.threads))


def _form_submit(custom_id: str, **values: str) -> dict[str, Any]:
    """A submitted form's data, one text input per row, as Discord sends it."""
    return {
        "custom_id": custom_id,
        "components": [
            {"type": 1, "components": [{"type": 4, "custom_id": k, "value": v}]}
            for k, v in values.items()
        ],
    }


@asynccontextmanager
async def connected(
    fake: FakeDiscord,
    tmp_path: Path,
    support: tuple[int, ...] = (),
    staff: int = FORUM,
    leads: int = 0,
    desk: DeskSettings | None = None,
    support_auto: bool = False,
    team_roles: dict[str, int] | None = None,
) -> AsyncIterator[DiscordDesk]:
    """supportbot with the Discord adapter, its outbox sender running, on a SQLite file;
    `desk`: the desk's settings (default: the defaults); `support_auto`:
    DISCORD_SUPPORT_CHANNELS=auto; `team_roles`: DISCORD_TEAM_ROLES (team -> role id)."""
    settings = DiscordSettings(
        bot_token="fake-token",
        guild_id=GUILD,
        staff_channel=staff,
        staff_role=STAFF_ROLE,
        api_url=fake.base_url + "/api/v10",
        gateway_url=fake.base_url.replace("http", "ws") + "/gateway/",
        support_channels=support,
        support_auto=support_auto,
        leads_channel=leads,
        spool_file=str(tmp_path / "discord-spool.jsonl"),
        team_roles=team_roles or {},
    )
    adapter = DiscordAdapter(settings)
    app = await build(
        Config(database_url=f"sqlite:///{tmp_path / 'desk.db'}", desk=desk or DeskSettings()),
        {"discord": adapter.deliverer},
        clock=FrozenClock(),
    )
    await adapter.start(app.desk)
    stop = asyncio.Event()
    sender = asyncio.create_task(app.sender.run(stop))
    try:
        yield DiscordDesk(fake, adapter, app)
    finally:
        stop.set()
        await sender
        await adapter.stop()
        await app.close()


@pytest.fixture
async def discord_desk(tmp_path: Path) -> AsyncIterator[DiscordDesk]:
    async with running_fake_discord() as fake, connected(fake, tmp_path) as desk:
        yield desk


async def test_a_dm_becomes_a_forum_post_and_the_conversation_flows(
    discord_desk: DiscordDesk,
) -> None:
    desk, fake = discord_desk, discord_desk.fake
    await desk.say(CUSTOMER, "alice", "Where is my order?", DM)
    await fake.wait_for("POST", f"channels/{FORUM}/threads")
    post = fake.called("POST", f"channels/{FORUM}/threads")[0].body
    assert post["name"] == "#1 Where is my order?"
    assert post["message"]["embeds"][0]["title"].startswith("#1 Where is my order?")
    await fake.wait_for("POST", f"channels/{DM}/messages")
    assert "ticket #1" in desk.sent_to(DM)[0].body["content"]
    await fake.wait_for("POST", "/messages", count=2)
    thread = _thread_id(fake)
    relay = desk.sent_to(thread)[0].body
    assert relay["content"] == "**alice:** Where is my order?"
    assert relay["allowed_mentions"]["parse"] == []

    reply = await desk.say(AGENT, "bob", "It ships today.", int(thread), roles=[STAFF_ROLE])
    await fake.wait_for("POST", f"channels/{DM}/messages", count=2)
    assert desk.sent_to(DM)[-1].body["content"] == "**bob:** It ships today."
    await fake.wait_for("PUT", "/@me")
    assert fake.called("PUT", "/@me")[0].path.startswith(f"channels/{thread}/messages/{reply}")

    note = await desk.say(AGENT, "bob", "// VIP customer", int(thread), roles=[STAFF_ROLE])
    await fake.wait_for("PUT", "/@me", count=2)
    assert f"messages/{note}/reactions/" in fake.called("PUT", "/@me")[-1].path
    assert len(desk.sent_to(DM)) == 2  # the note stayed in the thread


async def test_non_staff_in_the_thread_are_refused(discord_desk: DiscordDesk) -> None:
    desk, fake = discord_desk, discord_desk.fake
    await desk.say(CUSTOMER, "alice", "hi", DM)
    await fake.wait_for("POST", "/messages", count=2)
    thread = _thread_id(fake)
    await desk.say(5555, "mallory", "I'll take this", int(thread), roles=[])
    await fake.wait_for("POST", f"channels/{thread}/messages", count=2)
    assert "Only support staff" in desk.sent_to(thread)[-1].body["content"]
    assert len(desk.sent_to(DM)) == 1


async def test_everyone_in_customer_text_pings_nobody(discord_desk: DiscordDesk) -> None:
    desk, fake = discord_desk, discord_desk.fake
    await desk.say(CUSTOMER, "alice", "@everyone @here help", DM)
    await fake.wait_for("POST", "/messages", count=2)
    relay = desk.sent_to(_thread_id(fake))[0].body
    assert "@everyone" in relay["content"]
    assert relay["allowed_mentions"]["parse"] == []


async def test_a_closed_dm_is_reported_in_the_thread(discord_desk: DiscordDesk) -> None:
    desk, fake = discord_desk, discord_desk.fake
    fake.fail(
        f"channels/{DM}/messages",
        403,
        {"message": "Cannot send messages to this user", "code": 50007},
    )
    await desk.say(CUSTOMER, "alice", "hello", DM)
    await fake.wait_for("POST", "/messages", count=3)
    thread = _thread_id(fake)
    notice = desk.sent_to(thread)[-1].body["content"]
    assert "could not be delivered" in notice
    assert "Cannot send messages" in notice


async def test_long_text_is_split_not_cut(discord_desk: DiscordDesk) -> None:
    desk, fake = discord_desk, discord_desk.fake
    words = " ".join(f"w{i}" for i in range(1200))  # 6,000 characters: 4 messages
    await desk.say(CUSTOMER, "alice", words, DM)
    await fake.wait_for("POST", "/messages", count=2)
    thread = _thread_id(fake)
    await fake.wait_for("POST", f"channels/{thread}/messages", count=4)
    parts = [c.body["content"] for c in desk.sent_to(thread)]
    assert all(len(p) <= 2000 for p in parts)
    assert " ".join(parts).replace("**alice:** ", "", 1).split() == words.split()


async def _answered(fake: FakeDiscord, interaction: str) -> dict[str, Any]:
    await fake.wait_for("POST", f"interactions/{interaction}/token-{interaction}/callback")
    return fake.answer(interaction)


def _components(body: dict[str, Any]) -> list[str]:
    return [item["custom_id"] for row in body.get("components", []) for item in row["components"]]


async def test_buttons_forms_and_rating(discord_desk: DiscordDesk) -> None:
    desk, fake = discord_desk, discord_desk.fake
    await desk.say(CUSTOMER, "alice", "Printer on fire", DM)
    await fake.wait_for("POST", "/messages", count=2)
    thread = int(_thread_id(fake))
    starter = fake.called("POST", f"channels/{FORUM}/threads")[0].body["message"]
    assert _components(starter) == ["ticket:claim:1", "ticket:escalate:1", "ticket:close:1"]

    pressed = await fake.interact(
        3,
        {"custom_id": "ticket:claim:1", "component_type": 2},
        AGENT,
        "bob",
        thread,
        roles=[STAFF_ROLE],
    )
    answer = await _answered(fake, pressed)
    assert answer["type"] == 4
    assert answer["data"]["flags"] == 64
    assert answer["data"]["content"] == "You claimed ticket #1."
    await fake.wait_for("PATCH", "/messages/" + str(_starter_id(fake)))
    card = fake.called("PATCH", "/messages/" + str(_starter_id(fake)))[-1].body
    assert "ticket:claim:1" not in _components(card)
    assert "bob" in str(card["embeds"])

    refused = await fake.interact(
        3, {"custom_id": "ticket:close:1", "component_type": 2}, 5555, "mallory", thread, roles=[]
    )
    assert "Only support staff" in (await _answered(fake, refused))["data"]["content"]
    await desk.say(AGENT, "bob", "Use the extinguisher.", thread, roles=[STAFF_ROLE])
    await fake.wait_for("POST", f"channels/{DM}/messages", count=2)  # ack, the answer

    opened = await fake.interact(
        3,
        {"custom_id": "ticket:close:1", "component_type": 2},
        AGENT,
        "bob",
        thread,
        roles=[STAFF_ROLE],
    )
    form = await _answered(fake, opened)
    assert form["type"] == 9
    assert form["data"]["custom_id"] == "ticket_close:1"
    submitted = await fake.interact(
        5,
        _form_submit("ticket_close:1", resolution="extinguished", followup="3d"),
        AGENT,
        "bob",
        thread,
        roles=[STAFF_ROLE],
    )
    assert "closed" in (await _answered(fake, submitted))["data"]["content"]
    await fake.wait_for("POST", f"channels/{DM}/messages", count=4)
    farewell, survey = desk.sent_to(DM)[-2:]
    assert "extinguished" in farewell.body["content"]
    assert _components(survey.body)[-1] == "csat:help:1"

    rated = await fake.interact(
        3, {"custom_id": "csat:5:1", "component_type": 2}, CUSTOMER, "alice", DM
    )
    assert (await _answered(fake, rated))["type"] == 6
    # in the thread: the relay, claimed, closed with the form's follow-up, the transcript,
    # the rating
    await fake.wait_for("POST", f"channels/{thread}/messages", count=5)
    notices = [c.body["content"] for c in desk.sent_to(thread)]
    assert "closed this ticket: extinguished. After-care follow-up in 3 days." in notices[2]
    assert notices[3].startswith("Transcript of ticket #1 (")
    assert "rated this ticket 5/5" in notices[4]


def _starter_id(fake: FakeDiscord) -> str:
    return fake.starters[_thread_id(fake)]


async def test_a_card_posted_before_a_restart_still_works(tmp_path: Path) -> None:
    async with running_fake_discord() as fake:
        async with connected(fake, tmp_path) as desk:
            await desk.say(CUSTOMER, "alice", "Lost my key", DM)
            await fake.wait_for("POST", "/messages", count=2)
            thread = int(_thread_id(fake))
        async with connected(fake, tmp_path):  # a new process, the same database
            pressed = await fake.interact(
                3,
                {"custom_id": "ticket:claim:1", "component_type": 2},
                AGENT,
                "bob",
                thread,
                roles=[STAFF_ROLE],
            )
            answer = await _answered(fake, pressed)
            assert answer["data"]["content"] == "You claimed ticket #1."


def _slash(subcommand: str, **options: Any) -> dict[str, Any]:
    types = {str: 3, int: 4}
    return {
        "id": "7001",
        "name": "ticket",
        "type": 1,
        "guild_id": str(GUILD),
        "options": [
            {
                "name": subcommand,
                "type": 1,
                "options": [
                    {"name": k, "type": types[type(v)], "value": v} for k, v in options.items()
                ],
            }
        ],
    }


async def test_ticket_slash_commands(discord_desk: DiscordDesk) -> None:
    desk, fake = discord_desk, discord_desk.fake
    synced = {c["name"]: c for c in fake.synced}
    subcommands = {o["name"] for o in synced["ticket"]["options"]}
    assert {
        "claim",
        "assign",
        "escalate",
        "close",
        "reopen",
        "note",
        "priority",
        "followup",
        "list",
        "show",
        "help",
    } <= subcommands
    await desk.say(CUSTOMER, "alice", "Wifi keeps dropping", DM)
    await fake.wait_for("POST", "/messages", count=2)
    thread = int(_thread_id(fake))
    asked = await fake.interact(2, _slash("claim"), AGENT, "bob", thread, roles=[STAFF_ROLE])
    answer = await _answered(fake, asked)
    assert answer["data"]["content"] == "You claimed ticket #1."
    assert answer["data"]["flags"] == 64
    asked = await fake.interact(
        2,
        _slash("escalate", team="engineering", reason="router bug"),
        AGENT,
        "bob",
        thread,
        roles=[STAFF_ROLE],
    )
    assert (await _answered(fake, asked))["data"]["content"] == (
        "Ticket #1 escalated to engineering."
    )
    elsewhere = await fake.interact(2, _slash("show"), AGENT, "bob", DM + 1, roles=[STAFF_ROLE])
    assert "Which ticket?" in (await _answered(fake, elsewhere))["data"]["content"]
    listed = await fake.interact(
        2, _slash("list", which="escalated"), AGENT, "bob", DM + 1, roles=[STAFF_ROLE]
    )
    assert "#1" in (await _answered(fake, listed))["data"]["content"]
    refused = await fake.interact(2, _slash("close", number=1), 5555, "mallory", thread, roles=[])
    assert "Only support staff" in (await _answered(fake, refused))["data"]["content"]


async def test_forum_tags_follow_the_ticket_and_a_closed_post_is_archived(
    discord_desk: DiscordDesk,
) -> None:
    desk, fake = discord_desk, discord_desk.fake
    tags = {t["name"]: int(t["id"]) for t in fake.forum_tags}
    assert set(tags) == {"Open", "Claimed", "Escalated", "Waiting", "Closed"}
    await desk.say(CUSTOMER, "alice", "Refund?", DM)
    await fake.wait_for("POST", "/messages", count=2)
    thread = _thread_id(fake)
    post = fake.called("POST", f"channels/{FORUM}/threads")[0].body
    assert post["applied_tags"] == [str(tags["Open"])]
    closed = await fake.interact(
        2, _slash("close", resolution="refunded"), AGENT, "bob", int(thread), roles=[STAFF_ROLE]
    )
    await _answered(fake, closed)
    await fake.wait_for("PATCH", f"channels/{thread}")
    assert fake.threads[thread]["applied_tags"] == [str(tags["Closed"])]
    assert fake.threads[thread]["thread_metadata"]["archived"] is True
    # the card was edited before the archive, and no notice came after it
    order = [c.path for c in fake.calls if c.path.startswith(f"channels/{thread}")]
    assert order[-1] == f"channels/{thread}"
    reopened = await fake.interact(
        2, _slash("reopen", number=1), AGENT, "bob", DM + 1, roles=[STAFF_ROLE]
    )
    await _answered(fake, reopened)
    await fake.wait_for("PATCH", f"channels/{thread}", count=2)
    assert fake.threads[thread]["thread_metadata"]["archived"] is False
    assert fake.threads[thread]["applied_tags"] == [str(tags["Open"])]


@pytest.mark.parametrize(
    ("setup", "variable", "words"),
    [
        ("token", "DISCORD_BOT_TOKEN", "rejected the token"),
        ("intent", "DISCORD_BOT_TOKEN", "Message Content intent"),
        ("permissions", "DISCORD_STAFF_CHANNEL", "Send Messages in Threads, Create Posts"),
    ],
)
async def test_start_fails_saying_what_to_enable(
    tmp_path: Path, setup: str, variable: str, words: str
) -> None:
    from bot.config import ConfigError

    async with running_fake_discord() as fake:
        if setup == "token":
            fake.fail("users/@me", 401, {"message": "401: Unauthorized", "code": 0})
        elif setup == "intent":
            fake.reject_intents = True
        else:  # View Channel and Send Messages only
            fake.bot_permissions = (1 << 10) | (1 << 11)
        with pytest.raises(ConfigError) as caught:
            async with connected(fake, tmp_path):
                pass
    assert caught.value.variable == variable
    assert words in str(caught.value)


async def test_the_panel_opens_tickets_in_the_customers_language(discord_desk: DiscordDesk) -> None:
    desk, fake = discord_desk, discord_desk.fake
    public = DM + 7
    posted = await fake.interact(2, _slash("panel"), AGENT, "bob", public, roles=[STAFF_ROLE])
    assert "Panel posted" in (await _answered(fake, posted))["data"]["content"]
    panel = desk.sent_to(public)[0].body
    assert _components(panel) == ["panel:open"]

    kenji = 4400
    pressed = await fake.interact(
        3,
        {"custom_id": "panel:open", "component_type": 2},
        kenji,
        "kenji",
        public,
        roles=[],
        locale="ja",
    )
    form = await _answered(fake, pressed)
    assert form["type"] == 9
    assert form["data"]["custom_id"] == "panel_form"
    submitted = await fake.interact(
        5,
        _form_submit("panel_form", subject="返金について", description="二重に請求されました"),
        kenji,
        "kenji",
        public,
        roles=[],
        locale="ja",
    )
    answer = (await _answered(fake, submitted))["data"]["content"]
    assert "チケット #1 を作成しました" in answer
    await fake.wait_for("POST", f"channels/{FORUM}/threads")
    assert fake.called("POST", f"channels/{FORUM}/threads")[0].body["name"] == "#1 返金について"
    dm = fake.called("POST", "users/@me/channels")[0].body["recipient_id"]
    assert str(dm) == str(kenji)
    await fake.wait_for("POST", "/messages", count=3)  # panel, ack, relay
    acks = [
        c.body["content"]
        for c in fake.called("POST", "/messages")
        if "お問い合わせありがとうございます" in c.body.get("content", "")
    ]
    assert acks
    assert "#1" in acks[0]


async def test_support_channel_messages_open_tickets_answered_in_dms(tmp_path: Path) -> None:
    support = 7700
    async with running_fake_discord() as fake, connected(fake, tmp_path, (support,)) as desk:
        await desk.say(CUSTOMER, "alice", "How do I export my data?", support, roles=[])
        await fake.wait_for("POST", f"channels/{FORUM}/threads")
        dm = fake.called("POST", "users/@me/channels")[0]
        assert str(dm.body["recipient_id"]) == str(CUSTOMER)
        await fake.wait_for("POST", "/messages", count=2)
        assert not desk.sent_to(support)  # nothing is answered in public
        acks = [
            c for c in fake.called("POST", "/messages") if "ticket #1" in c.body.get("content", "")
        ]
        assert acks
        assert acks[0].path != f"channels/{support}/messages"
        await desk.say(CUSTOMER, "alice", "(it is a CSV)", support, roles=[])
        await fake.wait_for("POST", "/messages", count=3)
        assert len(fake.called("POST", f"channels/{FORUM}/threads")) == 1  # the same ticket


async def test_a_429_is_waited_out_and_the_message_arrives(discord_desk: DiscordDesk) -> None:
    desk, fake = discord_desk, discord_desk.fake
    fake.fail(
        f"channels/{DM}/messages",
        429,
        {"message": "You are being rate limited.", "retry_after": 0.05, "global": False},
    )
    await desk.say(CUSTOMER, "alice", "hello", DM)
    await fake.wait_for("POST", f"channels/{DM}/messages", count=2)  # refused, then accepted
    assert "ticket #1" in desk.sent_to(DM)[-1].body["content"]


async def test_a_redelivered_gateway_event_creates_nothing_twice(discord_desk: DiscordDesk) -> None:
    desk, fake = discord_desk, discord_desk.fake
    event = fake.message_event(CUSTOMER, "alice", "once", DM, message_id=777001)
    await fake.dispatch("MESSAGE_CREATE", event)
    await fake.dispatch("MESSAGE_CREATE", event)
    await desk.say(CUSTOMER, "alice", "twice?", DM)  # a third, different message
    await fake.wait_for("POST", "/messages", count=3)  # ack, relay "once", relay "twice?"
    thread = _thread_id(fake)
    relays = [c.body["content"] for c in desk.sent_to(thread)]
    assert relays == ["**alice:** once", "**alice:** twice?"]
    assert len(fake.called("POST", f"channels/{FORUM}/threads")) == 1


async def test_ticket_numbers_autocomplete(discord_desk: DiscordDesk) -> None:
    desk, fake = discord_desk, discord_desk.fake
    await desk.say(CUSTOMER, "alice", "first", DM)
    await desk.say(4401, "dave", "second", DM + 3)
    await fake.wait_for("POST", f"channels/{FORUM}/threads", count=2)
    data = _slash("claim", number=1)
    data["options"][0]["options"][0] |= {"value": "", "type": 4, "focused": True}
    asked = await fake.interact(4, data, AGENT, "bob", DM + 1, roles=[STAFF_ROLE])
    answer = await _answered(fake, asked)
    assert answer["type"] == 8
    assert [c["value"] for c in answer["data"]["choices"]] == [1, 2]


async def test_a_reconnect_loses_nothing(discord_desk: DiscordDesk) -> None:
    desk, fake = discord_desk, discord_desk.fake
    await desk.say(CUSTOMER, "alice", "before the drop", DM)
    await fake.wait_for("POST", "/messages", count=2)
    thread = _thread_id(fake)
    await fake.drop_connection()
    await desk.say(CUSTOMER, "alice", "while away", DM)  # Discord keeps it for the resume
    async with asyncio.timeout(30):
        await fake.resumed.wait()
    await fake.wait_for("POST", f"channels/{thread}/messages", count=2)
    assert desk.sent_to(thread)[-1].body["content"] == "**alice:** while away"


async def test_a_text_staff_channel_keeps_each_ticket_in_a_thread(tmp_path: Path) -> None:
    from tests.adapters.fake_discord import TEXT

    async with running_fake_discord() as fake, connected(fake, tmp_path, staff=TEXT) as desk:
        await desk.say(CUSTOMER, "alice", "Password reset?", DM)
        await fake.wait_for("POST", "/threads")
        card = desk.sent_to(TEXT)[0].body
        assert card["embeds"][0]["title"].startswith("#1 Password reset?")
        started = fake.called("POST", "/threads")[0]
        card_id = started.path.split("/")[3]
        assert started.path == f"channels/{TEXT}/messages/{card_id}/threads"
        assert not fake.called("POST", f"channels/{FORUM}/threads")
        await fake.wait_for("POST", f"channels/{card_id}/messages")  # the relay, in the thread
        await desk.say(AGENT, "bob", "Sent you a link.", int(card_id), roles=[STAFF_ROLE])
        await fake.wait_for("POST", f"channels/{DM}/messages", count=2)
        assert desk.sent_to(DM)[-1].body["content"] == "**bob:** Sent you a link."
        closed = await fake.interact(
            2, _slash("close", resolution="done"), AGENT, "bob", int(card_id), roles=[STAFF_ROLE]
        )
        await _answered(fake, closed)
        # two card updates: the reply (waiting on the customer), then the close
        await fake.wait_for("PATCH", f"channels/{card_id}", count=2)
        assert fake.called("PATCH", f"channels/{TEXT}/messages/{card_id}")  # card edited
        assert fake.threads[card_id]["thread_metadata"]["archived"] is True, [
            (c.method, c.path, c.body) for c in fake.calls if c.method == "PATCH"
        ]
        assert "applied_tags" not in fake.called("PATCH", f"channels/{card_id}")[-1].body


async def test_slow_work_is_deferred_then_answered(
    discord_desk: DiscordDesk, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests.adapters.fake_discord import APP

    desk, fake = discord_desk, discord_desk.fake
    gate = asyncio.Event()
    handle_text = desk.app.desk.handle_text

    async def slow(text: str, caller: Any) -> Any:
        await gate.wait()  # the desk is busy until the test says so
        return await handle_text(text, caller)

    monkeypatch.setattr(desk.app.desk, "handle_text", slow)
    desk.adapter.interactions.defer_after = 0
    asked = await fake.interact(2, _slash("list"), AGENT, "bob", DM + 1, roles=[STAFF_ROLE])
    first = await _answered(fake, asked)
    assert first["type"] == 5
    assert first["data"]["flags"] == 64  # "thinking", only for bob
    gate.set()
    await fake.wait_for("POST", f"webhooks/{APP}/token-{asked}")
    follow_up = fake.called("POST", f"webhooks/{APP}/token-{asked}")[-1].body
    assert "There are no open tickets." in follow_up["content"]
    assert follow_up["flags"] == 64


def _slash_assign(uid: int, name: str, roles: list[int]) -> dict[str, Any]:
    """`/ticket assign agent:@name` as Discord sends it: the member arrives resolved."""
    data = _slash("assign")
    data["options"][0]["options"] = [{"name": "agent", "type": 6, "value": str(uid)}]
    whole = member(uid, name, roles)
    data["resolved"] = {
        "users": {str(uid): whole["user"]},
        "members": {str(uid): {k: v for k, v in whole.items() if k != "user"}},
    }
    return data


async def test_a_ticket_is_assigned_only_to_a_member_of_the_staff(
    discord_desk: DiscordDesk,
) -> None:
    desk, fake = discord_desk, discord_desk.fake
    await desk.say(CUSTOMER, "alice", "Printer jam", DM)
    await fake.wait_for("POST", "/messages", count=2)
    thread = int(_thread_id(fake))
    asked = await fake.interact(
        2, _slash_assign(5555, "mallory", []), AGENT, "bob", thread, roles=[STAFF_ROLE]
    )
    assert (await _answered(fake, asked))["data"]["content"].startswith(
        "mallory is not on the support staff, so ticket #1 stays as it is."
    )
    asked = await fake.interact(
        2, _slash_assign(6666, "carol", [STAFF_ROLE]), AGENT, "bob", thread, roles=[STAFF_ROLE]
    )
    assert (await _answered(fake, asked))["data"]["content"] == (
        "Ticket #1 is now assigned to carol."
    )


async def test_a_command_typed_in_the_thread_runs_and_never_reaches_the_customer(
    discord_desk: DiscordDesk,
) -> None:
    desk, fake = discord_desk, discord_desk.fake
    await desk.say(CUSTOMER, "alice", "Printer jam", DM)
    await fake.wait_for("POST", "/messages", count=2)
    thread = _thread_id(fake)
    before = len(desk.sent_to(thread))
    await desk.say(AGENT, "bob", "/ticket claim", int(thread), roles=[STAFF_ROLE])
    await fake.wait_for("POST", f"channels/{thread}/messages", count=before + 1)
    answers = [c.body["content"] for c in desk.sent_to(thread)[before:]]
    assert "You claimed ticket #1." in answers
    await desk.say(AGENT, "bob", "/tickets list", int(thread), roles=[STAFF_ROLE])
    await fake.wait_for("POST", f"channels/{thread}/messages", count=before + 3)
    answers = [c.body["content"] for c in desk.sent_to(thread)[before:]]
    assert any(a.endswith("Did you mean `/ticket list`?") for a in answers)
    assert len(desk.sent_to(DM)) == 1  # the acknowledgement only: nothing typed went out


async def test_a_stranger_pressing_a_customers_button_is_told_in_their_language(
    discord_desk: DiscordDesk,
) -> None:
    desk, fake = discord_desk, discord_desk.fake
    await desk.say(CUSTOMER, "alice", "Printer jam", DM)
    await fake.wait_for("POST", "/messages", count=2)
    pressed = await fake.interact(
        3, {"custom_id": "csat:1:1", "component_type": 2}, 7777, "eve", DM + 7, locale="ja"
    )
    assert (await _answered(fake, pressed))["type"] == 6  # deferred
    await fake.wait_for("POST", f"token-{pressed}")  # the interaction's follow-up
    [told] = [c.body for c in fake.called("POST", f"token-{pressed}")]
    assert told["content"].startswith("このボタンは別のお客様のチケットのものです。")
    assert told["flags"] & 64  # only eve sees it


async def test_a_blocked_customer_is_told_once_and_opens_no_post(
    discord_desk: DiscordDesk,
) -> None:
    desk, fake = discord_desk, discord_desk.fake
    data = _slash("block")
    data["options"][0]["options"] = [
        {"name": "customer", "type": 6, "value": str(CUSTOMER)},
        {"name": "duration", "type": 3, "value": "7d"},
        {"name": "reason", "type": 3, "value": "spam"},
    ]
    data["resolved"] = {"users": {str(CUSTOMER): member(CUSTOMER, "alice", [])["user"]}}
    asked = await fake.interact(2, data, AGENT, "bob", DM + 1, roles=[STAFF_ROLE])
    assert (await _answered(fake, asked))["data"]["content"].startswith("alice is blocked until ")
    await desk.say(CUSTOMER, "alice", "Buy cheap watches", DM)
    await fake.wait_for("POST", f"channels/{DM}/messages")
    await desk.say(CUSTOMER, "alice", "Buy them now", DM)
    listed = await fake.interact(2, _slash("blocked"), AGENT, "bob", DM + 1, roles=[STAFF_ROLE])
    assert "alice: blocked by bob on " in (await _answered(fake, listed))["data"]["content"]
    [notice] = desk.sent_to(DM)
    assert "cannot take your messages here until " in notice.body["content"]
    assert fake.called("POST", f"channels/{FORUM}/threads") == []
