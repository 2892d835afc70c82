"""The `[routing]` table of the configuration file: round-robin, its cap, and who is on
which team; and the platforms' team groups (SLACK_TEAM_GROUPS, DISCORD_TEAM_ROLES)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from bot.settings import RoutingPolicy


class RoutingConfigError(ValueError):
    """What is wrong with [routing], said so that the operator can fix the file."""


def routing_from(data: Any, teams: tuple[str, ...]) -> RoutingPolicy:
    default = RoutingPolicy()
    if not isinstance(data, dict):
        raise RoutingConfigError("routing must be a table, like [routing]")
    unknown = sorted(set(data) - {"round_robin", "max_open", "members"})
    if unknown:
        raise RoutingConfigError(
            f"routing.{unknown[0]} is not a setting; use max_open, members, round_robin"
        )
    round_robin = data.get("round_robin", default.round_robin)
    if not isinstance(round_robin, bool):
        raise RoutingConfigError(f"routing.round_robin must be true or false, not {round_robin!r}")
    max_open = data.get("max_open", default.max_open)
    if isinstance(max_open, bool) or not isinstance(max_open, int) or max_open < 1:
        raise RoutingConfigError(
            f"routing.max_open must be a whole number from 1 up, not {max_open!r}"
        )
    members = data.get("members", {})
    if not isinstance(members, dict):
        raise RoutingConfigError("routing.members must be a table, like [routing.members]")
    found: dict[str, tuple[str, ...]] = {}
    for team, refs in members.items():
        if team.lower() not in teams:
            raise RoutingConfigError(
                f"routing.members.{team}: there is no such team; teams are {', '.join(teams)}"
            )
        if not isinstance(refs, list) or not all(
            isinstance(r, str) and ":" in r and all(r.partition(":")[::2]) for r in refs
        ):
            raise RoutingConfigError(
                f"routing.members.{team} must list agents as platform:user id, "
                'like ["slack:U012AB3CD", "discord:80351110224678912"]'
            )
        found[team.lower()] = tuple(refs)
    return RoutingPolicy(round_robin=round_robin, max_open=max_open, members=found)


def team_groups_from(
    text: str, teams: tuple[str, ...], *, is_id: Callable[[str], bool], example: str
) -> dict[str, str]:
    """`billing=S0123ABCD,tier2=S0456EFGH`: team -> the platform's group id. The adapter says
    what an id looks like; a problem is raised as RoutingConfigError, said for the operator."""
    found: dict[str, str] = {}
    for item in (i.strip() for i in text.split(",")):
        if not item:
            continue
        name, sep, group = item.partition("=")
        team, group = name.strip().lower(), group.strip()
        if not sep or not team or not is_id(group):
            raise RoutingConfigError(f"{item!r} is not team=id; write pairs like {example}")
        if team not in teams:
            raise RoutingConfigError(f"there is no team {team}; teams are {', '.join(teams)}")
        if team in found:
            raise RoutingConfigError(f"{team} is given twice; a team has one group")
        found[team] = group
    return found
