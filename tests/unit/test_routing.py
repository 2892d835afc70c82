"""Duty and round-robin: new tickets go to the on-duty agent with the fewest open tickets,
never past the cap; escalations go to the team's agents on duty."""

from __future__ import annotations

from collections import Counter

from bot import commands as c
from bot.kinds import MessageKind
from bot.settings import RoutingPolicy
from tests.unit.conftest import PLATFORM, World, make_world, staff


def _holders(world: World) -> Counter[str]:
    return Counter(
        t.assignee.name for t in world.store.tickets.values() if t.assignee and not t.is_closed
    )


async def _on(world: World, name: str, teams: str = "") -> str:
    return (await world.staff_says(f"/ticket duty on {teams}".strip(), name=name)).text


async def test_new_tickets_go_round_the_agents_on_duty(world: World) -> None:
    assert await _on(world, "bob") == (
        "You are on duty: new tickets come to you in turn, up to 10 open at a time. "
        "`/ticket duty off` ends it."
    )
    await _on(world, "carol")
    for name in ("alice", "ben", "chika", "dora"):
        await world.customer_says("Help", name=name)
    assert _holders(world) == {"bob": 2, "carol": 2}
    await world.sender.drain()
    notices = [m.body for m in world.out.delivered if m.kind == MessageKind.NOTICE]
    assert "Assigned to bob in turn; they already held 0 open tickets." in notices
    shown = await world.staff_says("/ticket show #1")
    assert "supportbot assigned the ticket to bob." in shown.text
    duty = (await world.staff_says("/ticket duty")).text.splitlines()
    assert duty[0] == "**On duty (2), up to 10 open tickets each**"
    assert duty[1].startswith("• bob: 2 open, on duty since ")


async def test_nobody_on_duty_leaves_tickets_unclaimed_without_a_word(world: World) -> None:
    await world.customer_says("Help")
    await world.sender.drain()
    assert _holders(world) == {}
    assert not [m for m in world.out.delivered if "in turn" in m.body]
    assert (await world.staff_says("/ticket duty")).text.startswith("Nobody is on duty")


async def test_nobody_gets_more_than_the_cap() -> None:
    world = make_world(routing=RoutingPolicy(max_open=2))
    await _on(world, "bob")
    await _on(world, "carol")
    for i in range(5):
        await world.customer_says("Help", name=f"c{i}")
    assert _holders(world) == {"bob": 2, "carol": 2}
    [unclaimed] = [t for t in world.store.tickets.values() if t.assignee is None]
    assert unclaimed.number == 5
    await world.staff_says("/ticket close #1")  # bob has room again
    await world.customer_says("Help", name="c5")
    assert _holders(world) == {"bob": 2, "carol": 2}


async def test_going_off_duty_keeps_what_you_hold(world: World) -> None:
    await _on(world, "bob")
    await world.customer_says("Help")
    off = (await world.staff_says("/ticket duty off", name="bob")).text
    assert off == (
        "You are off duty; new tickets no longer come to you. "
        "The 1 open ticket you hold stays yours."
    )
    await world.customer_says("Help", name="ben")
    assert _holders(world) == {"bob": 1}


async def test_escalation_goes_to_the_teams_agents_on_duty() -> None:
    routing = RoutingPolicy(members={"billing": (f"{PLATFORM}:S-carol",)})
    world = make_world(routing=routing)
    await _on(world, "bob")
    refused = await world.staff_says("/ticket duty on billing", name="bob")
    assert not refused.ok
    assert refused.text.startswith("You are not a member of billing")
    assert (await _on(world, "carol")).startswith("You are on duty for billing:")
    for name in ("alice", "ben", "chika"):  # bob, carol, then bob (who waited longer)
        await world.customer_says("Refund please", name=name)
    assert _holders(world) == {"bob": 2, "carol": 1}
    escalated = await world.desk.handle(c.EscalateTicket("billing", number=1), staff("bob"))
    assert escalated.ok
    assert _holders(world) == {"bob": 1, "carol": 2}  # billing's agent on duty took it
    await world.staff_says("/ticket duty off", name="carol")
    await world.desk.handle(c.EscalateTicket("billing", number=3), staff("bob"))
    await world.sender.drain()
    assert "Nobody on duty for billing has room for another ticket, so it waits unclaimed." in [
        m.body for m in world.out.delivered
    ]
    [ticket] = [t for t in world.store.tickets.values() if t.number == 3]
    assert ticket.assignee is None


def test_duty_commands_parse() -> None:
    from bot.parser import UsageError, parse

    assert parse("/ticket duty") == c.ShowDuty()
    assert parse("/ticket duty on Billing tier2") == c.SetDuty(True, ("billing", "tier2"))
    assert parse("/ticket duty off") == c.SetDuty(False)
    for bad in ("/ticket duty maybe", "/ticket duty off billing", "/ticket duty #3 on"):
        try:
            parse(bad)
        except UsageError:
            continue
        raise AssertionError(bad)


async def test_a_desk_without_round_robin_keeps_no_rota() -> None:
    world = make_world(routing=RoutingPolicy(round_robin=False))
    refused = await world.staff_says("/ticket duty on")
    assert not refused.ok
    assert refused.text.startswith("Round-robin is turned off")
