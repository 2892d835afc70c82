"""The settings of delivery at scale: each bad value is refused naming its variable."""

from __future__ import annotations

from pathlib import Path

import pytest

from adapters.discord import settings as discord_settings
from adapters.slack import settings as slack_settings
from bot.config import ConfigError, load_config

SLACK = {
    "SLACK_BOT_TOKEN": "xoxb-1",
    "SLACK_APP_TOKEN": "xapp-1",
    "SLACK_STAFF_CHANNEL": "C0123",
}
DISCORD = {
    "DISCORD_BOT_TOKEN": "token",
    "DISCORD_GUILD_ID": "2000",
    "DISCORD_STAFF_CHANNEL": "3000",
    "DISCORD_STAFF_ROLE": "4000",
}


def test_the_defaults_keep_to_the_platforms_own_limits(tmp_path: Path) -> None:
    assert load_config({}, dotenv=tmp_path / ".env").delivery_concurrency == 256
    assert slack_settings.load(SLACK).rate_scale == 1.0
    assert discord_settings.load(DISCORD).standby_retry_seconds == 5.0


def test_good_values_are_taken(tmp_path: Path) -> None:
    env = {"SUPPORTBOT_DELIVERY_CONCURRENCY": "200"}
    assert load_config(env, dotenv=tmp_path / ".env").delivery_concurrency == 200
    assert slack_settings.load(SLACK | {"SLACK_RATE_SCALE": "2.5"}).rate_scale == 2.5
    retry = discord_settings.load(DISCORD | {"DISCORD_STANDBY_RETRY_SECONDS": "2"})
    assert retry.standby_retry_seconds == 2.0


@pytest.mark.parametrize("value", ["0", "1001", "many"])
def test_a_concurrency_out_of_range_is_refused(tmp_path: Path, value: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load_config({"SUPPORTBOT_DELIVERY_CONCURRENCY": value}, dotenv=tmp_path / ".env")
    assert caught.value.variable == "SUPPORTBOT_DELIVERY_CONCURRENCY"


@pytest.mark.parametrize("value", ["0", "fast", "5000"])
def test_a_slack_rate_scale_out_of_range_is_refused(value: str) -> None:
    with pytest.raises(ConfigError) as caught:
        slack_settings.load(SLACK | {"SLACK_RATE_SCALE": value})
    assert caught.value.variable == "SLACK_RATE_SCALE"
    assert "Slack's own limits" in str(caught.value)


@pytest.mark.parametrize("value", ["0", "-1", "soon", "61"])
def test_a_standby_retry_out_of_range_is_refused(value: str) -> None:
    with pytest.raises(ConfigError) as caught:
        discord_settings.load(DISCORD | {"DISCORD_STANDBY_RETRY_SECONDS": value})
    assert caught.value.variable == "DISCORD_STANDBY_RETRY_SECONDS"
