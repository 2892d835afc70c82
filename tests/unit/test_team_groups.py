"""Team membership from the platform: an agent in a team's Slack user group or Discord role
(as the adapter tells it on the Caller) is on that team as if listed under
[routing.members], goes on duty for it and gets its tickets in turn."""

from __future__ import annotations

import pytest

from bot import commands as c
from bot.categories import Category
from bot.routing_config import RoutingConfigError, team_groups_from
from bot.settings import RoutingPolicy
from tests.unit.conftest import PLATFORM, World, customer, dm, make_world

BILLING = Category("billing", {"en": "Billing"}, team="billing")
GROUPED = frozenset({"billing", "tier2"})  # the teams with a group on the platform


def _world(**routing: object) -> World:
    return make_world(categories={"billing": BILLING}, routing=RoutingPolicy(**routing))  # type: ignore[arg-type]


async def _duty(world: World, name: str, text: str, teams: frozenset[str] = frozenset()) -> str:
    said = await world.staff_says(text, name=name, teams=teams, grouped_teams=GROUPED)
    return said.text


async def _billing_ticket(world: World, name: str) -> str:
    """A customer opens a billing ticket from a form: who got it."""
    person = customer(name)
    await world.desk.handle(
        c.OpenTicket(person, dm(name), "Charged twice", category="billing"), c.Caller(person)
    )
    ticket = max(world.store.tickets.values(), key=lambda t: t.number)
    assert ticket.team == "billing"
    return ticket.assignee.name if ticket.assignee else ""


async def test_a_group_member_goes_on_duty_for_the_team_and_gets_its_tickets() -> None:
    world = _world()
    on = await _duty(world, "carol", "/ticket duty on", teams=frozenset({"billing"}))
    assert on.startswith("You are on duty for billing:")
    assert (await _duty(world, "bob", "/ticket duty on")).startswith("You are on duty:")
    assert await _billing_ticket(world, "alice") == "carol"
    assert await _billing_ticket(world, "ben") == "carol"  # bob is on no team
    duty = (await world.staff_says("/ticket duty")).text
    assert "carol (billing): 2 open" in duty


async def test_someone_outside_the_group_is_refused_saying_where_members_come_from() -> None:
    world = _world()
    refused = await world.staff_says("/ticket duty on billing", name="bob", grouped_teams=GROUPED)
    assert not refused.ok
    assert refused.text == (
        "You are not a member of billing (its members are those in its Slack user group or "
        "Discord role, and those listed under `[routing.members]` in the configuration), "
        "so its tickets do not come to you."
    )
    assert await _billing_ticket(world, "alice") == ""  # nobody went on duty
    # a team without a group or a list stays open to every agent
    assert (await _duty(world, "bob", "/ticket duty on engineering")).startswith(
        "You are on duty for engineering:"
    )


async def test_the_refusal_is_in_japanese_for_a_japanese_desk() -> None:
    world = make_world(locale="ja")
    refused = await world.staff_says("/ticket duty on billing", grouped_teams=GROUPED)
    assert refused.text == (
        "billing のメンバーではないため（メンバーは、このチームのユーザーグループまたはロールに"
        "入っている人と、設定ファイルの `[routing.members]` に載っている人です）、"
        "そのチームのチケットは割り当てられません。"
    )


async def test_listed_or_in_the_group_either_will_do() -> None:
    world = _world(members={"billing": (f"{PLATFORM}:S-dora",), "tier2": (f"{PLATFORM}:S-dora",)})
    # dora is listed, not in the group; carol is in tier2's group, not listed anywhere
    assert (await _duty(world, "dora", "/ticket duty on billing")).startswith(
        "You are on duty for billing:"
    )
    on = await _duty(world, "carol", "/ticket duty on", teams=frozenset({"tier2", "billing"}))
    assert on.startswith("You are on duty for tier2, billing:")
    listed_only = await world.staff_says("/ticket duty on billing", name="erin")
    assert listed_only.text.startswith("You are not a member of billing (its members are listed")
    assert {await _billing_ticket(world, n) for n in ("alice", "ben")} == {"dora", "carol"}


async def test_escalation_to_the_team_goes_to_its_group_member_on_duty() -> None:
    world = _world()
    await _duty(world, "carol", "/ticket duty on", teams=frozenset({"billing"}))
    await world.customer_says("Help", name="alice")  # carol has room: she takes it
    await _duty(world, "bob", "/ticket duty on")
    await world.customer_says("Help", name="ben")  # bob's turn
    escalated = await world.staff_says("/ticket escalate #2 billing", name="bob")
    assert escalated.ok
    [second] = [t for t in world.store.tickets.values() if t.number == 2]
    assert second.assignee is not None
    assert second.assignee.name == "carol"


def test_team_groups_are_read_as_team_id_pairs() -> None:
    teams = ("tier2", "billing", "engineering")

    def read(text: str) -> dict[str, str]:
        return team_groups_from(text, teams, is_id=str.isalnum, example="billing=S1")

    assert read(" Billing=S1 , tier2=S2,") == {"billing": "S1", "tier2": "S2"}
    assert read("") == {}
    for text, said in [
        ("billing", "'billing' is not team=id; write pairs like billing=S1"),
        ("billing=", "'billing=' is not team=id"),
        ("=S1", "'=S1' is not team=id"),
        ("sales=S1", "there is no team sales; teams are tier2, billing, engineering"),
        ("billing=S1,BILLING=S2", "billing is given twice"),
    ]:
        with pytest.raises(RoutingConfigError, match=said):
            read(text)
