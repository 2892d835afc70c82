"""`supportbot check` names every problem of the core's and the platforms' settings in one run,
a malformed token among them (which no stand-in value could get past), and `supportbot run`
refuses to start with the very same lines."""

from __future__ import annotations

from pathlib import Path

import pytest

from adapters.slack import settings as slack_settings
from bot.app.check import platform_problems
from bot.config import ConfigErrors, load_config
from bot.config_errors import Problems, every
from tests.e2e.test_operator_edges import error_lines, supportbot

PROBLEMS = {
    "SUPPORTBOT_LOCALE": "fr",
    "SUPPORTBOT_TICK_SECONDS": "0",
    "SLACK_BOT_TOKEN": "xoxp-a-user-token",  # malformed: not a bot token
    "SLACK_APP_TOKEN": "xapp-1",
    "SLACK_TEAM_GROUPS": "billing=not-a-group",
    "SLACK_RATE_SCALE": "fast",
    "DISCORD_BOT_TOKEN": "token-1",
    "DISCORD_GUILD_ID": "my server",
    "DISCORD_STAFF_CHANNEL": "123",
    "DISCORD_STAFF_ROLE": "staff",
    "DISCORD_SUPPORT_CHANNELS": "auto,5",
    "DISCORD_TEAM_ROLES": "billing",
}
# SLACK_STAFF_CHANNEL is missing
NAMED = [
    "SUPPORTBOT_LOCALE",
    "SUPPORTBOT_TICK_SECONDS",
    "SLACK_BOT_TOKEN",
    "SLACK_STAFF_CHANNEL",
    "SLACK_TEAM_GROUPS",
    "SLACK_RATE_SCALE",
    "DISCORD_SUPPORT_CHANNELS",
    "DISCORD_TEAM_ROLES",
    "DISCORD_GUILD_ID",
    "DISCORD_STAFF_ROLE",
]


def test_the_platforms_settings_name_every_problem_in_one_look() -> None:
    core = Problems()
    found = platform_problems(load_config(PROBLEMS, dotenv=None, problems=core))
    assert [e.variable for e in core.found] == NAMED[:2]
    assert [e.variable for each in found.values() for e in each] == NAMED[2:]
    with pytest.raises(ConfigErrors) as slack:  # as `run` reads them: all raised together
        slack_settings.load(PROBLEMS)
    assert [e.variable for e in every(slack.value)] == NAMED[2:6]


def test_check_names_every_problem_and_run_refuses_with_the_same_lines(tmp_path: Path) -> None:
    check = supportbot(tmp_path, "check", **PROBLEMS)
    assert check.returncode == 2
    lines = error_lines(check)
    assert [line.split(": ")[2] for line in lines] == NAMED
    assert all(line.startswith("supportbot: configuration error: ") for line in lines)
    assert "SLACK_BOT_TOKEN: must be a bot token starting with xoxb-" in lines[2]
    assert f"configuration: {len(NAMED)} problems found" in check.stdout
    assert "slack: not tried (its settings have problems)" in check.stdout
    assert "discord: not tried (its settings have problems)" in check.stdout
    assert "Traceback" not in check.stderr
    run = supportbot(tmp_path, "run", **PROBLEMS)
    assert run.returncode == 2
    assert run.stderr.splitlines() == lines  # the same lines, and nothing else
    everything = check.stdout + check.stderr + run.stdout + run.stderr
    assert "xoxp-a-user-token" not in everything
    assert "token-1" not in everything
