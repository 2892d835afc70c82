"""SLACK_HELP_CHANNELS=auto and DISCORD_SUPPORT_CHANNELS=auto: every channel the bot serves is
a help channel, but the staff's and the leads', and staff talking there open no tickets."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import discord
import pytest

from adapters.discord import settings as discord_settings
from adapters.slack import settings as slack_settings
from bot.config import ConfigError
from tests.adapters.fake_discord import (
    BOT_ROLE,
    FORUM,
    GUILD,
    LEADS,
    STAFF_ROLE,
    running_fake_discord,
)
from tests.adapters.fake_discord_components import SEND_MESSAGES, VIEW_CHANNEL, text_channel
from tests.adapters.fake_slack import running_fake_slack
from tests.adapters.slack_harness import LEADS_CHANNEL, STAFF_CHANNEL, SlackDesk, start, stop
from tests.adapters.test_discord import CUSTOMER, DiscordDesk, connected

AGENT, ALICE, GUEST = "UAGENT0001", "UCUST00001", "UEXTERN001"
GENERAL, SHARED, LATER = "CGENERAL01", "CSHARED001", "CLATER0001"


def _cards(slack: SlackDesk) -> list[str]:
    return [
        str(c["blocks"])
        for c in slack.fake.called("chat.postMessage")
        if c["channel"] == STAFF_CHANNEL and not c.get("thread_ts")
    ]


async def test_slack_every_channel_the_bot_is_in_but_the_staffs(tmp_path: Path) -> None:
    async with running_fake_slack() as fake:
        fake.staff = {AGENT}
        fake.users = {ALICE: {"name": "Alice"}, GUEST: {"name": "Gus"}, AGENT: {"name": "Ann"}}
        for channel in (GENERAL, STAFF_CHANNEL, LEADS_CHANNEL):
            fake.workspace.invite(channel)
        fake.workspace.invite(SHARED, shared=True)
        slack = await start(fake, tmp_path, leads_channel=LEADS_CHANNEL, help_auto=True)
        try:
            await slack.message(ALICE, "The export button does nothing", GENERAL)
            assert len(_cards(slack)) == 1
            answered = [c for c in fake.called("chat.postMessage") if c["channel"] == GENERAL]
            assert "ticket #1" in answered[0]["text"]  # in the message's thread
            assert answered[0]["thread_ts"]

            await slack.message(AGENT, "lunch at noon?", GENERAL)  # staff talk: no ticket
            await slack.message(ALICE, "hello team", STAFF_CHANNEL)  # the staff's own channel
            await slack.message(ALICE, "numbers please", LEADS_CHANNEL)
            await slack.message(ALICE, "anyone?", "CNOTIN0001")  # the bot is not in it
            await slack.message(ALICE, "a group DM", "GGROUPDM01", channel_type="mpim")
            assert len(_cards(slack)) == 1

            # a Slack Connect channel: the member from the other organisation is a customer
            await slack.message(GUEST, "Our SSO login fails", SHARED, user_team="T0OTHER01")
            assert len(_cards(slack)) == 2
            assert "Our SSO login fails" in _cards(slack)[1]

            # invited after the start: the bot's channels are read again
            fake.workspace.invite(LATER)
            slack.clock.advance(timedelta(seconds=10))
            await slack.message(ALICE, "Billing question", LATER)
            assert len(_cards(slack)) == 3
            # at start, then for the new one (the unknown channel came too soon to look again)
            assert len(fake.called("users.conversations")) == 2
        finally:
            await stop(slack)


OPEN, READ_ONLY, HIDDEN = 7701, 7702, 7703


async def test_discord_every_text_channel_the_bot_may_write_in(tmp_path: Path) -> None:
    async with running_fake_discord() as fake:
        fake.guild_channels = [
            text_channel(OPEN, GUILD, "general"),
            text_channel(READ_ONLY, GUILD, "announcements", BOT_ROLE, SEND_MESSAGES),
            text_channel(HIDDEN, GUILD, "mods", BOT_ROLE, VIEW_CHANNEL),
        ]
        async with connected(fake, tmp_path, leads=LEADS, support_auto=True) as desk:
            allowed = {channel: _may(desk, channel) for channel in (OPEN, READ_ONLY, HIDDEN, LEADS)}
            assert allowed == {
                OPEN: (True, True),
                READ_ONLY: (True, False),
                HIDDEN: (False, False),
                LEADS: (True, True),
            }
            await desk.say(CUSTOMER, "alice", "How do I export my data?", OPEN, roles=[])
            await fake.wait_for("POST", f"channels/{FORUM}/threads")
            dm = fake.dm_channels[str(CUSTOMER)]
            await fake.wait_for("POST", f"channels/{dm}/messages")
            assert not desk.sent_to(OPEN)  # nothing is answered in public

            for author, text, channel, roles in (
                (4300, "brb", OPEN, [STAFF_ROLE]),  # staff talk among the members
                (4500, "news!", READ_ONLY, []),
                (4501, "secret", HIDDEN, []),
                (4502, "digest?", LEADS, []),
            ):
                await desk.say(author, f"user{author}", text, channel, roles=roles)
            await _settled(desk)
            assert len(fake.called("POST", f"channels/{FORUM}/threads")) == 1
            assert set(fake.dm_channels) == {str(CUSTOMER)}


def _may(desk: DiscordDesk, channel_id: int) -> tuple[bool, bool]:
    """Whether the bot may read and write in the channel, as discord.py works it out from
    the roles and overwrites the fake's server carries."""
    channel = desk.adapter.client.get_channel(channel_id)
    assert isinstance(channel, discord.TextChannel)
    assert channel.guild.me is not None
    allowed = channel.permissions_for(channel.guild.me)
    return allowed.view_channel, allowed.send_messages


async def _settled(desk: DiscordDesk) -> None:
    """Until the messages said so far were taken: one more from the customer is relayed to
    the ticket's post, after them."""
    await desk.say(CUSTOMER, "alice", "(it is a CSV)", OPEN, roles=[])
    thread = next(iter(desk.fake.threads))
    await desk.fake.wait_for("POST", f"channels/{thread}/messages", count=2)


def test_auto_stands_alone_and_lists_still_work() -> None:
    slack_env = {
        "SLACK_BOT_TOKEN": "xoxb-1",
        "SLACK_APP_TOKEN": "xapp-1",
        "SLACK_STAFF_CHANNEL": "C1",
    }
    auto = slack_settings.load(slack_env | {"SLACK_HELP_CHANNELS": "Auto"})
    assert auto.help_auto
    assert auto.help_channels == ()
    listed = slack_settings.load(slack_env | {"SLACK_HELP_CHANNELS": "C2, C3"})
    assert not listed.help_auto
    assert listed.help_channels == ("C2", "C3")
    with pytest.raises(ConfigError) as mixed:
        slack_settings.load(slack_env | {"SLACK_HELP_CHANNELS": "auto,C2"})
    assert mixed.value.variable == "SLACK_HELP_CHANNELS"

    discord_env = {
        "DISCORD_BOT_TOKEN": "t",
        "DISCORD_GUILD_ID": "1",
        "DISCORD_STAFF_CHANNEL": "2",
        "DISCORD_STAFF_ROLE": "3",
    }
    found = discord_settings.load(discord_env | {"DISCORD_SUPPORT_CHANNELS": "auto"})
    assert found.support_auto
    assert found.support_channels == ()
    listed_ids = discord_settings.load(discord_env | {"DISCORD_SUPPORT_CHANNELS": "5,6"})
    assert listed_ids.support_channels == (5, 6)
    with pytest.raises(ConfigError) as bad:
        discord_settings.load(discord_env | {"DISCORD_SUPPORT_CHANNELS": "auto,5"})
    assert bad.value.variable == "DISCORD_SUPPORT_CHANNELS"
