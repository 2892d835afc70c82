"""Teams from Slack user groups (SLACK_TEAM_GROUPS), through the real Bolt app against the
fake Slack: a member of billing's user group goes on duty with `/ticket duty on` and billing
tickets come to them in turn; someone outside it is refused; Slack failing to answer leaves
the desk going by [routing.members]."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from adapters.slack import settings as slack_settings
from bot.app.registry import configured
from bot.categories import Category
from bot.clock import FrozenClock
from bot.config import ConfigError, load_config
from bot.settings import DeskSettings, RoutingPolicy
from tests.adapters.fake_slack import FakeSlack, running_fake_slack
from tests.adapters.slack_harness import STAFF_CHANNEL, SlackDesk, start, stop

AGENT, AGENT2, CUSTOMER, CUSTOMER2 = "UAGENT0001", "UAGENT0002", "UCUST00001", "UCUST00002"
BILLING_GROUP = "S0BILLING1"
BILLING = Category("billing", {"en": "Billing"}, "💳", (), team="billing")
NOT_IN_BILLING = (
    "You are not a member of billing (its members are those in its Slack user group or "
    "Discord role, and those listed under `[routing.members]` in the configuration), "
    "so its tickets do not come to you."
)


def _people(fake: FakeSlack) -> None:
    fake.staff = {AGENT, AGENT2}
    fake.usergroups = {BILLING_GROUP: {AGENT}}
    fake.users = {
        AGENT: {"name": "Agent One"},
        AGENT2: {"name": "Agent Two"},
        CUSTOMER: {"name": "Alice"},
        CUSTOMER2: {"name": "Ben"},
    }


@pytest.fixture
async def slack(tmp_path: Path) -> AsyncIterator[SlackDesk]:
    async with running_fake_slack() as fake:
        _people(fake)
        desk = await start(
            fake,
            tmp_path,
            desk=DeskSettings(categories={"billing": BILLING}),
            team_groups={"billing": BILLING_GROUP},
        )
        try:
            yield desk
        finally:
            await stop(desk)


async def _billing_ticket(slack: SlackDesk, user: str, text: str) -> None:
    """The customer opens the Contact support form from the App Home and picks Billing."""
    await slack.event(
        {"type": "app_home_opened", "user": user, "channel": f"D{user[1:]}", "tab": "home"}
    )
    home = slack.fake.views.home(user)
    await slack.send("interactive", slack.fake.views.press(home.id, "contact:open"))
    form = slack.fake.views.opened()[-1].id
    picked = slack.fake.views.pick(form, "contact:category", "billing")
    assert picked is not None
    await slack.send("interactive", picked)
    slack.fake.views.type_in(form, "description", text)
    await slack.submit_view(form)


def _thread_posts(slack: SlackDesk) -> list[dict[str, Any]]:
    return [
        c
        for c in slack.fake.called("chat.postMessage")
        if c["channel"] == STAFF_CHANNEL and c.get("thread_ts")
    ]


async def test_a_billing_group_member_on_duty_gets_the_billing_tickets(slack: SlackDesk) -> None:
    on = await slack.command(AGENT, "duty on")
    assert on.startswith("You are on duty for billing: new tickets come to you in turn")
    assert slack.fake.called("usergroups.users.list")[-1]["usergroup"] == BILLING_GROUP
    assert (await slack.command(AGENT2, "duty on")).startswith("You are on duty: ")

    await _billing_ticket(slack, CUSTOMER, "I was charged twice")
    await _billing_ticket(slack, CUSTOMER2, "Where is my invoice?")
    notices = [p["text"] for p in _thread_posts(slack) if "in turn" in p["text"]]
    assert len(notices) == 2
    # both to the billing member, though Agent Two is on duty with fewer tickets
    assert "Assigned to Agent One in turn; they already held 0 open tickets." in notices[0]
    assert "Assigned to Agent One in turn; they already held 1 open ticket." in notices[1]
    duty = await slack.command(AGENT2, "duty")
    assert "Agent One (billing): 2 open" in duty


async def test_someone_outside_the_group_is_refused(slack: SlackDesk) -> None:
    assert await slack.command(AGENT2, "duty on billing") == NOT_IN_BILLING
    assert (await slack.command(AGENT2, "duty on tier2")).startswith("You are on duty for tier2")


async def test_the_group_is_asked_again_once_a_minute_has_passed(slack: SlackDesk) -> None:
    assert (await slack.command(AGENT, "duty on billing")).startswith("You are on duty")
    asked = len(slack.fake.called("usergroups.users.list"))
    slack.fake.usergroups[BILLING_GROUP] = set()  # removed from the group in Slack
    assert (await slack.command(AGENT, "duty on billing")).startswith("You are on duty")
    assert len(slack.fake.called("usergroups.users.list")) == asked  # from the cache
    slack.clock.advance(timedelta(minutes=2))
    assert await slack.command(AGENT, "duty on billing") == NOT_IN_BILLING


async def test_when_slack_does_not_answer_the_listed_members_still_count(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    routing = RoutingPolicy(members={"billing": (f"slack:{AGENT2}",)})
    async with running_fake_slack() as fake:
        _people(fake)
        slack = await start(
            fake,
            tmp_path,
            desk=DeskSettings(routing=routing),
            team_groups={"billing": BILLING_GROUP},
        )
        try:
            for _ in range(2):
                fake.fail("usergroups.users.list", 200, {"ok": False, "error": "missing_scope"})
            with caplog.at_level(logging.WARNING, logger="adapters.slack.people"):
                on = await slack.command(AGENT2, "duty on billing")  # listed: on duty
                refused = await slack.command(AGENT, "duty on billing")  # group unknown now
            assert on.startswith("You are on duty for billing")
            assert refused == NOT_IN_BILLING
            warnings = [r.getMessage() for r in caplog.records if r.name.endswith("people")]
            assert warnings == ["usergroups.users.list failed for S0BILLING1: missing_scope"] * 2
            # Slack answers again: the group counts again
            assert (await slack.command(AGENT, "duty on billing")).startswith("You are on duty")
        finally:
            await stop(slack)


SLACK_ENV = {"SLACK_BOT_TOKEN": "xoxb-1", "SLACK_APP_TOKEN": "xapp-1", "SLACK_STAFF_CHANNEL": "C1"}


def test_team_groups_name_the_desks_teams(tmp_path: Path) -> None:
    teams = ("billing", "tier2")
    read = slack_settings.load(SLACK_ENV | {"SLACK_TEAM_GROUPS": "Billing=S01, tier2=S02"}, teams)
    assert read.team_groups == {"billing": "S01", "tier2": "S02"}
    assert slack_settings.load(SLACK_ENV, teams).team_groups == {}
    for value, said in [
        ("sales=S01", "there is no team sales; teams are billing, tier2"),
        ("billing=C01", "'billing=C01' is not team=id; write pairs like billing=S0123ABCD"),
        ("billing", "'billing' is not team=id"),
        ("billing=S01,billing=S02", "billing is given twice"),
    ]:
        with pytest.raises(ConfigError) as bad:
            slack_settings.load(SLACK_ENV | {"SLACK_TEAM_GROUPS": value}, teams)
        assert bad.value.variable == "SLACK_TEAM_GROUPS"
        assert str(bad.value).startswith(f"SLACK_TEAM_GROUPS: {said}")

    # `supportbot run` and `check` read the teams from the configuration file
    desk_toml = tmp_path / "desk.toml"
    desk_toml.write_text('teams = ["sales"]\n', "utf-8")
    env = SLACK_ENV | {"SUPPORTBOT_CONFIG": str(desk_toml), "SLACK_TEAM_GROUPS": "sales=S01"}
    [adapter] = configured(load_config(env, dotenv=None), FrozenClock())
    assert adapter.name == "slack"
    with pytest.raises(ConfigError, match="there is no team billing; teams are sales"):
        configured(
            load_config(env | {"SLACK_TEAM_GROUPS": "billing=S01"}, dotenv=None), FrozenClock()
        )
