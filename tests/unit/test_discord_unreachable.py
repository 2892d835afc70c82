"""Discord not answering at start is one line: the operator's DISCORD_API_URL is named when
they set it, and Discord's own address is the network's trouble, not a setting's."""

from __future__ import annotations

import socket

import pytest

from adapters.discord import app
from adapters.discord.app import DiscordAdapter
from adapters.discord.settings import DiscordSettings
from bot.config_errors import ConfigError, Unreachable, unreachable


def nowhere() -> str:
    with socket.socket() as probe:  # a port on 127.0.0.1 that nothing listens on
        probe.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{probe.getsockname()[1]}/api/v10"


def settings(api_url: str) -> DiscordSettings:
    return DiscordSettings(
        bot_token="secret-token", guild_id=1, staff_channel=2, staff_role=3, api_url=api_url
    )


async def test_a_set_address_that_does_not_answer_names_its_variable() -> None:
    url = nowhere()
    with pytest.raises(ConfigError) as caught:
        await DiscordAdapter(settings(url)).reach()
    assert caught.value.variable == "DISCORD_API_URL"
    assert caught.value.problem.startswith(f"cannot reach Discord at {url}: Cannot connect")
    assert "secret-token" not in str(caught.value)


async def test_discords_own_address_not_answering_is_no_setting_of_the_operator(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    url = nowhere()
    monkeypatch.setattr(app, "DEFAULT_API_URL", url)  # stands for https://discord.com/api/v10
    with pytest.raises(Unreachable) as caught:
        await DiscordAdapter(settings(url)).reach()
    assert str(caught.value).startswith(f"cannot reach Discord at {url}: ")
    assert "DISCORD_API_URL" not in str(caught.value)
    assert str(caught.value).endswith(
        "check this machine's network connection, DNS and any proxy or firewall in between"
    )


def test_a_timeout_at_a_custom_address_is_the_network_not_the_setting() -> None:
    # a refused connection at the operator's address: their setting may be wrong (exit 2);
    # a slow answer there is worth trying again, as a service manager does (exit 1)
    custom, default = "http://127.0.0.1:9/api/", "https://slack.com/api/"
    refused = unreachable("Slack", custom, default, "SLACK_API_URL", ConnectionRefusedError())
    assert isinstance(refused, ConfigError)
    assert refused.variable == "SLACK_API_URL"
    slow = unreachable("Slack", custom, default, "SLACK_API_URL", TimeoutError())
    assert isinstance(slow, Unreachable)
    assert "cannot reach Slack at http://127.0.0.1:9/api/: TimeoutError;" in str(slow)
    assert isinstance(unreachable("Slack", default, default, "SLACK_API_URL", "down"), Unreachable)
