"""Teams from Discord roles (DISCORD_TEAM_ROLES), through the real discord.py against the fake
Discord: a member with billing's role goes on duty with `/ticket duty` and billing tickets
from the panel come to them in turn; a member without it is refused."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from adapters.discord import settings as discord_settings
from bot.categories import Category
from bot.config import ConfigError
from bot.settings import DeskSettings
from tests.adapters.fake_discord import FORUM, STAFF_ROLE, FakeDiscord, running_fake_discord
from tests.adapters.test_discord import (
    AGENT,
    DM,
    DiscordDesk,
    _answered,
    _form_submit,
    _slash,
    _thread_id,
    connected,
)

BILLING_ROLE, AGENT2, CUSTOMER = 4600, 4310, 4210
PUBLIC = DM + 7
BILLING = Category("billing", {"en": "Billing"}, "💳", (), team="billing")
NOT_IN_BILLING = (
    "You are not a member of billing (its members are those in its Slack user group or "
    "Discord role, and those listed under `[routing.members]` in the configuration), "
    "so its tickets do not come to you."
)


async def _duty(fake: FakeDiscord, who: int, name: str, roles: list[int], **options: str) -> str:
    asked = await fake.interact(2, _slash("duty", **options), who, name, PUBLIC, roles=roles)
    return str((await _answered(fake, asked))["data"]["content"])


async def _billing_ticket(fake: FakeDiscord, text: str) -> None:
    """A customer presses the panel's button, picks Billing and sends the form."""
    for kind, data in [
        (3, {"custom_id": "panel:open", "component_type": 2}),
        (3, {"custom_id": "panel:category", "component_type": 3, "values": ["billing"]}),
        (5, _form_submit("panel_form:billing", description=text)),
    ]:
        pressed = await fake.interact(kind, data, CUSTOMER, "alice", PUBLIC, roles=[])
        await _answered(fake, pressed)


def _said_in(desk: DiscordDesk, thread: str) -> list[str]:
    return [str(c.body.get("content", "")) for c in desk.sent_to(thread)]


async def test_a_billing_role_holder_on_duty_gets_the_billing_tickets(tmp_path: Path) -> None:
    settings = DeskSettings(categories={"billing": BILLING})
    async with (
        running_fake_discord(guild_roles={BILLING_ROLE: "Billing"}) as fake,
        connected(fake, tmp_path, desk=settings, team_roles={"billing": BILLING_ROLE}) as desk,
    ):
        on = await _duty(fake, AGENT, "bob", [STAFF_ROLE, BILLING_ROLE], state="on")
        assert on.startswith("You are on duty for billing: new tickets come to you in turn")
        refused = await _duty(fake, AGENT2, "ann", [STAFF_ROLE], state="on", teams="billing")
        assert refused == NOT_IN_BILLING
        assert (await _duty(fake, AGENT2, "ann", [STAFF_ROLE], state="on")).startswith(
            "You are on duty: "
        )

        await _billing_ticket(fake, "I was charged twice")
        await fake.wait_for("POST", f"channels/{FORUM}/threads")
        thread = _thread_id(fake)
        await fake.wait_for("POST", f"channels/{thread}/messages", count=2)  # relay, notice
        # to bob, though ann, on duty for no team, would come first by name
        notice = f"<@{AGENT}> Assigned to bob in turn; they already held 0 open tickets."
        assert notice in _said_in(desk, thread)
        rota = await _duty(fake, AGENT2, "ann", [STAFF_ROLE])
        assert "bob (billing): 1 open" in rota

        # typed in the ticket's post, the same command knows the roles too
        said = len(desk.sent_to(thread))
        await desk.say(AGENT2, "ann", "/ticket duty on billing", int(thread), [STAFF_ROLE])
        await fake.wait_for("POST", f"channels/{thread}/messages", count=said + 1)
        assert _said_in(desk, thread)[-1] == NOT_IN_BILLING
        await desk.say(
            AGENT, "bob", "/ticket duty on billing", int(thread), [STAFF_ROLE, BILLING_ROLE]
        )
        await fake.wait_for("POST", f"channels/{thread}/messages", count=said + 2)
        assert _said_in(desk, thread)[-1].startswith("You are on duty for billing")


DISCORD_ENV = {
    "DISCORD_BOT_TOKEN": "t",
    "DISCORD_GUILD_ID": "1",
    "DISCORD_STAFF_CHANNEL": "2",
    "DISCORD_STAFF_ROLE": "3",
}


@pytest.mark.parametrize(
    ("value", "said"),
    [
        ("sales=5", "there is no team sales; teams are billing, tier2"),
        ("billing=Billing", "'billing=Billing' is not team=id; write pairs like billing=1234"),
        ("billing=5,Billing=6", "billing is given twice"),
    ],
)
def test_bad_team_roles_are_refused_saying_why(value: str, said: str) -> None:
    with pytest.raises(ConfigError) as bad:
        discord_settings.load(DISCORD_ENV | {"DISCORD_TEAM_ROLES": value}, ("billing", "tier2"))
    assert bad.value.variable == "DISCORD_TEAM_ROLES"
    assert str(bad.value).startswith(f"DISCORD_TEAM_ROLES: {said}")


def test_team_roles_are_read_as_role_ids() -> None:
    env: dict[str, Any] = DISCORD_ENV | {"DISCORD_TEAM_ROLES": "Billing=5, tier2=6"}
    assert discord_settings.load(env, ("billing", "tier2")).team_roles == {"billing": 5, "tier2": 6}
    assert discord_settings.load(DISCORD_ENV).team_roles == {}
