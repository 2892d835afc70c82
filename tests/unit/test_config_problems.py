"""One look at the configuration finds every problem, not the first of them; a time zone is
understood in any case; a platform that does not answer is not blamed on an unset variable."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.app.check import platform_problems
from bot.config import ConfigError, ConfigErrors, load_config
from bot.config_errors import Problems, Unreachable, every, unreachable


def test_every_problem_is_found_in_one_look(tmp_path: Path) -> None:
    desk = tmp_path / "desk.toml"
    desk.write_text(
        "colour = 'blue'\nthanks_grace = 'a while'\n"
        "[keywords]\nsevere = ['x']\n[first_response_targets]\nhigh = 'soon'\n"
    )
    env = {
        "SUPPORTBOT_LOCALE": "fr",
        "SUPPORTBOT_LOG_LEVEL": "chatty",
        "SUPPORTBOT_CONFIG": str(desk),
        "DIGEST_TIME": "9am",
        "SUPPORTBOT_TICK_SECONDS": "0",
        "SUPPORTBOT_DELIVERY_CONCURRENCY": "lots",
    }
    with pytest.raises(ConfigErrors) as caught:
        load_config(env, dotenv=None)
    found = [f"{e.variable}: {e.problem}" for e in every(caught.value)]
    where = f"SUPPORTBOT_CONFIG ({desk})"
    assert found == [
        "SUPPORTBOT_LOCALE: 'fr' has no templates; use one of en, ja",
        "SUPPORTBOT_LOG_LEVEL: 'CHATTY' is not one of DEBUG, INFO, WARNING, ERROR",
        f"{where}: unknown setting 'colour'; known: " + found[2].split("known: ")[1],
        f"{where}: keywords.severe: priorities are urgent, high, normal, low",
        f"{where}: first_response_targets.high = 'soon' is not a duration like 15m, 4h or 1d",
        f"{where}: thanks_grace = 'a while' is not a duration like 10m or 1h (0 turns it off)",
        "DIGEST_TIME: '9am' is not a time; write it like 09:00 or 17:30",
        "SUPPORTBOT_TICK_SECONDS: '0' must be a number of seconds from 1 to 3600",
        (
            "SUPPORTBOT_DELIVERY_CONCURRENCY: 'lots' must be a whole number from 1 to 1000 "
            "(sends under way at once)"
        ),
    ]
    # the first problem is the error's own, as one problem alone would be
    assert caught.value.variable == "SUPPORTBOT_LOCALE"


def test_given_a_list_the_problems_go_there_and_defaults_stand_in(tmp_path: Path) -> None:
    problems = Problems()
    config = load_config(
        {"SUPPORTBOT_TICK_SECONDS": "0", "SUPPORTBOT_TIMEZONE": "Asia/Tokyo"},
        dotenv=None,
        problems=problems,
    )
    assert [p.variable for p in problems.found] == ["SUPPORTBOT_TICK_SECONDS"]
    assert config.tick_seconds == 15.0
    assert config.desk.timezone == "Asia/Tokyo"
    with pytest.raises(ConfigError) as one:  # a single problem is raised as itself
        load_config({"SUPPORTBOT_TICK_SECONDS": "0"}, dotenv=None)
    assert not isinstance(one.value, ConfigErrors)


@pytest.mark.parametrize(
    ("written", "zone"),
    [
        ("utc", "UTC"),
        ("UTC", "UTC"),
        ("europe/berlin", "Europe/Berlin"),
        ("ASIA/TOKYO", "Asia/Tokyo"),
    ],
)
def test_time_zones_are_understood_in_any_case(written: str, zone: str) -> None:
    assert load_config({"SUPPORTBOT_TIMEZONE": written}, dotenv=None).desk.timezone == zone


def test_each_platform_names_all_its_problems() -> None:
    env = {
        "SLACK_BOT_TOKEN": "xoxb-1",
        "SUPPORTBOT_HTTP_PORT": "eighty",
        "DISCORD_BOT_TOKEN": "token",
        "DISCORD_GUILD_ID": "my server",
        "DISCORD_STANDBY_RETRY_SECONDS": "never",
    }
    found = platform_problems(load_config(env, dotenv=None))
    # in whatever order the settings are read
    assert {e.variable for e in found["slack"]} == {
        "SLACK_SIGNING_SECRET",
        "SLACK_STAFF_CHANNEL",
        "SUPPORTBOT_HTTP_PORT",
    }
    assert {e.variable for e in found["discord"]} == {
        "DISCORD_STANDBY_RETRY_SECONDS",
        "DISCORD_GUILD_ID",
        "DISCORD_STAFF_CHANNEL",
        "DISCORD_STAFF_ROLE",
    }
    assert len(found["slack"]) == 3
    assert len(found["discord"]) == 4
    fine = {"SLACK_BOT_TOKEN": "xoxb-1", "SLACK_APP_TOKEN": "xapp-1", "SLACK_STAFF_CHANNEL": "C1"}
    assert platform_problems(load_config(fine, dotenv=None)) == {"slack": []}
    assert platform_problems(load_config({}, dotenv=None)) == {}


def test_an_unanswered_platform_is_blamed_on_its_variable_only_when_it_was_set() -> None:
    default = "https://slack.com/api/"
    mine = unreachable("Slack", "http://10.0.0.9/api/", default, "SLACK_API_URL", "refused")
    assert isinstance(mine, ConfigError)
    assert mine.variable == "SLACK_API_URL"
    assert mine.problem == (
        "cannot reach Slack at http://10.0.0.9/api/: refused; check the address in SLACK_API_URL"
    )
    theirs = unreachable("Slack", default, default, "SLACK_API_URL", "DNS lookup failed")
    assert isinstance(theirs, Unreachable)
    assert "SLACK_API_URL" not in str(theirs)
    assert str(theirs).startswith("cannot reach Slack at https://slack.com/api/: DNS lookup")
    assert "check this machine's network connection, DNS and any proxy" in str(theirs)
