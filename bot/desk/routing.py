"""Round-robin: agents go on and off duty; a new ticket, or one escalated to a team, goes to
the on-duty agent (of that team) with the fewest open tickets, skipping anyone at the cap,
the one who waited longest for a ticket first among equals."""

from __future__ import annotations

from datetime import UTC, datetime

from bot import commands as c
from bot import events as ev
from bot.desk.context import CommandContext
from bot.model import SYSTEM, Duty, Person, Ticket
from bot.ports import STAFF_GROUP, Outcome

_NEVER = datetime.min.replace(tzinfo=UTC)
# one key for every assignment: an agent on two teams' rotas is counted by one at a time,
# so no worker's assignment can pass the cap another's just made
_ROUTING_LOCK = "routing"


async def next_in_turn(ctx: CommandContext, team: str = "") -> tuple[Person, int] | None:
    """The agent whose turn it is for a ticket of `team` ("": any), and how many open
    tickets they held; None when nobody on duty has room. Their turn is taken."""
    policy = ctx.settings.routing
    if not policy.round_robin or not _rota(await ctx.uow.duty.all(), team):
        return None
    await ctx.uow.hold_conversation(_ROUTING_LOCK)
    rota = _rota(await ctx.uow.duty.all(), team)  # read again, now that it is ours alone
    counts = await ctx.uow.tickets.open_counts([d.agent.ref for d in rota])
    free = [d for d in rota if counts.get(d.agent.ref, 0) < policy.max_open]
    if not free:
        return None
    chosen = min(
        free,
        key=lambda d: (
            counts.get(d.agent.ref, 0),
            d.last_assigned_at or _NEVER,
            d.agent.name.lower(),
        ),
    )
    await ctx.uow.duty.assigned(chosen.agent.ref, ctx.now)
    return chosen.agent, counts.get(chosen.agent.ref, 0)


def _rota(duties: list[Duty], team: str) -> list[Duty]:
    return [d for d in duties if d.on and (not team or team in d.teams)]


async def anyone_on_duty(ctx: CommandContext) -> bool:
    return any(d.on for d in await ctx.uow.duty.all())


async def announce(ctx: CommandContext, ticket: Ticket, agent: Person, held: int) -> None:
    """After the ticket is written: the audit trail and the thread say who got it, and why."""
    await ctx.record(ticket, ev.Assigned(agent.name, agent.ref), SYSTEM)
    await ctx.notice(
        ticket, "notice_assigned_in_turn", agent=agent.name, n=held, mentions=[agent.user_id]
    )


async def nobody_for(ctx: CommandContext, ticket: Ticket, team: str) -> None:
    # a desk that keeps no rota hears nothing of it
    if ctx.settings.routing.round_robin and await anyone_on_duty(ctx):
        await ctx.notice(ticket, "notice_nobody_on_duty", team=team, mentions=[STAFF_GROUP])


async def set_duty(ctx: CommandContext, cmd: c.SetDuty) -> Outcome:
    if not ctx.settings.routing.round_robin:
        raise ctx.refuse("duty_off")
    agent = ctx.caller.actor
    for team in cmd.teams:
        if team not in ctx.settings.teams:
            raise ctx.refuse("unknown_team", team=team, teams=", ".join(ctx.settings.teams))
        if not _is_member(ctx, team):
            # the text says where membership comes from, so the agent knows whom to ask
            grouped = team in ctx.caller.grouped_teams
            raise ctx.refuse("not_in_team_group" if grouped else "not_in_team", team=team)
    teams = cmd.teams or tuple(team for team in ctx.settings.teams if _belongs(ctx, team))
    await ctx.uow.duty.put(Duty(agent, teams, cmd.on, ctx.now))
    if not cmd.on:
        held = (await ctx.uow.tickets.open_counts([agent.ref])).get(agent.ref, 0)
        return Outcome(ctx.staff_text("reply_duty_off", n=held))
    return Outcome(
        ctx.staff_text("reply_duty_on", teams=", ".join(teams), cap=ctx.settings.routing.max_open)
    )


def _belongs(ctx: CommandContext, team: str) -> bool:
    """The caller is listed under [routing.members], or in the team's group on their platform."""
    listed = ctx.settings.routing.members.get(team, ())
    return ctx.caller.actor.ref in listed or team in ctx.caller.teams


def _is_member(ctx: CommandContext, team: str) -> bool:
    """A team whose membership nobody configured is open to every agent."""
    kept = bool(ctx.settings.routing.members.get(team)) or team in ctx.caller.grouped_teams
    return not kept or _belongs(ctx, team)


async def show_duty(ctx: CommandContext, cmd: c.ShowDuty) -> Outcome:
    rota = [d for d in await ctx.uow.duty.all() if d.on]
    counts = await ctx.uow.tickets.open_counts([d.agent.ref for d in rota])
    text = ctx.renderer.render(
        ctx.staff_locale,
        "staff/duty.md.j2",
        rota=[(d, counts.get(d.agent.ref, 0)) for d in rota],
        cap=ctx.settings.routing.max_open,
        round_robin=ctx.settings.routing.round_robin,
        tz=ctx.settings.timezone,
    )
    return Outcome(text)
